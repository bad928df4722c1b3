"""What a room's prompter remembers across a takeover or a restart: its settings, novelty memory and last prompt.

Kept in a database every replica reaches, so a standby on another host that becomes active continues where the
dead one stopped: SQLite in the data dir by default (one box), PostgreSQL when `VOXFRAME_DATABASE_URL` says so.
A row is a room's state as JSON; writes are small and rare (a control, a painted window). Only the active
replica writes (the queue's single active consumer makes it so); any replica reads a room when it first sees it.
Times are stored as wall-clock seconds, since the monotonic clocks of two processes do not agree.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from services.prompter.window import Room
from shared import migrations
from shared.database import Database
from shared.messages import ImagePrompt

_LOGGER = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")


class RoomStore:
    """Rooms' state rows in a `shared.database.Database` (its schema migrated by `open_store`)."""

    def __init__(self, db: Database, namespace: str) -> None:
        self.db = db
        self._namespace = namespace

    def load(self, room: str) -> dict[str, Any] | None:
        with self.db.connection() as conn:
            row = conn.execute("SELECT state FROM prompter_rooms WHERE namespace = ? AND room = ?",
                               (self._namespace, room)).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def save(self, room: str, state: dict[str, Any], saved_at: float) -> None:
        with self.db.connection() as conn:
            conn.execute("INSERT INTO prompter_rooms VALUES (?, ?, ?, ?) ON CONFLICT (namespace, room) DO UPDATE "
                         "SET state = excluded.state, saved_at = excluded.saved_at",
                         (self._namespace, room, json.dumps(state), saved_at))

    def forget_before(self, saved_at: float) -> None:
        with self.db.connection() as conn:
            conn.execute("DELETE FROM prompter_rooms WHERE namespace = ? AND saved_at < ?",
                         (self._namespace, saved_at))


def open_store(database_url: str, data_dir: Path, namespace: str) -> RoomStore:
    """`postgresql://…` for PostgreSQL; empty for SQLite in the data dir; `sqlite:///PATH` for another file."""
    db = Database(database_url or data_dir / "prompter.sqlite3", pool_size=2)
    migrations.upgrade(db, MIGRATIONS, "prompter_alembic_version")
    return RoomStore(db, namespace)


def snapshot(room: Room, now: float, wall_now: float) -> dict[str, Any]:
    """A room's settings, novelty memory (as wall-clock times) and last prompt, as JSON-ready values."""
    return {"window_seconds": room.window_seconds, "style": room.style, "num_images": room.num_images,
            "wake": list(room.wake),
            "painted": {head: wall_now - (now - at) for head, at in room.novelty.painted().items()},
            "last_prompt": room.last_prompt.model_dump(mode="json") if room.last_prompt else None}


def restore(room: Room, state: dict[str, Any], now: float, wall_now: float) -> None:
    """Give a room what a snapshot saved; a state that no longer validates is ignored (logged), not fatal."""
    try:
        room.window_seconds, room.style = float(state["window_seconds"]), str(state["style"])
        room.num_images, room.wake = int(state["num_images"]), tuple(state["wake"])
        room.novelty.restore({head: now - (wall_now - float(at)) for head, at in state["painted"].items()})
        room.last_prompt = ImagePrompt.model_validate(state["last_prompt"]) if state["last_prompt"] else None
    except (KeyError, TypeError, ValueError) as exc:
        _LOGGER.warning("a saved room state was ignored: %s", exc)
