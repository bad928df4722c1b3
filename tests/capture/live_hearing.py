"""Recordings played one after another into a real microphone (a PulseAudio pipe source) that `voxframe capture`
listens to, and the AudioSegments it cuts, each placed back in the recording it came from.

The capture publishes each segment's samples bit for bit (tests/capture/test_microphone.py), so a segment is
found in what was played by its samples: no clock is trusted. A read recording played last marks the end: once
its segment arrives, every segment before it has (a mic publishes in order).
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from shared.audio import SAMPLE_RATE_HZ
from shared.bus import Bus
from shared.config import BusSettings
from shared.messages import AudioSegment
from tests.capture.conftest import PULSE_MIC_ARGS, CaptureProcess, messages, opened
from tests.capture.pulse import VirtualMic
from tests.support import AMQP_URL, Broker, wait_for

GAP_SAMPLES = 2 * SAMPLE_RATE_HZ  # silence between recordings: longer than any pause that ends a segment (0.8 s, 1.2 s)
# The pipe is fed this many times faster than real time: the capture's segments are bit-exact slices of what was played
# whatever the pace (each is located by its samples), and three conversation files and a marker were cut into the same
# segments, at the same offsets, at 1x, 4x and 8x (load 8); 4x leaves a slower machine room to keep up.
PLAYBACK_SPEED = 4.0
_PROBE = 64  # samples compared to find a segment in what was played


@dataclass(frozen=True)
class LiveCut:
    """One segment the live cutter made, and the sample of its recording where it starts (negative: before)."""

    start: int
    segment: AudioSegment

    @property
    def end(self) -> int:
        return self.start + len(self.segment.pcm) // 2

    def seconds(self) -> tuple[float, float]:
        return self.start / SAMPLE_RATE_HZ, self.end / SAMPLE_RATE_HZ


def played(recordings: list[np.ndarray]) -> tuple[np.ndarray, list[int]]:
    """The recordings with GAP_SAMPLES of silence before each and after the last, and where each starts."""
    gap = np.zeros(GAP_SAMPLES, np.int16)
    offsets, pieces, at = [], [], 0
    for recording in recordings:
        pieces += [gap, recording]
        offsets.append(at + GAP_SAMPLES)
        at += GAP_SAMPLES + len(recording)
    return np.concatenate([*pieces, gap]), offsets


def located(segment: AudioSegment, stream: np.ndarray) -> int:
    """Where the segment's samples start in `stream` (they are a slice of it)."""
    pcm = np.frombuffer(segment.pcm, dtype="<i2")
    k = min(int(np.argmax(np.abs(pcm))), max(0, len(pcm) - _PROBE))
    probe = pcm[k:k + _PROBE]
    for candidate in np.flatnonzero(stream == probe[0]):
        if np.array_equal(stream[candidate:candidate + len(probe)], probe):
            start = int(candidate) - k
            if np.array_equal(stream[max(0, start):start + len(pcm)], pcm[max(0, -start):]):
                return start
    raise AssertionError(f"segment #{segment.sequence} ({len(pcm)} samples) is not a slice of what was played")


def cuts_heard_live(mic: VirtualMic, broker: Broker, tap: str, recordings: list[np.ndarray],
                    marker: np.ndarray) -> list[list[LiveCut]]:
    """Play `recordings` then `marker` into `mic` (PLAYBACK_SPEED times faster than real time); each recording's
    segments, as the capture listening to `mic` (publishing into `tap`) cut them."""
    stream, offsets = played([*recordings, marker])
    mic.speed = PLAYBACK_SPEED
    mic.play(stream)
    found: list[tuple[int, AudioSegment]] = []

    def through_marker() -> bool:
        found.extend((located(m, stream), m) for m in messages(broker, tap) if isinstance(m, AudioSegment))
        return any(start + len(m.pcm) // 2 > offsets[-1] for start, m in found)

    wait_for(through_marker, timeout=len(stream) / SAMPLE_RATE_HZ + 60, message="the marker's segment")
    mic.speed = 1.0
    per_recording: list[list[LiveCut]] = [[] for _ in recordings]
    for start, segment in found:
        overlaps = [min(start + len(segment.pcm) // 2, at + len(r)) - max(start, at)
                    for at, r in zip(offsets, recordings, strict=False)]
        best = int(np.argmax(overlaps))
        if overlaps[best] > 0:
            per_recording[best].append(LiveCut(start - offsets[best], segment))
    return per_recording


def cuts_on_a_fresh_mic(recordings: list[np.ndarray], marker: np.ndarray) -> list[list[LiveCut]]:
    """For the benchmark, outside pytest: `cuts_heard_live` on a mic, broker namespace and capture of its own,
    made for this call and removed after it."""
    with tempfile.TemporaryDirectory(prefix="voxframe-live-") as folder, live_microphone(Path(folder)) as hear:
        return hear(recordings, marker)


@contextmanager
def live_microphone(folder: Path) -> Iterator[Callable[[list[np.ndarray], np.ndarray], list[list[LiveCut]]]]:
    """A broker namespace of its own, a PulseAudio mic in `folder`, `voxframe capture` on it; yields
    `cuts_heard_live` bound to them."""
    settings = BusSettings(amqp_url=AMQP_URL, namespace=f"bench-live-{uuid.uuid4().hex[:6]}")
    declarer = Bus("bench-live", settings)
    declarer.start()
    declarer.wait_connected(10)
    declarer.stop(10)
    broker, mic = Broker(settings), VirtualMic(folder / "pulse")
    capture = None
    try:
        mic.start()
        mic.plug()
        capture = opened(CaptureProcess(list(PULSE_MIC_ARGS), settings, folder / "capture.log", mic.env))
        tap = broker.tap("audio.#")
        yield lambda recordings, marker: cuts_heard_live(mic, broker, tap, recordings, marker)
    finally:
        if capture is not None:
            capture.stop()
        mic.close()
        broker.cleanup()
