"""Turning any sample rate and channel count into the pipeline's one audio format: 16 kHz mono s16le."""

from __future__ import annotations

from typing import cast

import numpy as np
import soxr

from shared.messages.audio import SAMPLE_RATE_HZ

_INT16_SCALE = 32768.0


def to_int16(samples: np.ndarray) -> np.ndarray:
    """Float samples in [-1, 1] to int16, rounding and clipping (int16 input passes through)."""
    if samples.dtype == np.int16:
        return samples
    return np.clip(np.rint(samples * _INT16_SCALE), -32768, 32767).astype(np.int16)


def to_float32(samples: np.ndarray) -> np.ndarray:
    """int16 to float32 in [-1, 1); exact, so a round trip through `to_int16` returns the same samples."""
    if samples.dtype == np.int16:
        return samples.astype(np.float32) / np.float32(_INT16_SCALE)
    return samples.astype(np.float32, copy=False)


def mix_down(samples: np.ndarray) -> np.ndarray:
    """(frames, channels) to mono float32 by averaging the channels, as ffmpeg's `-ac 1` does."""
    if samples.ndim == 1:
        return to_float32(samples)
    if samples.shape[1] == 1:
        return to_float32(samples[:, 0])
    return cast(np.ndarray, to_float32(samples).mean(axis=1, dtype=np.float32))


def to_pipeline_format(samples: np.ndarray, rate_hz: int) -> np.ndarray:
    """A whole recording (frames or frames × channels, any rate) as 16 kHz mono int16."""
    if rate_hz == SAMPLE_RATE_HZ and samples.dtype == np.int16 and (samples.ndim == 1 or samples.shape[1] == 1):
        return samples.reshape(-1)
    mono = mix_down(samples)
    if rate_hz != SAMPLE_RATE_HZ:
        mono = soxr.resample(mono, rate_hz, SAMPLE_RATE_HZ, quality="HQ")
    return to_int16(mono)


class StreamConverter:
    """Converts consecutive blocks of a live stream; keeps the resampler's state between blocks so the
    joins are seamless (resampling each block on its own would click at every block boundary)."""

    def __init__(self, rate_hz: int, channels: int) -> None:
        if rate_hz <= 0 or channels <= 0:
            raise ValueError(f"need a positive rate and channel count, got {rate_hz} Hz × {channels}")
        self.rate_hz = rate_hz
        self.channels = channels
        self._resampler = (None if rate_hz == SAMPLE_RATE_HZ
                           else soxr.ResampleStream(rate_hz, SAMPLE_RATE_HZ, 1, dtype="float32", quality="HQ"))

    def convert(self, block: np.ndarray, last: bool = False) -> np.ndarray:
        """One block (frames or frames × channels, int16 or float) → 16 kHz mono int16; `last` also returns
        the resampler's held-back tail (for a file's end; a live stream never ends)."""
        if self._resampler is None:
            return to_pipeline_format(block, SAMPLE_RATE_HZ)
        return to_int16(self._resampler.resample_chunk(mix_down(block), last=last))
