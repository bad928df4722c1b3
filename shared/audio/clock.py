"""When each sample of a live stream was captured, from the times its blocks arrived.

A block reaches us at or after its capture: later by however long the device, the network or a busy machine held
it, and that delay jitters by hundreds of milliseconds on a loaded box. Stamping each block with its own arrival
makes one mic's clock wander against another's, and the room's mics then no longer agree on when a sound was heard
(`arbiter.py` compares their times). So the stream's clock is counted in samples from an anchor (the capture time
of sample 0), and the anchor is the earliest any recent block implies: delays only ever make a block look later.
"""

from __future__ import annotations

import collections

from shared.messages.audio import SAMPLE_RATE_HZ

WINDOW_SECONDS = 10.0  # of audio: the earliest anchor seen this recently counts (follows clock drift, lost audio)
JUMP_SECONDS = 1.0  # a block this much later than the clock says means samples were lost: start the clock again


class StreamClock:
    def __init__(self, window_seconds: float = WINDOW_SECONDS, jump_seconds: float = JUMP_SECONDS) -> None:
        self._window = round(window_seconds * SAMPLE_RATE_HZ)
        self._jump = jump_seconds
        self._position = 0  # samples stamped so far
        self._anchors: collections.deque[tuple[int, float]] = collections.deque()  # (position, anchor), rising

    def stamp(self, samples: int, arrived_at: float) -> float:
        """The capture time of the first of the next `samples`, whose block implies `arrived_at` (epoch seconds)."""
        position = self._position
        self._position += samples
        anchor = arrived_at - position / SAMPLE_RATE_HZ
        if self._anchors and anchor - self._anchors[0][1] > self._jump:
            self._anchors.clear()
        while self._anchors and self._anchors[-1][1] >= anchor:
            self._anchors.pop()
        self._anchors.append((position, anchor))
        while self._anchors[0][0] < position - self._window:
            self._anchors.popleft()
        return self._anchors[0][1] + position / SAMPLE_RATE_HZ
