"""Speech audio: one whole utterance (or a few close ones) cut at pauses by the capture worker."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import ClassVar

from pydantic import Field, model_validator

from shared.messages.envelope import Count, Envelope
from shared.messages.language import RoomLanguage

SAMPLE_RATE_HZ = 16000  # the pipeline's audio is 16 kHz mono s16le: what Whisper and Silero VAD take
MAX_PCM_BYTES = 8 * 1024 * 1024  # 262 s of 16 kHz mono; 10.7 MiB as base64


class EndReason(StrEnum):
    """Why the capture worker closed a segment."""

    SILENCE = "silence"  # a pause long enough ended the utterance
    MAX_LENGTH = "max_length"  # the segment reached its length limit and was cut
    END_OF_INPUT = "end_of_input"  # the file or upload ran out
    MUTED = "muted"  # the mic was muted mid-utterance
    DEVICE_LOST = "device_lost"  # the device vanished mid-utterance


class AudioSegment(Envelope):
    """s16le PCM of one speech segment; travels base64 inside the JSON."""

    KIND: ClassVar[str] = "audio"

    pcm: bytes = Field(max_length=MAX_PCM_BYTES, description="signed 16-bit little-endian interleaved samples")
    sample_rate_hz: int = Field(SAMPLE_RATE_HZ, ge=8000, le=192000)
    channels: int = Field(1, ge=1, le=8)
    start_at: datetime = Field(description="wall-clock time of the first sample of its own part (after any context)")
    end_at: datetime = Field(description="wall-clock time just after the last sample of its own part")
    end_reason: EndReason
    sequence: Count = Field(0, description="index of this segment within its source's stream or job")
    context_before_seconds: float = Field(
        0.0, ge=0, description="how much of the audio's start is its neighbours', heard as context only: the words "
                               "whose middle lies there are theirs (an upload's pieces, shared/audio/pieces.py)")
    context_after_seconds: float = Field(0.0, ge=0, description="the same at the audio's end")
    language: RoomLanguage | None = Field(
        None, description="the language its room or upload expects ('auto': detect it); None: the transcriber's "
                          "VOXFRAME_LANGUAGE")

    @model_validator(mode="after")
    def _consistent(self) -> AudioSegment:
        frame_bytes = 2 * self.channels
        if len(self.pcm) % frame_bytes:
            raise ValueError(f"pcm has {len(self.pcm)} bytes, not a whole number of {frame_bytes}-byte frames")
        if self.end_at < self.start_at:
            raise ValueError("end_at is before start_at")
        context = self.context_before_seconds + self.context_after_seconds
        if context and context >= self.duration_seconds:
            raise ValueError("the context leaves none of the audio its own")
        return self

    @property
    def duration_seconds(self) -> float:
        """Of all its audio, context included."""
        return len(self.pcm) / (2 * self.channels * self.sample_rate_hz)
