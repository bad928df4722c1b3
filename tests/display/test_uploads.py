"""Upload checking and cutting, on real recordings and the real VAD."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import soundfile

from services.display.jobs.uploads import UploadRejected, job_segments, prepare, sniff
from shared.messages import EndReason


def wav_bytes(samples: np.ndarray, rate: int = 16000) -> bytes:
    out = io.BytesIO()
    soundfile.write(out, samples, rate, format="WAV", subtype="PCM_16")
    return out.getvalue()


def test_content_decides_the_format_not_the_name(speech_dir: Path) -> None:
    assert sniff((speech_dir / "pocketsphinx_goforward.wav").read_bytes()) == "WAV"
    assert sniff(b"fLaC\x00\x00") == "FLAC"
    assert sniff(b"\xff\xfb\x90\x00") == "MP3"
    assert sniff(b"%PDF-1.7 pretending.wav") is None


@pytest.mark.parametrize(("data", "status", "words"), [
    (b"", 400, "empty"),
    (b"hello, I am a text file called speech.wav\n" * 10, 415, "not audio"),
    (b"RIFF\x10\x00\x00\x00WAVEjunkjunkjunk", 415, "cannot be decoded"),
])
def test_bad_files_are_refused_with_a_clear_reason(data: bytes, status: int, words: str) -> None:
    with pytest.raises(UploadRejected) as refused:
        prepare(data, max_seconds=600)
    assert refused.value.status == status and words in str(refused.value)


def test_audio_over_the_duration_limit_is_refused(speech_dir: Path) -> None:
    with pytest.raises(UploadRejected) as refused:
        prepare((speech_dir / "pocketsphinx_goforward.wav").read_bytes(), max_seconds=0.5)
    assert refused.value.status == 413 and "limit is" in str(refused.value)


def test_silence_is_refused_as_having_no_speech() -> None:
    quiet = (np.random.default_rng(1).normal(0, 30, 16000 * 3)).astype(np.int16)
    with pytest.raises(UploadRejected) as refused:
        prepare(wav_bytes(quiet), max_seconds=600)
    assert refused.value.status == 422 and "no speech" in str(refused.value)


def test_speech_becomes_numbered_job_segments_ending_the_input(speech_dir: Path) -> None:
    rate = 16000
    first, _ = soundfile.read(speech_dir / "pocketsphinx_goforward.wav", dtype="int16")
    second, _ = soundfile.read(speech_dir / "speechbrain_spk1_snt1.wav", dtype="int16")
    two_utterances = np.concatenate([first, np.zeros(2 * rate, dtype=np.int16), second])
    upload = prepare(wav_bytes(two_utterances), max_seconds=600)
    segments = job_segments(upload, "job42", "kitchen")
    assert len(segments) >= 2
    assert [s.sequence for s in segments] == list(range(len(segments)))
    assert {(s.job_id, s.room, s.source) for s in segments} == {("job42", "kitchen", "upload")}
    assert segments[-1].end_reason == EndReason.END_OF_INPUT
    assert segments[0].end_reason == EndReason.SILENCE
    assert len({s.trace_id for s in segments}) == 1
    assert sum(s.duration_seconds for s in segments) <= upload.audio_seconds
    again = job_segments(upload, "job42", "kitchen")
    assert [s.id for s in again] == [s.id for s in segments]  # a retried hand-off is deduplicated downstream
