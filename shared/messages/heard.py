"""What a mic heard, told to the room's other mics so each utterance is transcribed once, from the best mic."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, ClassVar

from pydantic import Field

from shared.messages.envelope import ID_CHARS, Envelope

MAX_ENVELOPE_FRAMES = 12_500  # 250 s of 20 ms frames: longer than the longest segment
MIN_ENVELOPE_DB = -200  # below any mic's floor; bounded so every value fits the arbiter's int16 array


class Heard(Envelope):
    """A mic's notice of one speech segment it is about to publish: when, how loud, and its loudness envelope.

    Published to `heard.<room>.<mic>` before the segment itself; transient, it matters only for a moment."""

    KIND: ClassVar[str] = "heard"

    segment_id: str = Field(max_length=ID_CHARS, description="id of the AudioSegment this announces")
    start_at: datetime
    end_at: datetime
    envelope_db: tuple[Annotated[int, Field(ge=MIN_ENVELOPE_DB, le=0)], ...] = Field(
        max_length=MAX_ENVELOPE_FRAMES, description="dBFS per 20 ms frame")
    score: float = Field(ge=-1000, le=1000, description="how well this mic heard it; higher wins")
