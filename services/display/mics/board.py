"""The mics heard from lately: live level and mute state for the dashboard, kept in memory only."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from services.display.views import MicView
from shared.messages import MicStatus

STALE_SECONDS = 15.0  # a capture process reports about once a second; silence this long means it is gone


class MicBoard:
    """Latest status per (room, mic). Written by the bus thread, read by web requests (dict ops are atomic)."""

    def __init__(self) -> None:
        self._mics: dict[tuple[str, str], tuple[float, MicView]] = {}

    def update(self, msg: MicStatus) -> MicView:
        view = MicView(room=msg.room, mic=msg.source, device=msg.device, kind=msg.kind,
                       level_dbfs=msg.level_dbfs, speech_ratio=msg.speech_ratio, muted=msg.muted,
                       seen_at=datetime.now(UTC), language=msg.language)
        self._mics[(msg.room, msg.source)] = (time.monotonic(), view)
        return view

    def mics(self, room: str | None = None) -> list[MicView]:
        cutoff = time.monotonic() - STALE_SECONDS
        for key, (seen, _) in list(self._mics.items()):
            if seen < cutoff:
                self._mics.pop(key, None)
        return sorted((v for _, v in list(self._mics.values()) if room is None or v.room == room),
                      key=lambda v: (v.room, v.mic))
