"""Real conversation is heard whole: on meetings and a phone call (../shared/audio/conversation: AMI Meeting Corpus,
AMI Consortium, CC BY 4.0, and pyannote-audio's sample call), people overlapping, hesitating, speaking quietly or
down a phone line, the pipeline loses no more words than bare faster-whisper on the same CPU, whether a file is
transcribed as `voxframe transcribe` and an upload do or cut at pauses as a live mic is. Without those recordings
(a fresh clone) the same property is checked on stand-ins: espeak-ng voices taking turns in a room, some quiet, some
overlapping (tests/speech.py; pytest's header names which)."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import numpy as np
import pytest
from faster_whisper import WhisperModel

from services.transcriber.engines import Recognition
from services.transcriber.engines.whisper import FasterWhisperEngine
from services.transcriber.long import transcribe_long
from services.transcriber.wer import Errors, errors
from shared.audio import SAMPLE_RATE_HZ, decode_audio, segment_file, to_float32
from shared.audio.pieces import MAX_PIECE_SECONDS
from tests.speech import conversation_source
from tests.transcriber.test_accuracy import bare_engine

UNORDERED = "ami_es2002a_"  # their references give one speaker's words, then the other's: scored as bags of words


def bare_heard(bare: WhisperModel, samples: np.ndarray) -> str:
    """What `WhisperModel.transcribe` hears in `samples` with its default options."""
    segments, _ = bare.transcribe(to_float32(samples), language="en")
    return " ".join(s.text for s in segments)


_HEARD_LONG: dict[str, tuple[Recognition, int]] = {}


def heard_long(whisper: FasterWhisperEngine, samples: np.ndarray) -> tuple[Recognition, int]:
    """`transcribe_long`, once per recording for both tests here (each pass over the meeting costs seconds of CPU)."""
    key = hashlib.sha256(samples.tobytes()).hexdigest()
    if key not in _HEARD_LONG:
        _HEARD_LONG[key] = transcribe_long(whisper, samples)
    return _HEARD_LONG[key]


def totals(counted: list[Errors]) -> tuple[float, int]:
    """WER and deletions over all files."""
    return sum(e.total for e in counted) / sum(e.words for e in counted), sum(e.deletions for e in counted)


@pytest.mark.slow
def test_conversation_loses_no_more_words_than_bare_faster_whisper(whisper: FasterWhisperEngine,
                                                                   conversation_audio: Path) -> None:
    """Property, per path, against `WhisperModel.transcribe` with its default options on the whole file: WER within
    0.01 and deletions within 5 % (one word of slack for another CPU's rounding). Per file, no more word errors than
    the bare engine makes on the same audio (the whole file for `transcribe`, the same segments for `segmented`: how
    tiny.en hears a segment alone is the cutter's, not the guards') beyond one word and 3 % of the file's words.
    That slack is another CPU's: with CTranslate2's generic kernels instead of AVX2 the bare engine's errors on the
    phone call went from 13 to 10 and ours on the meeting's segments from 40 to 37. The guards once dropped whole
    sentences here (WER 0.39 against 0.21, 144 deletions against 57)."""
    with open(conversation_audio / "manifest.tsv", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    bare = bare_engine()
    counted: dict[str, list[Errors]] = {"bare": [], "bare segmented": [], "transcribe": [], "segmented": []}
    for row in rows:
        samples = decode_audio(conversation_audio / row["file"])
        cuts = [s.samples for s in segment_file(samples)]
        heard = {
            "bare": bare_heard(bare, samples),
            "bare segmented": " ".join(bare_heard(bare, cut) for cut in cuts),
            "transcribe": heard_long(whisper, samples)[0].text,
            "segmented": " ".join(whisper.transcribe(cut).text for cut in cuts),
        }
        for path, text in heard.items():
            counted[path].append(errors(row["reference_text"], text, ordered=not row["file"].startswith(UNORDERED)))

    assert rows, f"no recordings in {conversation_audio}"
    bare_wer, bare_deleted = totals(counted["bare"])
    heard_on = conversation_source()
    for path, same_audio in (("transcribe", "bare"), ("segmented", "bare segmented")):
        wer, deleted = totals(counted[path])
        assert wer <= bare_wer + 0.01, (path, wer, bare_wer, heard_on)
        assert deleted <= bare_deleted * 1.05 + 1, (path, deleted, bare_deleted, heard_on)
        worse = {row["file"]: (ours.total, theirs.total)
                 for row, ours, theirs in zip(rows, counted[path], counted[same_audio], strict=True)
                 if ours.total > theirs.total + 1 + 0.03 * theirs.words}
        assert worse == {}, f"{path}: files with more word errors than {same_audio} (ours, bare) in {heard_on}"


@pytest.mark.slow
def test_a_long_recording_loses_no_words_at_its_cuts(whisper: FasterWhisperEngine, conversation_audio: Path) -> None:
    """Property: `voxframe transcribe` cuts a recording longer than a piece holds (25 s), and hears it as well as the
    same engine hears it whole (deletions within one word, for another CPU's rounding). Each recording over the
    piece is checked; where none is (the stand-ins), all of them joined are. Cutting without context lost the
    words a piece ended on: 34 deletions against 29 on the 60 s meeting ("…sound or options kind of" came out
    "…sound or")."""
    with open(conversation_audio / "manifest.tsv", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    recordings = [(row["file"], decode_audio(conversation_audio / row["file"]), row["reference_text"])
                  for row in rows]
    longest = MAX_PIECE_SECONDS * SAMPLE_RATE_HZ
    long = [r for r in recordings if len(r[1]) > longest and not r[0].startswith(UNORDERED)] or [
        ("all joined", np.concatenate([s for _, s, _ in recordings]), " ".join(t for _, _, t in recordings))]
    for name, samples, reference in long:
        cut, pieces = heard_long(whisper, samples)
        whole = whisper.transcribe(samples)
        assert pieces >= 2, (name, pieces)
        lost, lost_whole = errors(reference, cut.text).deletions, errors(reference, whole.text).deletions
        assert lost <= lost_whole * 1.05 + 1, (name, lost, lost_whole, cut.text, conversation_source())
