"""Speech to text."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, Field

from shared.messages.envelope import ID_CHARS, PART_CONFIG, Count, Envelope
from shared.messages.language import DEFAULT_LANGUAGE, Language

MAX_TEXT_CHARS = 20_000  # far more than the longest segment (262 s) holds
MAX_WORDS = 8_000


class Word(BaseModel):
    """One recognised word with its time inside the segment."""

    model_config = PART_CONFIG

    text: str = Field(max_length=64)
    start_seconds: float = Field(ge=0)
    end_seconds: float = Field(ge=0)
    confidence: float = Field(ge=0, le=1)

    def shifted(self, seconds: float) -> Word:
        """The same word timed `seconds` later (earlier when negative), never before 0: its time in a longer or
        shorter stretch of the same audio."""
        return self.model_copy(update={"start_seconds": max(0.0, self.start_seconds + seconds),
                                       "end_seconds": max(0.0, self.end_seconds + seconds)})


class Transcript(Envelope):
    """What was said in one `AudioSegment` (same trace, `audio_id` names it)."""

    KIND: ClassVar[str] = "transcript"

    audio_id: str = Field(max_length=ID_CHARS, description="id of the AudioSegment this transcribes")
    text: str = Field(max_length=MAX_TEXT_CHARS,
                      description="may be empty only for upload jobs, which count every segment")
    words: tuple[Word, ...] = Field((), max_length=MAX_WORDS)
    language: Language = Field(DEFAULT_LANGUAGE, description="what was spoken: its ISO 639 code, e.g. de")
    engine: str = Field(max_length=64, description="e.g. faster-whisper, assemblyai")
    model: str = Field(max_length=128, description="e.g. tiny.en")
    audio_seconds: float = Field(ge=0)
    processing_seconds: float = Field(ge=0)
    sequence: Count = Field(0, description="the AudioSegment's sequence")
