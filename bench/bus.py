"""Throughput and round-trip latency through the bus, beside raw pika with the same durability settings.

Both sides: a durable queue, persistent messages, publisher confirms, manual acks, the same 3.2 KB audio message.
Targets: bus round trip p99 <= 2x raw pika's; bus throughput >= 50 % of raw pika's.
"""

from __future__ import annotations

import sys
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pika

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._results import percentile, save_results
from shared.bus import Bus
from shared.bus.teardown import delete_namespace
from shared.config import BusSettings
from shared.messages import AudioSegment, utc_now

MESSAGES = 3000
ROUND_TRIPS = 400
RATE_PER_SECOND = 200
URL = "amqp://guest:guest@127.0.0.1:5672/%2F"


def sample(sequence: int) -> AudioSegment:
    now = utc_now()
    return AudioSegment(room="bench", source="mic", pcm=b"\x01\x02" * 1200, start_at=now,
                        end_at=now + timedelta(seconds=0.075), end_reason="silence", sequence=sequence)


def raw_pika(n: int, paced: bool) -> tuple[float, list[float]]:
    """Publish n messages (paced or flat out) and consume them; returns (seconds, latencies)."""
    queue = f"bench-raw-{uuid.uuid4().hex[:6]}"
    setup = pika.BlockingConnection(pika.URLParameters(URL))
    setup.channel().queue_declare(queue, durable=True)
    sent: dict[int, float] = {}
    latencies: list[float] = []
    done = threading.Event()

    def consume() -> None:
        connection = pika.BlockingConnection(pika.URLParameters(URL))
        channel = connection.channel()
        channel.basic_qos(prefetch_count=100)

        def on_message(ch, method, props, body) -> None:
            message = AudioSegment.model_validate_json(body)  # decode like a real consumer would
            latencies.append(time.perf_counter() - sent[message.sequence])
            ch.basic_ack(method.delivery_tag)
            if len(latencies) == n:
                done.set()

        channel.basic_consume(queue, on_message)
        while not done.is_set():
            connection.process_data_events(time_limit=0.1)
        connection.close()

    consumer = threading.Thread(target=consume)
    consumer.start()
    time.sleep(0.5)
    channel = pika.BlockingConnection(pika.URLParameters(URL)).channel()
    channel.confirm_delivery()
    props = pika.BasicProperties(delivery_mode=2, content_type="application/json", type="audio")
    started = time.perf_counter()
    for i in range(n):
        if paced:
            time.sleep(max(0.0, started + i / RATE_PER_SECOND - time.perf_counter()))
        sent[i] = time.perf_counter()
        channel.basic_publish("", queue, sample(i).to_json(), props)
    done.wait(120)
    elapsed = time.perf_counter() - started
    consumer.join()
    setup.channel().queue_delete(queue)
    setup.close()
    return elapsed, latencies


def through_bus(n: int, paced: bool) -> tuple[float, list[float]]:
    settings = BusSettings(amqp_url=URL, namespace=f"bench-{uuid.uuid4().hex[:6]}", audio_queue_max=100_000)
    sent: dict[int, float] = {}
    latencies: list[float] = []
    done = threading.Event()

    def handle(message: AudioSegment) -> None:
        latencies.append(time.perf_counter() - sent[message.sequence])
        if len(latencies) == n:
            done.set()

    consumer = Bus("bench-consumer", settings.model_copy(update={"dedup_ids": 0}))
    consumer.consume(consumer.topology.audio, {AudioSegment: handle}, prefetch=100)
    publisher = Bus("bench-publisher", settings)
    for bus in (consumer, publisher):
        bus.start()
        bus.wait_connected(10)
    started = time.perf_counter()
    for i in range(n):
        if paced:
            time.sleep(max(0.0, started + i / RATE_PER_SECOND - time.perf_counter()))
        sent[i] = time.perf_counter()
        publisher.publish(sample(i))
    done.wait(120)
    elapsed = time.perf_counter() - started
    for bus in (consumer, publisher):
        bus.stop(10)
    cleanup = pika.BlockingConnection(pika.URLParameters(URL))
    delete_namespace(cleanup.channel(), consumer.topology)
    cleanup.close()
    return elapsed, latencies


def summarise(name: str, throughput: tuple[float, list[float]], round_trip: tuple[float, list[float]]) -> dict:
    seconds, received = throughput
    _, latencies = round_trip
    result = {
        "messages_per_second": round(len(received) / seconds, 1),
        "round_trip_p50_ms": round(percentile(latencies, 50) * 1000, 3),
        "round_trip_p99_ms": round(percentile(latencies, 99) * 1000, 3),
    }
    print(f"{name:>9}: {result['messages_per_second']:8.0f} msg/s   round trip p50 "
          f"{result['round_trip_p50_ms']:.2f} ms  p99 {result['round_trip_p99_ms']:.2f} ms", flush=True)
    return result


def main() -> None:
    print(f"{MESSAGES} messages flat out, then {ROUND_TRIPS} paced at {RATE_PER_SECOND}/s, "
          "durable + persistent + confirms", flush=True)
    raw = summarise("raw pika", raw_pika(MESSAGES, False), raw_pika(ROUND_TRIPS, True))
    bus = summarise("bus", through_bus(MESSAGES, False), through_bus(ROUND_TRIPS, True))
    ratios = {
        "throughput_vs_raw": round(bus["messages_per_second"] / raw["messages_per_second"], 3),
        "p99_vs_raw": round(bus["round_trip_p99_ms"] / raw["round_trip_p99_ms"], 3),
    }
    ratios["targets_met"] = ratios["throughput_vs_raw"] >= 0.5 and ratios["p99_vs_raw"] <= 2.0
    save_results("bus", {"message_bytes": len(sample(0).to_json()), "raw_pika": raw, "bus": bus, **ratios})


if __name__ == "__main__":
    main()
