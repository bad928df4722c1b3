"""Retries, the circuit breaker and the poster fallback, against servers that are really down or really failing."""

from __future__ import annotations

import time

import pytest
from prometheus_client import REGISTRY

from services.generator.engines import BackendError, ImageRequest
from services.generator.engines.dalle_playground import DallePlaygroundBackend
from services.generator.engines.fallback import CircuitBreaker, ResilientBackend
from services.generator.engines.poster import PosterBackend
from tests.generator.servers import StandIn, closed_port_url, image_b64

REQUEST = ImageRequest("the harbour at night", ("harbour", "night"), "oil painting", width=160, height=90,
                       num_images=2, seed=3)


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def resilient(url: str, **kwargs: object) -> ResilientBackend:
    options = {"attempts": 3, "backoff_seconds": 0.01, **kwargs}
    return ResilientBackend(DallePlaygroundBackend(url, timeout_seconds=5, connect_timeout_seconds=1),
                            "dalle-playground", PosterBackend("JPEG"), **options)  # type: ignore[arg-type]


def images(count: int) -> tuple[int, object]:
    return 200, {"generatedImgs": [image_b64("PNG", (160, 90))] * count, "generatedImgsFormat": "png"}


def test_backend_that_is_down_falls_back_to_posters_after_retries() -> None:
    failures = metric("voxframe_generator_failures_total", backend="dalle-playground", reason="unavailable")
    fallbacks = metric("voxframe_generator_fallbacks_total", backend="dalle-playground", reason="unavailable")
    retries = metric("voxframe_generator_retries_total", backend="dalle-playground")
    pictures = resilient(closed_port_url()).generate(REQUEST)
    assert [(p.backend, p.fallback, p.width, p.height) for p in pictures] == [("poster", True, 160, 90)] * 2
    assert metric("voxframe_generator_failures_total", backend="dalle-playground", reason="unavailable") \
        == failures + 3
    assert metric("voxframe_generator_retries_total", backend="dalle-playground") == retries + 2
    assert metric("voxframe_generator_fallbacks_total", backend="dalle-playground", reason="unavailable") \
        == fallbacks + 1


def test_server_answering_500_is_tried_again_then_replaced_by_a_poster() -> None:
    with StandIn({"/generate": lambda body: (500, {"error": "CUDA error: device-side assert"})}) as server:
        pictures = resilient(server.url).generate(REQUEST)
    assert len(server.requests) == 3
    assert all(p.fallback and p.backend == "poster" for p in pictures)


def test_a_busy_server_is_asked_again_after_its_retry_after_not_the_backoff() -> None:
    answers = iter([(503, {"error": "queue full"}, {"Retry-After": "1"})])
    with StandIn({"/generate": lambda body: next(answers, images(2))}) as server:
        started = time.monotonic()
        pictures = resilient(server.url, backoff_seconds=0.001).generate(REQUEST)
        waited = time.monotonic() - started
    assert len(server.requests) == 2 and not any(p.fallback for p in pictures)
    assert waited >= 0.95  # as the server asked; the 1 ms backoff alone took a few ms (and 503s again)


def test_client_errors_are_not_retried() -> None:
    with StandIn({"/generate": lambda body: (400, {"error": "bad text"})}) as server:
        pictures = resilient(server.url).generate(REQUEST)
    assert len(server.requests) == 1
    assert pictures[0].fallback


def test_fewer_images_than_asked_for_is_a_failure() -> None:
    with StandIn({"/generate": lambda body: images(1)}) as server:
        pictures = resilient(server.url, attempts=1).generate(REQUEST)
    assert len(pictures) == 2 and all(p.fallback for p in pictures)


def test_breaker_opens_after_repeated_failures_and_closes_when_a_probe_succeeds() -> None:
    now = [1000.0]
    breaker = CircuitBreaker("dalle-playground", threshold=2, cooldown_seconds=30, clock=lambda: now[0])
    routes = {"/generate": lambda body: (503, {"error": "overloaded"})}
    with StandIn(routes) as server:
        backend = resilient(server.url, attempts=1, breaker=breaker)
        backend.generate(REQUEST)
        backend.generate(REQUEST)
        assert breaker.is_open
        assert metric("voxframe_generator_circuit_open", backend="dalle-playground") == 1
        calls = len(server.requests)
        skipped = backend.generate(REQUEST)
        assert len(server.requests) == calls  # the open breaker kept the call away from the server
        assert all(p.fallback for p in skipped)

        routes["/generate"] = lambda body: images(body["num_images"])
        now[0] += 31
        recovered = backend.generate(REQUEST)
    assert len(server.requests) == calls + 1
    assert [(p.backend, p.fallback) for p in recovered] == [("dalle-playground", False)] * 2
    assert not breaker.is_open
    assert metric("voxframe_generator_circuit_open", backend="dalle-playground") == 0


def test_a_failed_probe_reopens_the_breaker() -> None:
    now = [0.0]
    breaker = CircuitBreaker("dalle-playground", threshold=1, cooldown_seconds=10, clock=lambda: now[0])
    with StandIn({"/generate": lambda body: (500, {})}) as server:
        backend = resilient(server.url, attempts=1, breaker=breaker)
        backend.generate(REQUEST)
        now[0] = 11
        assert not breaker.is_open
        backend.generate(REQUEST)  # the probe fails
        now[0] = 15
        assert breaker.is_open
    assert len(server.requests) == 2


def test_without_a_fallback_the_error_reaches_the_caller() -> None:
    backend = ResilientBackend(DallePlaygroundBackend(closed_port_url(), connect_timeout_seconds=1),
                               "dalle-playground", None, attempts=2, backoff_seconds=0.01)
    with pytest.raises(BackendError, match="cannot reach"):
        backend.generate(REQUEST)


def test_successful_calls_are_timed_by_backend() -> None:
    before = metric("voxframe_generator_generation_seconds_count", backend="dalle-playground")
    with StandIn({"/generate": lambda body: images(body["num_images"])}) as server:
        pictures = resilient(server.url).generate(REQUEST)
    assert not any(p.fallback for p in pictures)
    assert metric("voxframe_generator_generation_seconds_count", backend="dalle-playground") == before + 1
