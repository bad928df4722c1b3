"""The way out of a capture: each segment announced to the room's other mics, held for arbitration, then queued."""

from __future__ import annotations

from prometheus_client import Counter

from services.capture.outbox import SegmentOutbox
from shared.audio.arbiter import Arbiter
from shared.bus import Bus
from shared.messages import AudioSegment

ARBITRATED = Counter("voxframe_capture_segments_arbitrated_total",
                     "Segments left to another mic of the room that heard the same speech better", ["room"])


class ArbitratedOutbox:
    """Stands where the outbox stood: `put` announces and holds, `release` (on a short timer) passes the
    winners on to the outbox and counts the rest."""

    def __init__(self, arbiter: Arbiter, bus: Bus, outbox: SegmentOutbox) -> None:
        self.arbiter = arbiter
        self._bus = bus
        self._outbox = outbox

    def put(self, segments: list[AudioSegment]) -> None:
        for segment in segments:
            self._bus.publish_nowait(self.arbiter.hold(segment))
        self.release()

    def release(self, everything: bool = False) -> None:
        kept, dropped = self.arbiter.release(everything)
        if kept:
            self._outbox.put(kept)
        if dropped:
            ARBITRATED.labels(self.arbiter.room).inc(len(dropped))

    def wait_empty(self, timeout: float) -> bool:
        self.release(everything=True)
        return self._outbox.wait_empty(timeout)
