"""An independent, deliberately simple notion of where speech is, to measure the VAD's boundaries against."""

from __future__ import annotations

import numpy as np

FRAME_SAMPLES = 160  # 10 ms at 16 kHz


def speech_bounds(samples: np.ndarray, below_peak_db: float = 35.0, floor_dbfs: float = -55.0) -> tuple[int, int]:
    """First and last sample of the 10 ms frames within `below_peak_db` of the loudest frame.

    Good enough for one clean utterance per recording (tests/speech.py: the real ones or their stand-ins); not a VAD.
    """
    count = len(samples) // FRAME_SAMPLES
    frames = samples[:count * FRAME_SAMPLES].astype(np.float64).reshape(count, FRAME_SAMPLES)
    level = 10 * np.log10(np.mean(frames**2, axis=1) / 32768**2 + 1e-12)
    loud = np.flatnonzero(level >= max(level.max() - below_peak_db, floor_dbfs))
    return int(loud[0]) * FRAME_SAMPLES, (int(loud[-1]) + 1) * FRAME_SAMPLES
