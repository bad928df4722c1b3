"""The way out for a mic's segments, wherever the mic is (a capture process, a browser tab in the display): each
segment announced to its room's other mics and held for arbitration (`arbiter.py`), then queued for the broker,
bounded in seconds of audio so an outage never grows memory. Each service counts under its own metric names."""

from __future__ import annotations

import collections
import logging
import threading
from dataclasses import dataclass

from prometheus_client import Counter

from shared.audio.arbiter import Arbiter
from shared.bus import Bus, BusStopped, PublishRefused
from shared.messages import AudioSegment
from shared.retry import Backoff, Interrupted, Retry

_LOGGER = logging.getLogger(__name__)
_NACKED = Backoff(0.2, max_seconds=5.0)  # a nacked segment is offered again, as long as it takes


@dataclass(frozen=True)
class OutboxCounters:
    published: Counter  # segments the broker confirmed
    published_seconds: Counter  # their audio seconds
    dropped: Counter  # oldest segments dropped while the broker was away
    arbitrated: Counter  # labelled by room: segments left to another mic that heard them better


class SegmentOutbox:
    """Segments waiting for the broker, bounded in audio seconds (oldest dropped), published in order with
    confirms by a thread of their own (`run`), so the audio side never waits for the broker."""

    def __init__(self, bus: Bus, max_seconds: float, counters: OutboxCounters) -> None:
        self._bus = bus
        self._max_seconds = max_seconds
        self._counters = counters
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
                self._counters.dropped.inc()
                _LOGGER.warning("Broker away: dropped segment %d of %s/%s (%.1f s)", dropped.sequence,
                                dropped.room, dropped.source, dropped.duration_seconds)
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
            if not self._publish(message, stop):
                return
            self._counters.published.inc()
            self._counters.published_seconds.inc(message.duration_seconds)

    def _publish(self, message: AudioSegment, stop: threading.Event) -> bool:
        """Publish with confirms, again after a nack (a quorum queue electing its new leader after a node is lost
        nacks for a moment), in order; false once the bus stops for good."""
        retry = Retry(PublishRefused, _NACKED, stop=stop, on_retry=lambda exc, _tries, delay: _LOGGER.warning(
            "Segment %d not taken (%s); again in %.1f s", message.sequence, exc, delay))
        try:
            retry(self._bus.publish, message)
        except BusStopped:
            stop.set()
            return False
        except Interrupted:
            return False
        return True

    def wait_empty(self, timeout: float) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: not self._pending and not self._busy, timeout)


class ArbitratedOutbox:
    """One mic's door to a SegmentOutbox: `put` announces and holds, `release` (on a short timer) passes the
    winners on and counts the rest."""

    def __init__(self, arbiter: Arbiter, bus: Bus, outbox: SegmentOutbox, counters: OutboxCounters) -> None:
        self.arbiter = arbiter
        self._bus = bus
        self._outbox = outbox
        self._arbitrated = counters.arbitrated.labels(arbiter.room)

    def put(self, segments: list[AudioSegment]) -> None:
        for segment in segments:
            self._bus.publish_nowait(self.arbiter.hold(segment))
        self.release()

    def release(self, everything: bool = False) -> None:
        kept, dropped = self.arbiter.release(everything)
        if kept:
            self._outbox.put(kept)
        if dropped:
            self._arbitrated.inc(len(dropped))

    def wait_empty(self, timeout: float) -> bool:
        self.release(everything=True)
        return self._outbox.wait_empty(timeout)
