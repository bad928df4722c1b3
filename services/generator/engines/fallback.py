"""A backend around the real one: timeouts become retries with backoff, repeated failure opens a circuit
breaker, and the poster paints instead, so frames never starve while a GPU host is down."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace

from services.generator.engines import NOTHING_TO_DRAW, BackendError, ImageBackend, ImageRequest, Picture
from services.generator.metrics import CIRCUIT_OPEN, FAILURES, FALLBACKS, GENERATION_SECONDS, RETRIES
from shared.retry import Backoff, Retry

_LOGGER = logging.getLogger(__name__)
RETRY_BUDGET_SECONDS = 120.0  # waits between one prompt's tries, at most


class CircuitBreaker:
    """After `threshold` failures in a row, skip the backend for `cooldown_seconds`, then let one call probe it."""

    def __init__(self, backend: str, threshold: int = 3, cooldown_seconds: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.backend, self.threshold, self.cooldown_seconds, self.clock = backend, threshold, cooldown_seconds, clock
        self.failures = 0
        self.opened_at: float | None = None

    @property
    def is_open(self) -> bool:
        return self.opened_at is not None and self.clock() - self.opened_at < self.cooldown_seconds

    def record_success(self) -> None:
        if self.opened_at is not None:
            _LOGGER.info("%s is back: closing the circuit breaker", self.backend)
        self.failures, self.opened_at = 0, None
        CIRCUIT_OPEN.labels(self.backend).set(0)

    def record_failure(self) -> None:
        self.failures += 1
        if self.failures >= self.threshold:
            if not self.is_open:
                _LOGGER.warning("%s failed %d times in a row: poster only for %.0f s", self.backend, self.failures,
                                self.cooldown_seconds)
            self.opened_at = self.clock()  # a failed probe re-opens for another cooldown
            CIRCUIT_OPEN.labels(self.backend).set(1)


class ResilientBackend:
    """`generate` tries `primary` (with retries) unless its breaker is open, then falls back, marking the pictures.

    This is the only place a prompt's backend calls are retried: what it raises is final (`retryable=False`),
    and the handler dead-letters it rather than let the bus run the whole round again.
    """

    def __init__(self, primary: ImageBackend, name: str, fallback: ImageBackend | None = None, attempts: int = 3,
                 backoff_seconds: float = 1.0, breaker: CircuitBreaker | None = None,
                 stop: threading.Event | None = None) -> None:
        self.primary, self.name, self.fallback = primary, name, fallback
        self.attempts = attempts
        self.breaker = breaker or CircuitBreaker(name)
        # Retry-After beyond the budget gives up at once: the poster paints rather than a prompt going stale
        self._retry = Retry(lambda exc: isinstance(exc, BackendError) and exc.retryable,
                            Backoff(backoff_seconds, max_seconds=RETRY_BUDGET_SECONDS), attempts,
                            RETRY_BUDGET_SECONDS, stop, on_retry=self._on_retry)

    def generate(self, request: ImageRequest) -> list[Picture]:
        if self.fallback is None:
            return self._with_retries(request)
        if self.breaker.is_open:
            return self._fall_back(request, "circuit_open")
        try:
            pictures = self._with_retries(request)
        except BackendError as exc:
            if exc.reason != NOTHING_TO_DRAW:  # the prompt's fault, not the backend's: keep the breaker closed
                self.breaker.record_failure()
            _LOGGER.warning("%s failed (%s), painting a poster instead: %s", self.name, exc.reason, exc)
            return self._fall_back(request, exc.reason)
        self.breaker.record_success()
        return pictures

    def _with_retries(self, request: ImageRequest) -> list[Picture]:
        """The primary's pictures, or its last error (made final) once the tries or the budget are spent; a
        shutdown while waiting raises `Interrupted` (the prompt is redelivered, neither a poster nor lost)."""
        tries = 0
        try:
            for attempt in self._retry:
                with attempt:
                    tries = attempt.retry_state.attempt_number
                    started = time.perf_counter()
                    pictures = self._call(request)
                    GENERATION_SECONDS.labels(self.name).observe(time.perf_counter() - started)
                    return pictures[: request.num_images]
        except BackendError as exc:
            raise BackendError(f"{self.name} failed after {tries} tr{'y' if tries == 1 else 'ies'}: {exc}",
                               exc.reason) from exc
        raise AssertionError("tenacity ends a run by returning or raising")

    def _on_retry(self, exc: BaseException, tried: int, delay: float) -> None:
        _LOGGER.info("%s: %s (try %d/%d, again in %.1f s)", self.name, exc, tried, self.attempts, delay)
        RETRIES.labels(self.name).inc()

    def _call(self, request: ImageRequest) -> list[Picture]:
        try:
            return self._checked_call(request)
        except BackendError as exc:
            FAILURES.labels(self.name, exc.reason).inc()
            raise

    def _checked_call(self, request: ImageRequest) -> list[Picture]:
        """One call; whatever goes wrong in it is a `BackendError`, so the poster steps in even for a bug."""
        try:
            pictures = self.primary.generate(request)
        except BackendError:
            raise
        except Exception as exc:
            _LOGGER.exception("%s raised an unexpected error", self.name)
            raise BackendError(f"{self.name}: {type(exc).__name__}: {exc}", reason="error") from exc
        if len(pictures) < request.num_images:
            raise BackendError(f"{self.name} returned {len(pictures)} of {request.num_images} images",
                               reason="bad_response")
        return pictures

    def _fall_back(self, request: ImageRequest, reason: str) -> list[Picture]:
        assert self.fallback is not None
        FALLBACKS.labels(self.name, reason).inc()
        started = time.perf_counter()
        pictures = self.fallback.generate(request)
        GENERATION_SECONDS.labels(pictures[0].backend if pictures else "fallback").observe(
            time.perf_counter() - started)
        return [replace(picture, fallback=True) for picture in pictures]
