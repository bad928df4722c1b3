"""A slow generator: the queues in front of slow stages stay bounded, and what they shed is counted."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from shared.bus import Bus
from shared.config import BusSettings
from shared.messages import AudioSegment, ImagePrompt, utc_now
from tests.e2e.harness import Pipeline
from tests.generator.servers import StandIn, image_b64
from tests.support import Broker, wait_for

pytestmark = pytest.mark.slow

QUEUE_MAX = 5
PAINT_SECONDS = 1.0


@pytest.fixture
def small_queues(bus_settings: BusSettings) -> Iterator[tuple[BusSettings, Broker]]:
    settings = bus_settings.model_copy(update={"prompt_queue_max": QUEUE_MAX, "audio_queue_max": QUEUE_MAX})
    declarer = Bus("test", settings)
    declarer.start()
    declarer.wait_connected(10)
    broker = Broker(settings)
    yield settings, broker
    declarer.stop(10)
    broker.cleanup()


def slow_playground() -> StandIn:
    """A remote GPU server that takes PAINT_SECONDS per picture, speaking the DALL·E Playground shape."""
    def generate(body: dict) -> tuple[int, dict]:
        time.sleep(PAINT_SECONDS)  # the fake GPU's work, not a test wait
        return 200, {"generatedImgs": [image_b64("PNG")] * int(body["num_images"]), "generatedImgsFormat": "png"}
    return StandIn({"/generate": generate})


def test_slow_generator_keeps_prompt_and_audio_queues_bounded(
        small_queues: tuple[BusSettings, Broker], tmp_path: Path) -> None:
    settings, broker = small_queues
    t = broker.topology
    with slow_playground() as gpu:
        pipeline = Pipeline(settings.namespace, settings.amqp_url, tmp_path,
                            VOXFRAME_PROMPT_QUEUE_MAX=str(QUEUE_MAX), VOXFRAME_AUDIO_QUEUE_MAX=str(QUEUE_MAX),
                            VOXFRAME_GENERATOR_BACKEND="dalle-playground", VOXFRAME_DALLE_URL=gpu.url)
        generator = pipeline.add("generator", "generator").start()
        try:
            generator.wait_healthy(60)
            source = Bus("test-source", settings)
            source.start()
            source.wait_connected(10)
            depths: list[tuple[int, int]] = []
            sampling = threading.Event()

            def sample_depths() -> None:
                while not sampling.wait(0.05):
                    depths.append((broker_depth(settings, t.prompts.name), broker_depth(settings, t.audio.name)))

            sampler = threading.Thread(target=sample_depths)
            sampler.start()
            now = utc_now()
            prompts = [ImagePrompt(room="busy", source="mic1", text=f"scene {i}", seed=i) for i in range(30)]
            segments = [AudioSegment(room="busy", source="mic1", pcm=b"\0\0" * 1600, start_at=now,
                                     end_at=now + timedelta(seconds=0.1), end_reason="silence", sequence=i)
                        for i in range(30)]
            source.publish(*prompts, *segments)  # nobody transcribes: the audio queue is the slow stage's too
            wait_for(lambda: len(gpu.requests) >= 2, timeout=30, message="the generator painting")
            sampling.set()
            sampler.join()
            source.stop(10)
            assert max(p for p, _ in depths) <= QUEUE_MAX and max(a for _, a in depths) <= QUEUE_MAX, depths
            dropped = wait_for(lambda: broker.depth(t.dropped.name) >= 2 * 30 - 2 * QUEUE_MAX - len(gpu.requests)
                               and broker.drain(t.dropped.name), timeout=30, message="drops counted")
            kinds = [props.type for props, _ in dropped]
            assert kinds.count("audio") == 30 - QUEUE_MAX
            dropped_prompts = {json.loads(body)["seed"] for props, body in dropped if props.type == "prompt"}
            assert dropped_prompts and max(dropped_prompts) < 30 - QUEUE_MAX, "the oldest prompts are the ones dropped"
            assert len(dropped_prompts) >= 30 - QUEUE_MAX - len(gpu.requests)
        finally:
            pipeline.stop_all()


def broker_depth(settings: BusSettings, queue: str) -> int:
    probe = Broker(settings)
    try:
        return probe.depth(queue)
    finally:
        probe.connection.close()
