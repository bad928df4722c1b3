"""A room's language setting (`set_language`: `auto` or a code), kept by the display so that it outlives the mics
that were running when it was set: a mic that starts later, or after a restart, is told it again."""

from alembic import op

revision = "0008"
down_revision = "0007"


def upgrade() -> None:
    op.execute("CREATE TABLE room_languages (room TEXT PRIMARY KEY, language TEXT NOT NULL, "
               "set_at DOUBLE PRECISION NOT NULL)")
