"""E-ink frames as pairings: a key per frame, the room it shows and the panel its pictures are made for.

An e-ink frame has no browser for a pairing link, so it holds a key instead of a cookie, in the same
`frame_pairings` rows (listed and revoked with the other pairings; only the key's hash is stored):
- a TRMNL introduces itself (`GET /api/setup` with its MAC address) and gets its key at once, but the key shows
  nothing of a room until the dashboard approves it, unless the display has no token (then it is approved for
  the default room, as everything is open anyway);
- a frame that fetches a plain URL (ESPHome `online_image`) is made on the dashboard, which gets its URL once.
"""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass

from services.display.gallery.db import Database
from services.display.web.pairing import secret_hash

TRMNL_KIND = "bw-800x480"  # the TRMNL OG's 7.5" black-and-white panel


@dataclass(frozen=True)
class EinkFrame:
    """A frame a key belongs to: its pairing, room and panel, and whether it may show the room yet."""

    pairing_id: str
    name: str
    room: str
    kind: str
    approved: bool


@dataclass(frozen=True)
class Issued:
    """A frame just made or set up, with its key (only ever in this answer) and the short id a person reads."""

    frame: EinkFrame
    key: str
    friendly_id: str


class EinkFrames:
    """Set up, look up and approve e-ink frames; blocking (SQLite or PostgreSQL), called from worker threads."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def setup(self, device: str, room: str, approved: bool) -> Issued:
        """A TRMNL's key; a device already known gets a new one and must be approved again (a MAC is no secret).
        One statement, so calls for one new device at once make one row (an UPDATE, then an INSERT, raced: the
        second insert broke the MAC's unique index on PostgreSQL)."""
        key, now = secrets.token_urlsafe(24), time.time()
        friendly = hashlib.sha256(device.encode()).hexdigest()[:6].upper()
        paired_at = now if approved else None
        with self.db.connection() as conn:
            row = conn.execute(
                "INSERT INTO frame_pairings (id, name, room, code_hash, code_expires_at, key_hash, created_at, "
                "paired_at, seen_at, device, kind) VALUES (?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (device) DO UPDATE "
                "SET key_hash=excluded.key_hash, paired_at=excluded.paired_at, seen_at=excluded.seen_at "
                "RETURNING id, name, room, kind",
                (uuid.uuid4().hex, f"TRMNL {friendly}", room, None, None, secret_hash(key), now, paired_at, now, device,
                 TRMNL_KIND)).fetchone()
        return Issued(EinkFrame(row["id"], row["name"], row["room"], row["kind"], approved), key, friendly)

    def create(self, name: str, room: str, kind: str) -> Issued:
        """A frame made on the dashboard (so approved): its key goes into the URL the frame fetches."""
        key, now = secrets.token_urlsafe(24), time.time()
        pairing_id = uuid.uuid4().hex
        with self.db.connection() as conn:
            conn.execute("INSERT INTO frame_pairings (id, name, room, code_hash, code_expires_at, key_hash, "
                         "created_at, paired_at, seen_at, device, kind) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                         (pairing_id, name, room, None, None, secret_hash(key), now, now, None, None, kind))
        return Issued(EinkFrame(pairing_id, name, room, kind, True), key, pairing_id[:6].upper())

    def frame(self, key: str, seen: bool = False) -> EinkFrame | None:
        """The e-ink frame `key` belongs to (None if unknown, revoked, or not an e-ink frame's key)."""
        if not key:
            return None
        with self.db.connection() as conn:
            if seen:
                conn.execute("UPDATE frame_pairings SET seen_at=? WHERE key_hash=?", (time.time(), secret_hash(key)))
            row = conn.execute("SELECT id, name, room, kind, paired_at FROM frame_pairings "
                               "WHERE key_hash=? AND kind IS NOT NULL", (secret_hash(key),)).fetchone()
        return None if row is None else EinkFrame(row["id"], row["name"], row["room"], row["kind"],
                                                  row["paired_at"] is not None)

    def approve(self, pairing_id: str, room: str | None, kind: str | None) -> EinkFrame | None:
        """Let a frame show its room (moved to `room`, its panel set to `kind`, when given); None if unknown."""
        with self.db.connection() as conn:
            row = conn.execute("UPDATE frame_pairings SET paired_at=COALESCE(paired_at, ?), room=COALESCE(?, room), "
                               "kind=COALESCE(?, kind) WHERE id=? AND kind IS NOT NULL "
                               "RETURNING id, name, room, kind", (time.time(), room, kind, pairing_id)).fetchone()
        return None if row is None else EinkFrame(row["id"], row["name"], row["room"], row["kind"], True)

    def pending(self) -> int:
        """TRMNLs that set themselves up and wait for the dashboard's approval."""
        with self.db.connection() as conn:
            return int(conn.execute("SELECT COUNT(*) FROM frame_pairings WHERE device IS NOT NULL "
                                    "AND paired_at IS NULL").fetchone()[0])
