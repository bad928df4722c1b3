"""A cheap fingerprint of a speech segment: its loudness envelope, to tell whether two mics heard the same sound.

Two mics in one room hearing one voice get envelopes of the same shape (louder or quieter, a little later,
smeared by the room); two voices at once at the two ends of a room do not. The similarity is the correlation of
the envelopes and of their changes (onsets), at the best lag within `MAX_LAG_SECONDS`, over the time both heard.
Measured on ../shared/audio/real (29 files, 406 pairs of different recordings, and copies 6 dB quieter, later
by up to 200 ms, with noise and two echoes): different recordings reach at most 0.62, copies at 6 dB and moderate
noise at least 0.74 — so 0.7 separates them, and a copy buried in noise (which scores lower) is kept, not lost.
"""

from __future__ import annotations

from typing import cast

import numpy as np

FRAME_SECONDS = 0.02  # one envelope value per 20 ms
FLOOR_DB = -70  # quieter frames count as this, so digital silence does not dominate the shape
MAX_LAG_SECONDS = 0.24  # clock skew between hosts, device latency and sound travel across a room
MIN_OVERLAP_FRAMES = 25  # half a second heard by both, or no opinion
_FRAME = 320  # samples per frame at 16 kHz


def envelope_db(samples: np.ndarray) -> np.ndarray:
    """RMS level of each 20 ms frame of 16 kHz int16 audio, in whole dBFS from FLOOR_DB to 0."""
    n = len(samples) // _FRAME
    frames = samples[: n * _FRAME].astype(np.float64).reshape(n, _FRAME) / 32768.0
    rms = np.sqrt(np.mean(np.square(frames), axis=1))
    return cast(np.ndarray, np.clip(np.round(20 * np.log10(np.maximum(rms, 1e-10))), FLOOR_DB, 0)
                .astype(np.int16))


def loudness(envelope: np.ndarray) -> float:
    """How well a mic heard a segment: its speech level (90th percentile, dBFS) plus its margin over the
    quietest frames (a crude SNR); the closer mic wins on both. Frames at the floor are digital silence (a gate,
    padding), not the room's noise: counted as noise, a segment's margin would follow how much of it two mics'
    cuts happened to take, not how well they heard."""
    if len(envelope) == 0:
        return float(FLOOR_DB)
    heard = envelope[envelope > FLOOR_DB]
    high = float(np.percentile(envelope, 90))
    low = float(np.percentile(heard, 10)) if len(heard) else float(FLOOR_DB)
    return high + (high - low)


def similarity(a: np.ndarray, a_start: float, b: np.ndarray, b_start: float) -> float:
    """Best correlation of two envelopes that started at `a_start` and `b_start` (epoch seconds), -1 to 1;
    -1 when they overlap too little to say."""
    offset = round((b_start - a_start) / FRAME_SECONDS)  # frame of `a` where `b` begins
    max_lag = round(MAX_LAG_SECONDS / FRAME_SECONDS)
    x_all, y_all = a.astype(np.float64), b.astype(np.float64)
    best = -1.0
    for shift in range(offset - max_lag, offset + max_lag + 1):
        x, y = (x_all[shift:], y_all) if shift >= 0 else (x_all, y_all[-shift:])
        m = min(len(x), len(y))
        if m < MIN_OVERLAP_FRAMES:
            continue
        best = max(best, (_correlation(x[:m], y[:m]) + _correlation(np.diff(x[:m]), np.diff(y[:m]))) / 2)
    return best


def _correlation(x: np.ndarray, y: np.ndarray) -> float:
    sx, sy = x.std(), y.std()
    if sx < 1e-9 or sy < 1e-9:
        return 0.0
    return float(np.mean((x - x.mean()) * (y - y.mean())) / (sx * sy))
