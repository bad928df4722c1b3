"""What the prompter understood of a spoken control, so frames can confirm it and the dashboard can show the
line as a command rather than as conversation."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from pydantic import Field

from shared.messages.envelope import ID_CHARS, Envelope

MAX_HEARD_CHARS = 500


class SpokenAction(StrEnum):
    PAINT = "paint"  # paint what was named, now
    REGENERATE = "regenerate"  # paint the last picture again
    MUTE = "mute"  # stop listening: the room's mics are muted
    DESCRIBE = "describe"  # "what is this?": frames show the current picture's words and provenance
    UNRECOGNISED = "unrecognised"  # the wake phrase, then nothing understood: ignored


class SpokenCommand(Envelope):
    """A transcript that was a command (`transcript_id` names it) and what was done about it."""

    KIND: ClassVar[str] = "spoken"

    transcript_id: str = Field(max_length=ID_CHARS)
    action: SpokenAction
    subject: str = Field("", max_length=MAX_HEARD_CHARS, description="what to paint (paint only), after scrubbing")
    heard: str = Field("", max_length=MAX_HEARD_CHARS, description="the words after the wake phrase, after scrubbing")
