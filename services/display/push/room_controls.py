"""A room's controls as the display sees them on the bus (from the dashboard, Home Assistant or the CLI): "next
picture" is the display's own command, the style and window last set are what Home Assistant is shown, and the
room's language is kept for the mics.

The prompter owns a room's style and window and tells no one; every display sees every control, so the display
knows them from the moment one is set. Before that, the style is the one the room's newest prompt was painted in,
and the window is unknown.

The language (`set_language`) is acted on by the room's mics, which live only as long as their process. The
display saves it (the `room_languages` table) and reads each mic's status: a mic that asks for another language
(it started after the setting, or restarted, or the display did) is told the room's again, at most every
RESEND_SECONDS. Runs on the bus work thread; read from the Home Assistant bridge's thread and the API.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from services.display.gallery.store import Gallery
from services.display.push.hub import Hub, room_topic
from shared.bus import Bus
from shared.messages import Command, Control, MicStatus
from shared.messages.control import STYLES, check_value, style_name
from shared.messages.language import room_language

_LOGGER = logging.getLogger(__name__)

RESEND_SECONDS = 5.0  # a mic that still asks for another language after being told is told again this often

# The frame steps to its next recent picture, as it does by itself in a quiet room.
NEXT: dict[str, object] = {"type": "next"}


@dataclass(frozen=True)
class RoomSettings:
    style: str | None
    window_seconds: float | None
    language: str | None = None  # None: never set here, so each transcriber's VOXFRAME_LANGUAGE


class RoomControls:
    """Acts on the display's own commands and remembers the settings each room was last given."""

    def __init__(self, hub: Hub, gallery: Gallery, bus: Bus) -> None:
        self.hub, self.gallery, self.bus = hub, gallery, bus
        self._lock = threading.Lock()
        self._styles: dict[str, str] = {}
        self._windows: dict[str, float] = {}
        with gallery.db.connection() as conn:
            self._languages: dict[str, str] = {r[0]: r[1] for r in conn.execute(
                "SELECT room, language FROM room_languages")}
        self._told: dict[tuple[str, str], float] = {}  # (room, mic): when it was last told the room's language

    def on_control(self, control: Control) -> None:
        """Every room's controls. One the prompter will refuse (a bad value from a sender that did not check it)
        is not remembered: the prompter dead-letters it, and its setting stays as it was."""
        if control.command is Command.NEXT_PICTURE:
            self.hub.notify((room_topic(control.room), room_topic(control.room, captions=False)), NEXT)
            return
        try:
            check_value(control.command, control.value)
        except ValueError:
            return
        with self._lock:
            if control.command is Command.SET_STYLE:
                self._styles[control.room] = style_name(control.value)
            elif control.command is Command.SET_WINDOW:
                self._windows[control.room] = float(control.value)  # type: ignore[arg-type]
        if control.command is Command.SET_LANGUAGE:
            self._save_language(control.room, room_language(control.value))

    def _save_language(self, room: str, language: str) -> None:
        with self.gallery.db.connection() as conn:
            conn.execute("INSERT INTO room_languages VALUES (?, ?, ?) ON CONFLICT (room) DO UPDATE "
                         "SET language = excluded.language, set_at = excluded.set_at", (room, language, time.time()))
        with self._lock:
            self._languages[room] = language

    def on_status(self, status: MicStatus) -> None:
        """A mic that asks for another language than its room's is told the room's (to the whole room: the others
        have it already)."""
        now = time.monotonic()
        with self._lock:
            wanted = self._languages.get(status.room)
            key = (status.room, status.source)
            told = self._told.get(key, -RESEND_SECONDS)
            if wanted is None or status.language == wanted or now - told < RESEND_SECONDS:
                return
            self._told[key] = now
        _LOGGER.info("Mic %s/%s asks for language %s; telling it the room's, %s", status.room, status.source,
                     status.language, wanted)
        self.bus.publish_nowait(Control(room=status.room, source="display", command=Command.SET_LANGUAGE,
                                        value=wanted, mic=status.source))

    def languages(self) -> dict[str, str]:
        """Each room's language, where one was set."""
        with self._lock:
            return dict(self._languages)

    def settings(self, room: str) -> RoomSettings:
        with self._lock:
            style, window, language = self._styles.get(room), self._windows.get(room), self._languages.get(room)
        if style is None:
            newest = self.gallery.prompts(room, 1)
            style = newest[0].style if newest and newest[0].style in STYLES else None
        return RoomSettings(style, window, language)
