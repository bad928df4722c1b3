"""Commands from people (dashboard, CLI) to the workers."""

from __future__ import annotations

import re
from collections.abc import Callable
from enum import StrEnum
from typing import Annotated, ClassVar, TypeVar

from pydantic import Field, StringConstraints, model_validator

from shared.messages.envelope import Envelope, Int64, Name
from shared.messages.language import room_language
from shared.messages.prompt import FINISHES, Finish
from shared.messages.scene import SCENE_MODES, SceneMode

_Choice = TypeVar("_Choice", bound=str)


class Command(StrEnum):
    MUTE = "mute"  # capture: stop publishing (one mic, or the whole room when mic is None)
    UNMUTE = "unmute"
    SET_WINDOW = "set_window"  # prompter: window length in seconds (value)
    SET_STYLE = "set_style"  # prompter: style preset (value)
    SET_IMAGES = "set_images"  # prompter: images per prompt (value)
    PAINT_NOW = "paint_now"  # prompter: publish a prompt from the current window now
    REGENERATE = "regenerate"  # prompter: paint the last prompt again with a new seed
    SET_WAKE_PHRASE = "set_wake_phrase"  # prompter: the words that start a spoken command (value; "" turns off)
    SET_LANGUAGE = "set_language"  # the room's mics: the language their segments expect (value: "auto" or a code)
    NEXT_PICTURE = "next_picture"  # display: the room's frames step to their next recent picture now
    SET_FINISH = "set_finish"  # prompter: screen, or the e-paper inks the room's pictures are drawn in (value)
    SET_SCENE_MODE = "set_scene_mode"  # prompter: living (one scene that changes with the talk) or slideshow (value)


# What the prompter accepts, here so that every sender checks against the same facts.
WINDOW_SECONDS = (5.0, 600.0)  # set_window: a room's listening window
IMAGES_PER_PROMPT = (1, 8)  # set_images
STYLES = ("watercolor", "oil painting", "photo", "storybook", "pencil sketch", "pixel art")  # set_style presets


def style_name(value: object) -> str:
    """The preset a value names ("Oil-Painting" → "oil painting"); ValueError listing the presets if none."""
    name = re.sub(r"[\s_-]+", " ", str(value)).strip().lower()
    if name not in STYLES:
        raise ValueError(f"unknown style {value!r}; choose one of: {', '.join(STYLES)}")
    return name


def _one_of(value: object, choices: tuple[_Choice, ...], what: str) -> _Choice:
    """The choice `value` names; ValueError listing the choices if none."""
    for choice in choices:
        if value == choice:
            return choice
    raise ValueError(f"unknown {what} {value!r}; choose one of: {', '.join(choices)}")


def finish_name(value: object) -> Finish:
    """The finish a value names; ValueError listing the finishes if none."""
    return _one_of(value, FINISHES, "finish")


def scene_mode(value: object) -> SceneMode:
    """The scene mode a value names; ValueError listing the modes if none."""
    return _one_of(value, SCENE_MODES, "scene mode")


def wake_phrase(value: object) -> str:
    """A wake phrase in lower case, single-spaced ("Hey, Frame" → "hey frame"); "" turns spoken controls off.
    ValueError unless it is at most four plain words of at most 40 characters."""
    text = str(value)
    words = re.sub(r"[\s,]+", " ", text).strip().lower()
    if len(text) > 40 or not re.fullmatch(r"[a-z' ]*", words) or len(words.split()) > 4:
        raise ValueError(f"a wake phrase is up to four plain words (at most 40 characters), got {value!r}")
    return words


# The commands whose value names a choice or a phrase, each with the function that reads it.
_NAMED_VALUES: dict[Command, Callable[[object], object]] = {
    Command.SET_STYLE: style_name,
    Command.SET_WAKE_PHRASE: wake_phrase,
    Command.SET_LANGUAGE: room_language,
    Command.SET_FINISH: finish_name,
    Command.SET_SCENE_MODE: scene_mode,
}

# The commands whose value is a number, each with the range the prompter takes.
_NUMBERS: dict[Command, tuple[float, float]] = {
    Command.SET_WINDOW: WINDOW_SECONDS,
    Command.SET_IMAGES: IMAGES_PER_PROMPT,
}
_NEEDS_VALUE = _NAMED_VALUES.keys() | _NUMBERS.keys()  # a control with one of these commands must carry a value


def check_value(command: Command, value: object) -> None:
    """ValueError, naming the allowed range or presets, when `value` is not one `command` accepts."""
    named = _NAMED_VALUES.get(command)
    if named is not None:
        named(value)
        return
    bounds = _NUMBERS.get(command)
    if bounds is None:
        return
    whole = command is Command.SET_IMAGES
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        number = float("nan")
    if not (bounds[0] <= number <= bounds[1] and (number.is_integer() or not whole)):
        kind = "a whole number" if whole else "a number"
        raise ValueError(f"{command} needs {kind} from {bounds[0]:g} to {bounds[1]:g}, got {value!r}")


class Control(Envelope):
    """A command for one room (and optionally one mic); `source` says who sent it."""

    KIND: ClassVar[str] = "control"

    command: Command
    mic: Name | None = Field(None, description="target mic for mute/unmute; None means the whole room")
    value: Annotated[str, StringConstraints(max_length=256)] | float | Int64 | None = None

    @model_validator(mode="after")
    def _value_present(self) -> Control:
        if self.command in _NEEDS_VALUE and self.value is None:
            raise ValueError(f"command {self.command} needs a value")
        return self
