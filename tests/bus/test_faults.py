"""The bus under faults around a message (nacks, oversized outputs, duplicates, stalls, a dying work thread),
against the real RabbitMQ: each costs at most the message it touches, never the worker, and never silently."""

from __future__ import annotations

import json
import sys
import threading
import urllib.error
import urllib.request
import uuid

import pytest
from prometheus_client import REGISTRY

from shared.bus import REASON_HEADER, Bus, PublishRefused
from shared.bus.errors import MessageTooLarge, WorkerDied
from shared.config import BusSettings
from shared.messages import AudioSegment, Transcript
from shared.metrics import serve_metrics
from tests.bus.test_bus import audio, transcript_of
from tests.support import Broker, PausableProxy, wait_for


def _health(base: str) -> int:
    try:
        return urllib.request.urlopen(base + "/healthz", timeout=5).status
    except urllib.error.HTTPError as exc:
        return exc.code


def _full_queue(broker: Broker, binding: str) -> str:
    """A queue bound to `binding` that holds one message and makes the broker nack every publish beyond it."""
    name = f"{broker.settings.namespace}.full.{uuid.uuid4().hex[:6]}"
    broker.channel.queue_declare(name, durable=True, arguments={"x-max-length": 1, "x-overflow": "reject-publish"})
    broker.channel.queue_bind(name, broker.topology.exchange, routing_key=binding)
    broker.extra_queues.add(name)
    return name


def test_a_nacked_output_costs_one_message_not_the_worker(broker: Broker, bus_settings: BusSettings,
                                                          running) -> None:
    """A broker nack on a handler's output retries the publish, then dead-letters the input with the reason;
    the worker stays healthy and goes on with the next message."""
    full = _full_queue(broker, "transcript.#")
    handled: list[int] = []

    def transcribe(segment: AudioSegment) -> Transcript:
        handled.append(segment.sequence)
        return transcript_of(segment)

    worker = Bus("nacktest", bus_settings)
    worker.consume(worker.topology.audio, {AudioSegment: transcribe}, prefetch=1)
    server = serve_metrics("nacktest", 0, worker.health, host="127.0.0.1")
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        running(worker)
        broker.publish_raw("audio.living.mic1", audio(1).to_json(), "audio")
        wait_for(lambda: broker.depth(full) == 1, message="the first transcript fills the queue")
        broker.publish_raw("audio.living.mic1", audio(2).to_json(), "audio")
        dead = wait_for(lambda: broker.drain(broker.topology.dead.name), message="segment 2 dead-lettered")
        assert json.loads(dead[0][1])["sequence"] == 2
        assert dead[0][0].headers[REASON_HEADER].startswith("publish_refused: the broker refused a transcript")
        assert _health(base) == 200
        broker.drain(full)
        broker.publish_raw("audio.living.mic1", audio(3).to_json(), "audio")
        wait_for(lambda: broker.depth(full) == 1, message="segment 3 transcribed after the nack")
        assert handled == [1, 2, 3]
        assert _health(base) == 200
    finally:
        server.shutdown()


def test_after_a_nack_the_bus_publishes_on_a_fresh_channel(broker: Broker, bus_settings: BusSettings,
                                                           running) -> None:
    """A RabbitMQ 3.10 channel opened just after a quorum queue's leader was lost refuses every publish to that
    queue until the old node returns; a new channel does not. So a nack moves the bus's publishing to a fresh
    channel (on the same connection), and publishing goes on there."""
    full = _full_queue(broker, "audio.#")
    publisher = running(Bus("freshtest", bus_settings))
    publisher.publish(audio(1))
    first = publisher._link._publisher
    assert first is not None and first.is_open
    with pytest.raises(PublishRefused):
        publisher.publish(audio(2))
    second = publisher._link._publisher
    assert second is not None and second.is_open and second.channel_number != first.channel_number
    assert first.is_closed
    broker.drain(full)
    publisher.publish(audio(3))
    assert publisher.connected


def test_an_output_over_the_broker_limit_is_dead_lettered_before_sending(broker: Broker, bus_settings: BusSettings,
                                                                         running) -> None:
    """An output that cannot fit the broker's max_message_size dead-letters its input as unprocessable
    (nothing is sent, the connection is not lost); the next message goes through."""
    tap = broker.tap("transcript.#")

    def transcribe(segment: AudioSegment) -> Transcript:
        words = "word " * (2000 if segment.sequence == 1 else 2)
        return segment.derive(Transcript, audio_id=str(segment.id), text=words, engine="test", model="none",
                              audio_seconds=0.1, processing_seconds=0.0, sequence=segment.sequence)

    worker = Bus("sizetest", bus_settings.model_copy(update={"max_message_bytes": 4096}))
    worker.consume(worker.topology.audio, {AudioSegment: transcribe})
    running(worker)
    for i in (1, 2):
        broker.publish_raw("audio.living.mic1", audio(i).to_json(), "audio")
    wait_for(lambda: broker.depth(tap) == 1, message="the small transcript")
    dead = wait_for(lambda: broker.drain(broker.topology.dead.name), message="the big one's input dead-lettered")
    assert json.loads(dead[0][1])["sequence"] == 1
    reason = dead[0][0].headers[REASON_HEADER]
    assert reason.startswith("unprocessable: a transcript message of ") and "over the broker's limit" in reason
    assert json.loads(broker.drain(tap)[0][1])["sequence"] == 2
    assert worker.connected
    with pytest.raises(MessageTooLarge):
        worker.publish(transcribe(audio(1)))


def test_a_second_copy_of_a_held_message_is_acked_at_once(broker: Broker, bus_settings: BusSettings) -> None:
    """The same message id published twice while the first is held (deferred ack) takes no prefetch slot
    for good: the copy is acked at once, and only the held one returns when the worker stops."""
    acks = []
    worker = Bus("heldtest", bus_settings)
    worker.consume(worker.topology.audio, {AudioSegment: lambda _s: acks.append(worker.defer_ack())})
    worker.start()
    try:
        worker.wait_connected(10)
        segment = audio(4)
        broker.publish_raw("audio.living.mic1", segment.to_json(), "audio")
        wait_for(lambda: len(acks) == 1, message="held")
        broker.publish_raw("audio.living.mic1", segment.to_json(), "audio")
        broker.publish_raw("audio.living.mic1", audio(5).to_json(), "audio")
        wait_for(lambda: len(acks) == 2, message="the next message handled")
        acks[1]()
    finally:
        worker.stop(10)
    returned = wait_for(lambda: broker.drain(broker.topology.audio.name), message="unacked ones back in the queue")
    assert [json.loads(body)["sequence"] for _, body in returned] == [4], "only the held delivery was unacked"


def test_a_publish_that_timed_out_is_never_sent_later(broker: Broker, bus_settings: BusSettings) -> None:
    """The caller who got TimeoutError can trust it: the message was withdrawn. One already on its way when
    the deadline passes is waited for instead, and the caller is told it was sent."""
    tap = broker.tap("audio.#")
    proxy = PausableProxy()
    publisher = Bus("timeouttest", bus_settings.model_copy(update={"amqp_url": proxy.url(bus_settings.amqp_url)}))
    publisher.start()
    try:
        publisher.wait_connected(10)
        proxy.pause()
        in_flight_done = threading.Event()

        def send_first() -> None:
            publisher.publish(audio(1), timeout=0.2)  # on its way when the deadline passes: waited for
            in_flight_done.set()

        first = threading.Thread(target=send_first)
        first.start()
        wait_for(proxy.held_from_clients, message="the first publish on its way, held by the network")
        with pytest.raises(TimeoutError, match="not sent"):
            publisher.publish(audio(2), timeout=0.3)
        assert not in_flight_done.is_set()
        proxy.resume()
        assert in_flight_done.wait(10), "the in-flight publish returned once confirmed"
        first.join(10)
        publisher.publish(audio(3), timeout=10)
        wait_for(lambda: broker.depth(tap) == 2, message="first and third")
        assert sorted(json.loads(body)["sequence"] for _, body in broker.drain(tap)) == [1, 3]
    finally:
        proxy.resume()
        publisher.stop(10)
        proxy.close()


def _counter(name: str, stage: str) -> float:
    return REGISTRY.get_sample_value(name, {"stage": stage}) or 0.0


def test_a_full_outbox_hammered_from_two_threads_accounts_for_every_message(broker: Broker,
                                                                            bus_settings: BusSettings) -> None:
    """With the outbox at its bound while the I/O thread drains it, every message is either confirmed by the
    broker or dropped and counted: none is lost silently, none both sent and counted as dropped."""
    tap = broker.tap("audio.#")
    stage = f"outbox{uuid.uuid4().hex[:6]}"
    bus = Bus(stage, bus_settings.model_copy(update={"outbox_max": 1}))
    bus.start()
    per_thread = 1500
    switch = sys.getswitchinterval()
    try:
        bus.wait_connected(10)
        sys.setswitchinterval(1e-6)  # switch threads as often as possible, so the race shows if there is one

        def hammer(offset: int) -> None:
            for i in range(per_thread):
                bus.publish_nowait(audio(offset + i))

        threads = [threading.Thread(target=hammer, args=(k * per_thread,)) for k in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        sys.setswitchinterval(switch)
        wait_for(lambda: not bus._link.outbox, timeout=30, message="outbox drained")
        total = 2 * per_thread

        def settled() -> bool:
            return broker.depth(tap) + _counter("voxframe_bus_outbox_dropped_total", stage) == total

        wait_for(settled, timeout=20, message="confirmed + dropped == published")
        received = [json.loads(body)["sequence"] for _, body in broker.drain(tap)]
        assert len(received) == len(set(received))
        assert 0 < len(received) < total
    finally:
        sys.setswitchinterval(switch)
        bus.stop(10)


def test_a_dead_work_thread_fails_health_and_stops_the_worker(broker: Broker, bus_settings: BusSettings) -> None:
    """Should the work thread die (here a handler raising SystemExit, which no retry catches), /healthz fails,
    run() raises WorkerDied so the process exits non-zero, and the message returns to its queue."""
    def fatal(_segment: AudioSegment) -> None:
        raise SystemExit("pulled the plug")

    worker = Bus("deadtest", bus_settings)
    worker.consume(worker.topology.audio, {AudioSegment: fatal})
    server = serve_metrics("deadtest", 0, worker.health, host="127.0.0.1")
    base = f"http://127.0.0.1:{server.server_address[1]}"
    outcome: list[BaseException] = []

    def run() -> None:
        try:
            worker.run(install_signal_handlers=False)
        except BaseException as exc:  # noqa: BLE001 (the test inspects it)
            outcome.append(exc)

    runner = threading.Thread(target=run)
    runner.start()
    try:
        wait_for(lambda: worker.connected, message="connected")
        broker.publish_raw("audio.living.mic1", audio(9).to_json(), "audio")
        wait_for(lambda: outcome, timeout=20, message="run() returned")
        assert isinstance(outcome[0], WorkerDied) and "pulled the plug" in str(outcome[0])
        assert _health(base) == 503
        left = wait_for(lambda: broker.drain(broker.topology.audio.name), message="the message back in its queue")
        assert json.loads(left[0][1])["sequence"] == 9
    finally:
        worker.stop(10)
        runner.join(20)
        server.shutdown()
