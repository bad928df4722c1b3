"""Living scenes: `images.scene` is the room's scene the picture was painted from (JSON, as in ImagePrompt.scene;
NULL for a slideshow picture or one stored before scenes existed)."""

from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.execute("ALTER TABLE images ADD COLUMN scene TEXT")
