"""The generator worker on the real RabbitMQ: prompts in, validated images out, stale prompts dropped,
a failing backend replaced by posters or dead-lettered with its reason; and the real CLI process."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta

import pytest
from PIL import Image

from services.generator.engines.dalle_playground import DallePlaygroundBackend
from services.generator.engines.fallback import ResilientBackend
from services.generator.engines.illustrator import IllustratorBackend
from services.generator.engines.poster import PosterBackend
from services.generator.handler import GenerateHandler, subscribe
from shared.bus import REASON_HEADER, Bus
from shared.config import BusSettings
from shared.messages import GeneratedImage, ImagePrompt, Keyword, utc_now
from tests.generator.servers import StandIn, closed_port_url
from tests.support import Broker, wait_for


def prompt(**fields: object) -> ImagePrompt:
    values: dict[str, object] = {"room": "kitchen", "source": "mic1", "text": "grandmother's apple pie, watercolor",
                                 "keywords": (Keyword(text="apple pie", score=0.9), Keyword(text="grandmother",
                                                                                            score=0.5)),
                                 "excerpt": "we should bake grandmother's apple pie", "width": 320, "height": 180}
    values.update(fields)
    return ImagePrompt(**values)


def publish(broker: Broker, message: ImagePrompt) -> None:
    broker.publish_raw(message.routing_key, message.to_json(), message.KIND)


def images_on(broker: Broker, tap: str, count: int) -> list[GeneratedImage]:
    received = wait_for(lambda: broker.depth(tap) >= count and broker.drain(tap), timeout=20,
                        message=f"{count} image(s)")
    return [GeneratedImage.from_json(body) for _, body in received]  # type: ignore[union-attr]


@pytest.fixture
def generator(bus_settings: BusSettings, broker: Broker, running: Callable[[Bus], Bus]) -> Callable[..., Bus]:
    """Starts a generator worker painting with `backend` (kwargs go to GenerateHandler), as `run_generator` does."""
    def start(backend: ResilientBackend, **kwargs: object) -> Bus:
        bus = Bus("generator", bus_settings)
        handler = GenerateHandler(backend, **{"max_prompt_age_seconds": bus.settings.prompt_ttl_seconds, **kwargs})
        subscribe(bus, handler)
        return running(bus)

    return start


def poster() -> ResilientBackend:
    return ResilientBackend(PosterBackend("PNG"), "poster")


def test_prompt_becomes_validated_images_carrying_the_prompt(broker: Broker, generator) -> None:
    tap = broker.tap("image.#")
    generator(poster())
    sent = prompt(num_images=2, seed=11)
    publish(broker, sent)
    images = sorted(images_on(broker, tap, 2), key=lambda i: i.index)
    assert [i.index for i in images] == [0, 1]
    for image in images:
        decoded = Image.open(io.BytesIO(image.image))
        assert decoded.size == (image.width, image.height) == (320, 180)
        assert (image.backend, image.fallback, image.mime_type) == ("poster", False, "image/png")
        assert (image.prompt_id, image.prompt_text, image.keywords) == (str(sent.id), sent.text, sent.keywords)
        assert (image.room, image.source, image.trace_id, image.job_id) == ("kitchen", "mic1", sent.trace_id, None)
        assert image.excerpt == sent.excerpt and image.style == sent.style
        assert image.id == sent.derive(GeneratedImage, key=str(image.index), **image.model_dump(
            exclude={"id", "room", "source", "trace_id", "origin_at", "job_id"})).id
    assert images[0].image != images[1].image


def test_stale_live_prompts_are_dropped_but_upload_jobs_are_painted(broker: Broker, generator) -> None:
    tap = broker.tap("image.#", "job.image.#")
    generator(poster(), max_prompt_age_seconds=30)
    old = utc_now() - timedelta(minutes=5)
    stale, job, fresh = prompt(created_at=old), prompt(created_at=old, job_id="upload-7"), prompt()
    for message in (stale, job, fresh):
        publish(broker, message)
    images = images_on(broker, tap, 2)
    assert sorted(i.prompt_id for i in images) == sorted([str(job.id), str(fresh.id)])
    assert [i.job_id for i in images if i.prompt_id == str(job.id)] == ["upload-7"]
    assert broker.depth(tap) == 0


def test_num_images_and_size_overrides(broker: Broker, generator) -> None:
    tap = broker.tap("image.#")
    generator(poster(), num_images=2, size=(256, 144))
    publish(broker, prompt(num_images=1))
    images = images_on(broker, tap, 2)
    assert [(i.width, i.height) for i in images] == [(256, 144)] * 2


def test_backend_down_still_paints_a_poster_marked_as_fallback(broker: Broker, generator) -> None:
    tap = broker.tap("image.#")
    backend = ResilientBackend(DallePlaygroundBackend(closed_port_url(), connect_timeout_seconds=1),
                               "dalle-playground", PosterBackend("JPEG"), attempts=2, backoff_seconds=0.01)
    generator(backend)
    publish(broker, prompt())
    [image] = images_on(broker, tap, 1)
    assert (image.backend, image.fallback, image.mime_type) == ("poster", True, "image/jpeg")


def test_failing_backend_without_fallback_is_dead_lettered_with_the_reason(broker: Broker, generator) -> None:
    backend = ResilientBackend(DallePlaygroundBackend(closed_port_url(), connect_timeout_seconds=1),
                               "dalle-playground", None, attempts=1)
    generator(backend)
    publish(broker, prompt())
    [(props, _)] = wait_for(lambda: broker.drain(broker.topology.dead.name), message="a dead letter")
    assert "cannot reach" in props.headers[REASON_HEADER]


@pytest.mark.parametrize("keyword", ["zorblax\nquux", "zorblax\r", "zorblax\x85quux", "\n"])
def test_a_keyword_with_a_line_break_is_painted_by_the_fallback(broker: Broker, generator, keyword: str) -> None:
    """What the illustrator cannot draw the poster paints, its words laid out one per line; a line break inside
    a keyword failed Pillow's layout ("raqm_layout() failed"), so the last resort raised, the bus tried twice more
    and dead-lettered the prompt: the room got no picture."""
    tap = broker.tap("image.#")
    generator(ResilientBackend(IllustratorBackend("PNG"), "illustrator", PosterBackend("PNG")))
    publish(broker, prompt(keywords=(Keyword(text=keyword, score=1.0),)))
    [image] = images_on(broker, tap, 1)
    assert (image.backend, image.fallback) == ("poster", True)
    assert broker.depth(broker.topology.dead.name) == 0


def test_malformed_prompt_is_dead_lettered(broker: Broker, generator) -> None:
    generator(poster())
    body = prompt().to_json().replace(b'"width":320', b'"width":5')
    broker.publish_raw("prompt.kitchen.mic1", body, "prompt")
    [(props, _)] = wait_for(lambda: broker.drain(broker.topology.dead.name), message="a dead letter")
    assert props.headers[REASON_HEADER].startswith("invalid: ") and "width" in props.headers[REASON_HEADER]


def test_cli_worker_paints_prompts_and_stops_cleanly_on_sigterm(broker: Broker, bus_settings: BusSettings) -> None:
    tap = broker.tap("image.#")
    env = {**os.environ, "VOXFRAME_AMQP_URL": bus_settings.amqp_url, "VOXFRAME_NAMESPACE": bus_settings.namespace}
    process = subprocess.Popen(
        [sys.executable, "-m", "shared.cli", "generator", "--metrics-port", "0", "--size", "400x224",
         "--poster-format", "webp"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        publish(broker, prompt(style="neon"))
        [image] = images_on(broker, tap, 1)
        assert (image.width, image.height, image.mime_type) == (400, 224, "image/webp")
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=20)
    assert process.returncode == 0, output
    assert "Ready: painting with illustrator (poster fallback)" in output  # the default


def failing_playground(url: str, fallback: bool) -> ResilientBackend:
    return ResilientBackend(DallePlaygroundBackend(url, timeout_seconds=5, connect_timeout_seconds=1),
                            "dalle-playground", PosterBackend("JPEG") if fallback else None, attempts=3,
                            backoff_seconds=0.01)


@pytest.mark.parametrize(("status", "calls"), [(500, 3), (503, 3), (400, 1)])
def test_a_failing_backend_is_tried_only_by_the_generator_then_dead_lettered_at_once(
        broker: Broker, bus_settings: BusSettings, generator, status: int, calls: int) -> None:
    """One owner of retries: 3 generator tries for 5xx/503 (1 for a 4xx), never again per bus attempt (was 3 × 3)."""
    assert bus_settings.max_attempts == 3
    with StandIn({"/generate": lambda body: (status, {"error": "CUDA error: device-side assert"})}) as server:
        generator(failing_playground(server.url, fallback=False))
        publish(broker, prompt())
        [(props, _)] = wait_for(lambda: broker.drain(broker.topology.dead.name), message="a dead letter")
        assert len(server.requests) == calls
    reason = props.headers[REASON_HEADER]
    assert reason.startswith(f"unprocessable: dalle-playground failed after {calls} tr"), reason
    assert str(status) in reason


def test_a_failing_backend_with_the_fallback_costs_three_calls_and_paints_a_poster(broker: Broker, generator) -> None:
    tap = broker.tap("image.#")
    with StandIn({"/generate": lambda body: (500, {"error": "CUDA error"})}) as server:
        generator(failing_playground(server.url, fallback=True))
        publish(broker, prompt())
        [image] = images_on(broker, tap, 1)
        assert len(server.requests) == 3
    assert (image.backend, image.fallback) == ("poster", True)
    assert broker.depth(broker.topology.dead.name) == 0


def test_cli_worker_drops_prompts_at_the_prompts_queue_ttl(broker: Broker, bus_settings: BusSettings) -> None:
    """One staleness rule: the generator drops a live prompt when it is older than VOXFRAME_PROMPT_TTL_SECONDS
    (the prompts queue's TTL), not at a limit of its own; upload-job prompts are never dropped."""
    tap = broker.tap("image.#", "job.image.#")
    ttl = bus_settings.prompt_ttl_seconds
    env = {**os.environ, "VOXFRAME_AMQP_URL": bus_settings.amqp_url, "VOXFRAME_NAMESPACE": bus_settings.namespace,
           "VOXFRAME_PROMPT_TTL_SECONDS": str(ttl)}
    process = subprocess.Popen([sys.executable, "-m", "shared.cli", "generator", "--backend", "poster",
                                "--metrics-port", "0", "--size", "160x90"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        now = utc_now()
        past_ttl, within_ttl = now - timedelta(seconds=ttl + 60), now - timedelta(seconds=ttl - 60)
        sent = [prompt(created_at=past_ttl), prompt(created_at=within_ttl), prompt(created_at=past_ttl, job_id="j-1"),
                prompt()]
        for message in sent:  # prefetch 1, in order: the last image means every prompt was handled
            publish(broker, message)
        images = images_on(broker, tap, 3)
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=20)
    assert sorted(i.prompt_id for i in images) == sorted(str(m.id) for m in sent[1:])
    assert broker.depth(tap) == 0
    assert process.returncode == 0, output


def test_shutdown_cuts_a_retry_waiting_on_retry_after_short_and_keeps_the_prompt(
        broker: Broker, bus_settings: BusSettings, running: Callable[[Bus], Bus]) -> None:
    """A GPU host asking for a minute's patience does not hold up a shutdown: the wait ends at once, and the
    prompt goes back to its queue, neither painted as a poster nor dead-lettered."""
    with StandIn({"/generate": lambda body: (503, {"error": "queue full"}, {"Retry-After": "60"})}) as server:
        bus = Bus("generator", bus_settings)
        backend = ResilientBackend(DallePlaygroundBackend(server.url, timeout_seconds=5, connect_timeout_seconds=1),
                                   "dalle-playground", PosterBackend("JPEG"), attempts=3, backoff_seconds=5,
                                   stop=bus.stopping)
        subscribe(bus, GenerateHandler(backend, bus.settings.prompt_ttl_seconds))
        running(bus)
        publish(broker, prompt())
        wait_for(lambda: server.requests, message="the first try")
        started = time.monotonic()
        bus.stop(10)
        stopped_in = time.monotonic() - started
    assert stopped_in < 3.0, f"shutdown took {stopped_in:.1f} s"
    assert len(server.requests) == 1
    assert broker.depth(broker.topology.prompts.name) == 1  # redelivered to the next generator
    assert broker.depth(broker.topology.dead.name) == 0
