"""Mute switches: the last mute or unmute of each room (`mic` '') and of each mic, kept by the display so that a
mic that starts later, restarts, or reconnects obeys it (`services/display/mics/switches.py`). `set_at` is the
switch's own time (its Control's `created_at`): a later switch wins, whichever arrives first."""

from alembic import op

revision = "0009"
down_revision = "0008"


def upgrade() -> None:
    op.execute("CREATE TABLE mute_switches (room TEXT NOT NULL, mic TEXT NOT NULL, muted BOOLEAN NOT NULL, "
               "set_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (room, mic))")
