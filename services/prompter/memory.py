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
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from services.prompter.window import Room
from shared import migrations
from shared.database import Database
from shared.messages import ImagePrompt
from shared.messages.control import IMAGES_PER_PROMPT, WINDOW_SECONDS, style_name, wake_phrase
from shared.messages.prompt import Finish
from shared.messages.scene import Scene, SceneMode

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
        if row is None:
            return None
        try:
            state = json.loads(row[0])
        except ValueError as exc:
            _LOGGER.warning("room %r: its saved state is not JSON (%s); the room starts from defaults", room, exc)
            return None
        return state if isinstance(state, dict) else {}

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
            "wake": list(room.wake), "finish": room.finish,
            "painted": {head: wall_now - (now - at) for head, at in room.novelty.painted().items()},
            "last_prompt": room.last_prompt.model_dump(mode="json") if room.last_prompt else None,
            "mode": room.mode, "scene": room.scene.model_dump(mode="json") if room.scene else None}


def _wake_words(words: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(wake_phrase(" ".join(words)).split())


class SavedRoom(BaseModel):
    """A saved row, each value checked as a Control setting it would be: a style that is no longer a preset, a
    NaN window or 0 images would otherwise fail the room at every tick (and other rooms with it)."""

    model_config = ConfigDict(extra="ignore", allow_inf_nan=False)

    window_seconds: float = Field(ge=WINDOW_SECONDS[0], le=WINDOW_SECONDS[1])
    style: Annotated[str, AfterValidator(style_name)]
    num_images: int = Field(ge=IMAGES_PER_PROMPT[0], le=IMAGES_PER_PROMPT[1])
    wake: Annotated[tuple[str, ...], AfterValidator(_wake_words)]
    painted: dict[Annotated[str, Field(max_length=200)], float] = Field(max_length=1000)
    last_prompt: ImagePrompt | None
    mode: SceneMode = "living"  # rows saved before scenes existed restore as living rooms with no scene yet
    scene: Scene | None = None
    finish: Finish = "screen"  # rows saved before finishes existed


def restore(name: str, room: Room, state: dict[str, Any], now: float, wall_now: float) -> None:
    """Give a room what a snapshot saved; a state with any value that no longer validates is dropped with a
    warning, and the room keeps its defaults (all or nothing: no half-restored room)."""
    try:
        saved = SavedRoom.model_validate(state)
    except ValidationError as exc:
        _LOGGER.warning("room %r: its saved state is invalid, so the room starts from defaults: %s", name,
                        "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:5]))
        return
    room.window_seconds, room.style, room.num_images, room.wake = (
        saved.window_seconds, saved.style, saved.num_images, saved.wake)
    room.novelty.restore({head: now - (wall_now - at) for head, at in saved.painted.items()})
    room.last_prompt = saved.last_prompt
    room.mode, room.scene, room.finish = saved.mode, saved.scene, saved.finish
