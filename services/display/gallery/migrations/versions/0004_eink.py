"""E-ink frames: they pair like screens do, and their pictures are cropped around what the picture depicts.

- `frame_pairings.device` is a TRMNL's MAC address (a device that calls /api/setup again finds its row), `kind`
  the panel an e-ink frame's pictures are made for (`eink.PANELS`); a screen's pairing has neither.
- `images.regions` says where the depicted things are drawn (JSON boxes as fractions; '[]' when unknown).
"""

from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.execute("ALTER TABLE frame_pairings ADD COLUMN device TEXT")
    op.execute("ALTER TABLE frame_pairings ADD COLUMN kind TEXT")
    op.execute("CREATE UNIQUE INDEX frame_pairings_device ON frame_pairings (device)")
    op.execute("ALTER TABLE images ADD COLUMN regions TEXT NOT NULL DEFAULT '[]'")
