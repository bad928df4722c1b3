"""Live state of a microphone, for the dashboard's level meters and mute switches."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from shared.messages.envelope import Envelope
from shared.messages.language import RoomLanguage

MicKind = Literal["device", "browser", "satellite", "file"]  # a sound device, a browser tab, Wyoming, a replay


class MicStatus(Envelope):
    """Published about once a second by each capture process; transient, dropped when stale."""

    KIND: ClassVar[str] = "status"

    level_dbfs: float = Field(le=0, description="RMS input level of the last second")
    speech_ratio: float = Field(ge=0, le=1, description="share of the last second the VAD called speech")
    muted: bool = False
    device: str = Field("", max_length=256)
    kind: MicKind = "device"
    language: RoomLanguage | None = Field(None, description="what its segments ask for: the room's set_language "
                                                            "(None: none reached it; the transcriber's own)")
