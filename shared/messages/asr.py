"""Speech to text."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from shared.messages.envelope import Envelope


class Word(BaseModel):
    """One recognised word with its time inside the segment."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    text: str
    start_seconds: float = Field(ge=0)
    end_seconds: float = Field(ge=0)
    confidence: float = Field(ge=0, le=1)


class Transcript(Envelope):
    """What was said in one `AudioSegment` (same trace, `audio_id` names it)."""

    KIND: ClassVar[str] = "transcript"

    audio_id: str = Field(description="id of the AudioSegment this transcribes")
    text: str = Field(description="may be empty only for upload jobs, which count every segment")
    words: tuple[Word, ...] = ()
    language: str = "en"
    engine: str = Field(description="e.g. faster-whisper, assemblyai")
    model: str = Field(description="e.g. tiny.en")
    audio_seconds: float = Field(ge=0)
    processing_seconds: float = Field(ge=0)
    sequence: int = Field(0, ge=0, description="the AudioSegment's sequence")
