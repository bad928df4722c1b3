"""A room's controls as the display sees them on the bus (from the dashboard, Home Assistant or the CLI): "next
picture" is the display's own command, and the style and window last set are what Home Assistant is shown.

The prompter owns a room's style and window and tells no one; every display sees every control, so the display
knows them from the moment one is set. Before that, the style is the one the room's newest prompt was painted in,
and the window is unknown. Runs on the bus work thread; read from the Home Assistant bridge's thread.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from services.display.gallery.store import Gallery
from services.display.push.hub import Hub, room_topic
from shared.messages import Command, Control
from shared.messages.control import STYLES, check_value, style_name

# The frame steps to its next recent picture, as it does by itself in a quiet room.
NEXT: dict[str, object] = {"type": "next"}


@dataclass(frozen=True)
class RoomSettings:
    style: str | None
    window_seconds: float | None


class RoomControls:
    """Acts on the display's own commands and remembers the settings each room was last given."""

    def __init__(self, hub: Hub, gallery: Gallery) -> None:
        self.hub, self.gallery = hub, gallery
        self._lock = threading.Lock()
        self._styles: dict[str, str] = {}
        self._windows: dict[str, float] = {}

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

    def settings(self, room: str) -> RoomSettings:
        with self._lock:
            style, window = self._styles.get(room), self._windows.get(room)
        if style is None:
            newest = self.gallery.prompts(room, 1)
            style = newest[0].style if newest and newest[0].style in STYLES else None
        return RoomSettings(style, window)
