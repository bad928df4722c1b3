"""The default engine on real speech, and its guard against text invented on silence and noise."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from services.transcriber.engines import EngineFatalError
from services.transcriber.engines.whisper import FasterWhisperEngine
from shared.audio import decode_audio


def words_of(text: str) -> list[str]:
    return re.sub(r"[^a-z ]", " ", text.lower()).split()


def test_real_speech_becomes_text_with_timed_confident_words(whisper: FasterWhisperEngine, jfk: np.ndarray) -> None:
    heard = whisper.transcribe(jfk)

    assert "ask not what your country can do for you" in " ".join(words_of(heard.text))
    assert heard.language == "en"
    assert [words_of(w.text) for w in heard.words if words_of(w.text)][:3] == [["and"], ["so"], ["my"]]
    starts = [w.start_seconds for w in heard.words]
    assert starts == sorted(starts)
    assert all(w.start_seconds <= w.end_seconds <= len(jfk) / 16000 + 0.1 for w in heard.words)
    assert all(0 <= w.confidence <= 1 for w in heard.words)
    assert np.mean([w.confidence for w in heard.words]) > 0.5


def test_short_tail_after_speech_is_not_filled_with_invented_text(whisper: FasterWhisperEngine,
                                                                  real_audio: Path) -> None:
    # Before the compression-ratio guard, Whisper looped "thank you very much for your time" on this tail.
    heard = whisper.transcribe(decode_audio(real_audio / "speechbrain_spk2_snt2.wav"))

    assert words_of(heard.text) == ["what", "joy", "there", "is", "in", "living"]


def _pink(n: int, rng: np.random.Generator) -> np.ndarray:
    spectrum = np.fft.rfft(rng.standard_normal(n))
    spectrum[1:] /= np.sqrt(np.arange(1, len(spectrum)))
    noise = np.fft.irfft(spectrum, n)
    return noise / np.abs(noise).max()


@pytest.mark.parametrize("kind", ["silence", "white noise", "pink noise", "hum"])
def test_silence_and_noise_produce_no_text(whisper: FasterWhisperEngine, kind: str) -> None:
    rng = np.random.default_rng(7)
    n = 8 * 16000
    samples = {
        "silence": np.zeros(n),
        "white noise": rng.standard_normal(n) * 0.1,
        "pink noise": _pink(n, rng) * 0.3,
        "hum": 0.2 * np.sin(2 * np.pi * 50 * np.arange(n) / 16000),
    }[kind]

    heard = whisper.transcribe((samples * 32767).astype(np.int16))

    assert heard.text == ""
    assert heard.words == ()


def test_a_folder_without_a_model_is_a_clear_fatal_error(tmp_path: Path) -> None:
    with pytest.raises(EngineFatalError, match="not a CTranslate2 model folder"):
        FasterWhisperEngine(str(tmp_path))
