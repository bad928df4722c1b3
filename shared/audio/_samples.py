"""A growable window on a stream's recent samples, addressed by absolute sample offset."""

from __future__ import annotations

import numpy as np

from shared.messages.audio import SAMPLE_RATE_HZ


class SampleBuffer:
    """Append at the end, forget from the front, slice anywhere in between; amortised O(1) appends."""

    def __init__(self, start: int = 0) -> None:
        self._data = np.zeros(SAMPLE_RATE_HZ, dtype=np.int16)  # a second's room to start
        self._head = 0  # index in _data of offset `start`
        self._size = 0
        self.start = start

    @property
    def end(self) -> int:
        return self.start + self._size

    def append(self, samples: np.ndarray) -> None:
        needed = self._size + len(samples)
        if self._head + needed > len(self._data):
            capacity = max(len(self._data), 2 * needed)
            grown = np.empty(capacity, dtype=np.int16) if capacity > len(self._data) else self._data
            grown[:self._size] = self._data[self._head:self._head + self._size]
            self._data, self._head = grown, 0
        self._data[self._head + self._size:self._head + needed] = samples
        self._size = needed

    def slice(self, begin: int, end: int) -> np.ndarray:
        """A copy of samples [begin, end) in stream offsets."""
        if not self.start <= begin <= end <= self.end:
            raise IndexError(f"[{begin}, {end}) is outside the buffered [{self.start}, {self.end})")
        return self._data[self._head + begin - self.start:self._head + end - self.start].copy()

    def forget_before(self, offset: int) -> None:
        drop = min(max(0, offset - self.start), self._size)
        self._head += drop
        self._size -= drop
        self.start += drop

    def clear(self, offset: int) -> None:
        """Forget everything; the next appended sample has stream offset `offset`."""
        self._head = self._size = 0
        self.start = offset
