"""Frame pairings: wall screens allowed to show one room's captions (and be its mic) without the access token.

A screen has no keyboard, so a person makes a one-time link on the dashboard and opens it once on the
screen; that visit trades the link's code for a long-lived key in an HttpOnly cookie. The trade is a POST the
link's page makes (its script, or its button): a link sent in a chat or a mail is fetched first by the service's
preview or scanner (HEAD or GET, no script run), which must not spend it. Only hashes of codes
and keys are stored (in the display's database, so pairings survive restarts and displays sharing one know
them all); deleting the row revokes it.
"""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import overload

from services.display.gallery.db import Database
from services.display.views import PairingView

CODE_SECONDS = 15 * 60  # a pairing link not opened by then is void


def secret_hash(secret: str) -> str:
    """How a pairing's code and every frame key (pairing or e-ink) are stored: never in the clear."""
    return hashlib.sha256(secret.encode()).hexdigest()


@overload
def _time(value: float) -> datetime: ...
@overload
def _time(value: float | None) -> datetime | None: ...
def _time(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


@dataclass(frozen=True)
class Grant:
    """What a paired frame's key grants: its room, and nothing else."""

    pairing_id: str
    room: str


@dataclass(frozen=True)
class Paired:
    """A redeemed link: the frame's pairing, the room it opens and the key for its cookie."""

    pairing_id: str
    room: str
    key: str


class Pairings:
    """Create, redeem, check and revoke pairings; called from request threads (each has its own connection)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def create(self, name: str, room: str) -> PairingView:
        """A pending pairing and its one-time link (the code is never stored in the clear)."""
        code, now = secrets.token_urlsafe(24), time.time()
        pairing_id = uuid.uuid4().hex
        with self.db.connection() as conn:
            conn.execute("INSERT INTO frame_pairings (id, name, room, code_hash, code_expires_at, key_hash, "
                         "created_at, paired_at, seen_at) VALUES (?,?,?,?,?,?,?,?,?)",
                         (pairing_id, name, room, secret_hash(code), now + CODE_SECONDS, None, now, None, None))
        return PairingView(id=pairing_id, name=name, room=room, created_at=_time(now), link=f"/pair/{code}",
                           link_expires_at=_time(now + CODE_SECONDS))

    def pending(self, code: str) -> bool:
        """Whether `code` is a link's that is still unused and unexpired; spends nothing."""
        with self.db.connection() as conn:
            return conn.execute("SELECT 1 FROM frame_pairings WHERE code_hash=? AND code_expires_at>=?",
                                (secret_hash(code), time.time())).fetchone() is not None

    def redeem(self, code: str) -> Paired | None:
        """Trade a valid, unused code for a new key; None for a code that is unknown, used or expired."""
        key, now = secrets.token_urlsafe(32), time.time()
        with self.db.connection() as conn:
            row = conn.execute("UPDATE frame_pairings SET code_hash=NULL, code_expires_at=NULL, key_hash=?, "
                               "paired_at=?, seen_at=? WHERE code_hash=? AND code_expires_at>=? RETURNING id, room",
                               (secret_hash(key), now, now, secret_hash(code), now)).fetchone()
        return None if row is None else Paired(row["id"], row["room"], key)

    def frame(self, key: str, seen: bool = False) -> Grant | None:
        """What a screen's key grants (None if unknown or revoked); `seen` records the visit.
        An e-ink frame's key (`eink_frames.py`, a row with a `kind`) is no screen's: it shows pictures only."""
        if not key:
            return None
        with self.db.connection() as conn:
            if seen:
                conn.execute("UPDATE frame_pairings SET seen_at=? WHERE key_hash=?", (time.time(), secret_hash(key)))
            row = conn.execute("SELECT id, room FROM frame_pairings WHERE key_hash=? AND kind IS NULL",
                               (secret_hash(key),)).fetchone()
        return None if row is None else Grant(str(row["id"]), str(row["room"]))

    def existing(self, pairing_ids: set[str]) -> set[str]:
        """Those of `pairing_ids` not revoked (by this display or any other sharing the database)."""
        if not pairing_ids:
            return set()
        ids = sorted(pairing_ids)
        with self.db.connection() as conn:
            rows = conn.execute(f"SELECT id FROM frame_pairings WHERE id IN ({','.join('?' * len(ids))})",
                                ids).fetchall()
        return {str(r["id"]) for r in rows}

    def all(self) -> list[PairingView]:
        """Every pairing, newest first; links still pending have expired ones removed."""
        with self.db.connection() as conn:
            conn.execute("DELETE FROM frame_pairings WHERE key_hash IS NULL AND code_expires_at<?", (time.time(),))
            rows = conn.execute("SELECT * FROM frame_pairings ORDER BY created_at DESC").fetchall()
        return [PairingView(id=r["id"], name=r["name"], room=r["room"], created_at=_time(r["created_at"]),
                            paired_at=_time(r["paired_at"]), seen_at=_time(r["seen_at"]),
                            link_expires_at=_time(r["code_expires_at"]), kind=r["kind"]) for r in rows]

    def revoke(self, pairing_id: str) -> bool:
        with self.db.connection() as conn:
            return conn.execute("DELETE FROM frame_pairings WHERE id=?", (pairing_id,)).rowcount > 0
