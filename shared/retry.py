"""Retrying, one way for every worker (tenacity underneath): exponential backoff with jitter, a server's
Retry-After honoured over it, a budget of tries and seconds, and a shutdown that cuts a waiting retry short.

An exception asks for its own wait by carrying `retry_after_seconds` (a float, or None for the usual backoff).
"""

from __future__ import annotations

import email.utils
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

import tenacity

T = TypeVar("T")

RetryOn = type[BaseException] | tuple[type[BaseException], ...] | Callable[[BaseException], bool]
OnRetry = Callable[[BaseException, int, float], None]  # the error, failed tries so far (1-based), the wait


class Interrupted(Exception):
    """Shutdown came while a retry was waiting: the caller stops instead of trying again."""


@dataclass(frozen=True)
class Backoff:
    """The wait before retry n (1-based): `first_seconds` doubling up to `max_seconds`; with jitter, a uniform
    draw from the upper half of that, so clients that failed together do not come back together."""

    first_seconds: float
    max_seconds: float = 30.0
    jitter: bool = True

    def delay(self, retry: int) -> float:
        ceiling = min(self.max_seconds, self.first_seconds * 2 ** (retry - 1))
        return random.uniform(ceiling / 2, ceiling) if self.jitter else ceiling


def retry_after_seconds(header: str | None, now: float | None = None) -> float | None:
    """A Retry-After header's wait in seconds (delta-seconds or an HTTP date); None when absent or unreadable."""
    if header is None or not header.strip():
        return None
    try:
        return max(0.0, float(header))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class Retry:
    """A retry policy for one kind of call. Iterate it (`for attempt in policy: with attempt: ...`) or call it
    (`policy(fn, *args)`); what fails for good is raised as it was, a shutdown while waiting as `Interrupted`.

    `attempts` and `within_seconds` bound the tries and the time (a wait that would cross the budget gives up at
    once); None for either means no bound. `healthy()` says the thing works again: the next failure waits the
    first delay again, as after a fresh start.
    """

    def __init__(self, retry_on: RetryOn, backoff: Backoff, attempts: int | None = None,
                 within_seconds: float | None = None, stop: threading.Event | None = None,
                 on_retry: OnRetry | None = None) -> None:
        self._backoff, self._stop, self._on_retry = backoff, stop or threading.Event(), on_retry
        self._count = threading.local()  # each thread's failed tries since its run began or was healthy()
        bounds: list[tenacity.stop.stop_base] = [tenacity.stop_never]
        if attempts is not None:
            bounds.append(tenacity.stop_after_attempt(attempts))
        if within_seconds is not None:
            bounds.append(tenacity.stop_before_delay(within_seconds))
        self._retrying = tenacity.Retrying(retry=_predicate(retry_on), stop=tenacity.stop_any(*bounds),
                                           wait=self._wait, sleep=self._sleep, before_sleep=self._before_sleep,
                                           reraise=True)

    def __iter__(self) -> Iterator[tenacity.AttemptManager]:
        self.healthy()
        return iter(self._retrying)

    def __call__(self, fn: Callable[..., T], *args: object) -> T:
        self.healthy()
        return self._retrying(fn, *args)

    @property
    def tries(self) -> int:
        """This thread's failed tries since its run began or was last healthy()."""
        return int(getattr(self._count, "tries", 0))

    def healthy(self) -> None:
        self._count.tries = 0

    def _wait(self, state: tenacity.RetryCallState) -> float:
        self._count.tries = self.tries + 1
        hint = getattr(_error(state), "retry_after_seconds", None)
        return float(hint) if isinstance(hint, int | float) else self._backoff.delay(self.tries)

    def _before_sleep(self, state: tenacity.RetryCallState) -> None:
        if self._on_retry is not None:
            self._on_retry(_error(state), self.tries, state.upcoming_sleep)

    def _sleep(self, seconds: float) -> None:
        if self._stop.wait(seconds):
            raise Interrupted(f"shutdown while waiting {seconds:.1f} s to retry")


def _predicate(retry_on: RetryOn) -> tenacity.retry_base:
    if isinstance(retry_on, type | tuple):
        return tenacity.retry_if_exception_type(retry_on)
    return tenacity.retry_if_exception(retry_on)


def _error(state: tenacity.RetryCallState) -> BaseException:
    assert state.outcome is not None and state.outcome.failed, "tenacity waits only after a failed try"
    error = state.outcome.exception()
    assert error is not None
    return error
