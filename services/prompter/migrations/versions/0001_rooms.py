"""Rooms' state, as the prompter kept it before migrations (`IF NOT EXISTS` adopts a database from then)."""

from alembic import op

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.execute("CREATE TABLE IF NOT EXISTS prompter_rooms (namespace TEXT NOT NULL, room TEXT NOT NULL, "
               "state TEXT NOT NULL, saved_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (namespace, room))")
