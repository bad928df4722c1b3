"""Which mic heard a sound better: the score each mic announces for arbitration."""

from __future__ import annotations

import numpy as np

from shared.audio.fingerprint import envelope_db, loudness
from shared.messages.audio import SAMPLE_RATE_HZ


def _speech_like(seconds: float = 3.0) -> np.ndarray:
    """Syllable-rate bursts of noise over a quiet room (-60 dBFS), as int16."""
    rng = np.random.default_rng(7)
    t = np.arange(int(seconds * SAMPLE_RATE_HZ)) / SAMPLE_RATE_HZ
    bursts = np.clip(np.sin(2 * np.pi * 4 * t), 0, None) * rng.normal(0, 0.1, len(t))
    return np.clip((bursts + rng.normal(0, 0.001, len(t))) * 32767, -32768, 32767).astype(np.int16)


def test_the_louder_copy_wins_however_much_digital_silence_each_cut_took() -> None:
    """Two mics, one 6 dB down, cut the same utterance with different amounts of the silence around it (a gate's
    or a test rig's digital zeros): the nearer mic still scores higher."""
    sound = _speech_like()
    padding = np.zeros(int(0.4 * SAMPLE_RATE_HZ), dtype=np.int16)
    near = sound
    far = np.concatenate([padding, (sound * 0.5).astype(np.int16), padding])
    assert loudness(envelope_db(near)) > loudness(envelope_db(far)) + 3


def test_a_segment_of_digital_silence_only_scores_the_floor() -> None:
    assert loudness(envelope_db(np.zeros(SAMPLE_RATE_HZ, dtype=np.int16))) == -70
