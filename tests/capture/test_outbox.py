"""The segment outbox against the real broker: a nacked segment is sent again, in order, and the outbox goes on."""

from __future__ import annotations

import json
import threading
import uuid

from prometheus_client import Counter

from shared.audio.outbox import OutboxCounters, SegmentOutbox
from shared.bus import Bus
from shared.config import BusSettings
from tests.bus.test_bus import audio
from tests.support import Broker, wait_for

_COUNTERS = OutboxCounters(*(Counter(f"vftest_outbox_{n}_total", n, labels) for n, labels in (
    ("published", []), ("published_seconds", []), ("dropped", []), ("arbitrated", ["room"]))))


def test_a_nacked_segment_is_sent_again_and_the_outbox_goes_on(broker: Broker, bus_settings: BusSettings,
                                                               running) -> None:
    """A queue that refuses publishes while full (as a quorum queue does while electing a leader) nacks the
    second segment; once there is room, it and the rest arrive in order."""
    full = f"{bus_settings.namespace}.full.{uuid.uuid4().hex[:6]}"
    broker.channel.queue_declare(full, durable=True, arguments={"x-max-length": 1, "x-overflow": "reject-publish"})
    broker.channel.queue_bind(full, broker.topology.exchange, routing_key="audio.#")
    broker.extra_queues.add(full)
    outbox = SegmentOutbox(running(Bus("outboxtest", bus_settings)), 60, _COUNTERS)
    stop = threading.Event()
    publishing = threading.Thread(target=outbox.run, args=(stop,), daemon=True)
    publishing.start()
    outbox.put([audio(i) for i in range(3)])
    wait_for(lambda: broker.depth(full) == 1, message="the first segment fills the queue")
    received = [json.loads(broker.get(full)[1])["sequence"]]  # type: ignore[index]
    for _ in range(2):
        wait_for(lambda: broker.depth(full) == 1, timeout=20, message="the next segment, sent again")
        received.append(json.loads(broker.get(full)[1])["sequence"])  # type: ignore[index]
    assert received == [0, 1, 2]
    assert publishing.is_alive() and outbox.wait_empty(10)
    stop.set()
