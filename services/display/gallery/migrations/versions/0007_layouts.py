"""Living scenes as drawn: `images.layout` is where each element of the scene is in the picture and how the frame
may move it between windows (JSON, as in GeneratedImage.layout; NULL for any other picture)."""

from alembic import op

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    op.execute("ALTER TABLE images ADD COLUMN layout TEXT")
