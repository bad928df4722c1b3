"""Speech segments waiting for the broker: bounded in seconds of audio, so an outage never grows memory."""

from __future__ import annotations

import collections
import logging
import threading

from prometheus_client import Counter

from shared.bus import Bus, BusStopped
from shared.messages import AudioSegment

_LOGGER = logging.getLogger(__name__)

PUBLISHED = Counter("voxframe_capture_segments_published_total", "Speech segments the broker confirmed")
PUBLISHED_SECONDS = Counter("voxframe_capture_audio_published_seconds_total", "Audio seconds the broker confirmed")
DROPPED = Counter("voxframe_capture_segments_dropped_total",
                  "Oldest segments dropped because the broker was away longer than the buffer holds")


class SegmentOutbox:
    """Segments waiting for the broker, bounded in audio seconds (oldest dropped), published in order with
    confirms by a thread of their own, so capture never waits for the broker."""

    def __init__(self, bus: Bus, max_seconds: float) -> None:
        self._bus = bus
        self._max_seconds = max_seconds
        self._pending: collections.deque[AudioSegment] = collections.deque()
        self._seconds = 0.0
        self._changed = threading.Condition()
        self._busy = False

    def put(self, messages: list[AudioSegment]) -> None:
        with self._changed:
            for message in messages:
                self._pending.append(message)
                self._seconds += message.duration_seconds
            while self._seconds > self._max_seconds and len(self._pending) > 1:
                dropped = self._pending.popleft()
                self._seconds -= dropped.duration_seconds
                DROPPED.inc()
                _LOGGER.warning("Broker away: dropped segment %d (%.1f s)", dropped.sequence,
                                dropped.duration_seconds)
            self._changed.notify_all()

    def run(self, stop: threading.Event) -> None:
        """Publish until the bus stops; `stop` is set if it stops for good."""
        while True:
            with self._changed:
                self._busy = False
                self._changed.notify_all()
                while not self._pending:
                    self._changed.wait()
                message = self._pending.popleft()
                self._seconds -= message.duration_seconds
                self._busy = True
            try:
                self._bus.publish(message)
            except BusStopped:
                stop.set()
                return
            PUBLISHED.inc()
            PUBLISHED_SECONDS.inc(message.duration_seconds)

    def wait_empty(self, timeout: float) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: not self._pending and not self._busy, timeout)
