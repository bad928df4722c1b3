"""The stream clock: one timeline per mic, whatever the delays of the blocks that carry its audio."""

from __future__ import annotations

import pytest

from shared.audio.clock import StreamClock
from shared.messages.audio import SAMPLE_RATE_HZ

BLOCK = 1600  # 100 ms
T0 = 1_000_000.0


def _stamps(clock: StreamClock, delays: list[float], start: int = 0) -> list[float]:
    """Stamp blocks number start.. whose arrivals are late by `delays` seconds."""
    return [clock.stamp(BLOCK, T0 + (start + i) * BLOCK / SAMPLE_RATE_HZ + delay) for i, delay in enumerate(delays)]


def test_blocks_that_arrive_late_keep_their_place_on_the_streams_timeline() -> None:
    clock = StreamClock()
    stamps = _stamps(clock, [0.02, 0.0, 0.6, 0.9, 0.45, 0.3, 0.0, 0.7])  # a busy machine, for most of a second
    assert stamps[1:] == pytest.approx([T0 + i * 0.1 for i in range(1, 8)], abs=1e-6)


def test_a_late_start_is_corrected_once_blocks_arrive_on_time() -> None:
    clock = StreamClock()
    first = _stamps(clock, [0.8] * 5)  # a backlog at the start: every block delivered at once
    on_time = _stamps(clock, [0.0] * 5, start=5)
    assert first[0] == pytest.approx(T0 + 0.8, abs=1e-6)
    assert on_time == pytest.approx([T0 + i * 0.1 for i in range(5, 10)], abs=1e-6)


def test_lost_audio_restarts_the_clock_at_once() -> None:
    """Samples the device dropped never reach the count: blocks then arrive seconds 'late' for good."""
    clock = StreamClock()
    _stamps(clock, [0.0] * 10)
    after_gap = _stamps(clock, [3.0] * 3, start=10)
    assert after_gap == pytest.approx([T0 + 3.0 + i * 0.1 for i in range(10, 13)], abs=1e-6)


def test_a_clock_that_runs_slow_is_followed_within_its_window() -> None:
    """A device clock 0.1 % slow against the system's makes every later block look a little later."""
    clock = StreamClock(window_seconds=10.0)
    drift = [i * BLOCK / SAMPLE_RATE_HZ * 0.001 for i in range(300)]  # 30 s, 30 ms in all
    stamps = _stamps(clock, drift)
    assert abs(stamps[-1] - (T0 + 29.9 + drift[-1])) <= 0.011  # no further behind than 10 s of drift
