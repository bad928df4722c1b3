"""Live state of a microphone, for the dashboard's level meters and mute switches."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import ClassVar, Literal

from pydantic import Field, field_validator

from shared.messages.envelope import Envelope
from shared.messages.language import RoomLanguage

MicKind = Literal["device", "browser", "satellite", "file"]  # a sound device, a browser tab, Wyoming, a replay


class MicStatus(Envelope):
    """Published about once a second by each capture process; transient, dropped when stale."""

    KIND: ClassVar[str] = "status"

    level_dbfs: float = Field(le=0, description="RMS input level of the last second")
    speech_ratio: float = Field(ge=0, le=1, description="share of the last second the VAD called speech")
    muted: bool = False
    switched_at: datetime | None = Field(None, description="when the mute or unmute it obeys was set (its Control's "
                                                           "created_at); None: none reached it, its start state")
    device: str = Field("", max_length=256)
    kind: MicKind = "device"
    language: RoomLanguage | None = Field(None, description="what its segments ask for: the room's set_language "
                                                            "(None: none reached it; the transcriber's own)")

    @field_validator("switched_at")
    @classmethod
    def _aware_or_none(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("timestamps must carry a timezone (UTC)")
        return None if value is None else value.astimezone(UTC)
