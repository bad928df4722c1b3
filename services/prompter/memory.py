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
import sqlite3
import threading
from pathlib import Path
from typing import Any

from services.prompter.window import Room
from shared.messages import ImagePrompt

_LOGGER = logging.getLogger(__name__)

_SCHEMA = """CREATE TABLE IF NOT EXISTS prompter_rooms (
    namespace TEXT NOT NULL, room TEXT NOT NULL, state TEXT NOT NULL, saved_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (namespace, room))"""


class RoomStore:
    """Rooms' state rows over a DB-API connection (sqlite3 or psycopg 3, which differ only in their parameter
    mark); calls come from the bus's work thread and are serialised by a lock."""

    def __init__(self, connection: Any, mark: str, namespace: str) -> None:
        self._connection = connection
        self._mark = mark
        self._namespace = namespace
        self._lock = threading.Lock()
        self._execute(_SCHEMA)

    def load(self, room: str) -> dict[str, Any] | None:
        row = self._execute("SELECT state FROM prompter_rooms WHERE namespace = ? AND room = ?",
                            self._namespace, room).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def save(self, room: str, state: dict[str, Any], saved_at: float) -> None:
        self._execute("INSERT INTO prompter_rooms VALUES (?, ?, ?, ?) ON CONFLICT (namespace, room) DO UPDATE "
                      "SET state = excluded.state, saved_at = excluded.saved_at",
                      self._namespace, room, json.dumps(state), saved_at)

    def forget_before(self, saved_at: float) -> None:
        self._execute("DELETE FROM prompter_rooms WHERE namespace = ? AND saved_at < ?", self._namespace, saved_at)

    def _execute(self, sql: str, *params: object) -> Any:
        with self._lock:
            return self._connection.execute(sql.replace("?", self._mark), params)


def open_store(database_url: str, data_dir: Path, namespace: str) -> RoomStore:
    """`postgresql://…` for PostgreSQL; empty for SQLite in the data dir; `sqlite:///PATH` for another file."""
    if database_url.startswith(("postgresql://", "postgres://")):
        import psycopg

        return RoomStore(psycopg.connect(database_url, autocommit=True), "%s", namespace)
    path = Path(database_url.removeprefix("sqlite:///")) if database_url else data_dir / "prompter.sqlite3"
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=10)
    connection.execute("PRAGMA journal_mode=WAL")
    return RoomStore(connection, "?", namespace)


def snapshot(room: Room, now: float, wall_now: float) -> dict[str, Any]:
    """A room's settings, novelty memory (as wall-clock times) and last prompt, as JSON-ready values."""
    return {"window_seconds": room.window_seconds, "style": room.style, "num_images": room.num_images,
            "wake": list(room.wake), "painted": {head: wall_now - (now - at) for head, at in room.novelty.painted().items()},
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
