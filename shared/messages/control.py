"""Commands from people (dashboard, CLI) to the workers."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from pydantic import Field, model_validator

from shared.messages.envelope import Chars, Envelope, Name


class Command(StrEnum):
    MUTE = "mute"  # capture: stop publishing (one mic, or the whole room when mic is None)
    UNMUTE = "unmute"
    SET_WINDOW = "set_window"  # prompter: window length in seconds (value)
    SET_STYLE = "set_style"  # prompter: style preset (value)
    SET_IMAGES = "set_images"  # prompter: images per prompt (value)
    PAINT_NOW = "paint_now"  # prompter: publish a prompt from the current window now
    REGENERATE = "regenerate"  # prompter: paint the last prompt again with a new seed


_NEEDS_VALUE = {Command.SET_WINDOW, Command.SET_STYLE, Command.SET_IMAGES}


class Control(Envelope):
    """A command for one room (and optionally one mic); `source` says who sent it."""

    KIND: ClassVar[str] = "control"

    command: Command
    mic: Name | None = Field(None, description="target mic for mute/unmute; None means the whole room")
    value: Chars(256) | float | int | None = None

    @model_validator(mode="after")
    def _value_present(self) -> Control:
        if self.command in _NEEDS_VALUE and self.value is None:
            raise ValueError(f"command {self.command} needs a value")
        return self
