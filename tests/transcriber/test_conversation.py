"""Real conversation is heard whole: on meetings and a phone call (../shared/audio/conversation: AMI Meeting Corpus,
AMI Consortium, CC BY 4.0, and pyannote-audio's sample call), people overlapping, hesitating, speaking quietly or
down a phone line, the pipeline loses no more words than bare faster-whisper on the same CPU, whether a file is
transcribed as `voxframe transcribe` and an upload do or cut at pauses as a live mic is. Without those recordings
(a fresh clone) the same property is checked on stand-ins: espeak-ng voices taking turns in a room, some quiet, some
overlapping (tests/speech.py; pytest's header names which)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from services.transcriber.engines.whisper import FasterWhisperEngine
from services.transcriber.long import transcribe_long
from services.transcriber.wer import Errors, errors
from shared.audio import SAMPLE_RATE_HZ, SegmenterOptions, decode_audio, segment_file, to_float32
from tests.speech import conversation_source
from tests.transcriber.test_accuracy import bare_engine

UNORDERED = "ami_es2002a_"  # their references give one speaker's words, then the other's: scored as bags of words


def totals(counted: list[Errors]) -> tuple[float, int]:
    """WER and deletions over all files."""
    return sum(e.total for e in counted) / sum(e.words for e in counted), sum(e.deletions for e in counted)


@pytest.mark.slow
def test_conversation_loses_no_more_words_than_bare_faster_whisper(whisper: FasterWhisperEngine,
                                                                   conversation_audio: Path) -> None:
    """Property, per path, against `WhisperModel.transcribe` with its default options: WER within 0.01 and
    deletions within 5 % (one word of slack for another CPU's rounding), and no file with more than one word error
    beyond the bare engine's. The guards once dropped whole sentences here (WER 0.39 against 0.21, 144 deletions
    against 57)."""
    with open(conversation_audio / "manifest.tsv", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    bare = bare_engine()
    counted: dict[str, list[Errors]] = {"bare": [], "transcribe": [], "segmented": []}
    for row in rows:
        samples = decode_audio(conversation_audio / row["file"])
        segments, _ = bare.transcribe(to_float32(samples), language="en")
        heard = {
            "bare": " ".join(s.text for s in segments),
            "transcribe": transcribe_long(whisper, samples)[0].text,
            "segmented": " ".join(whisper.transcribe(s.samples).text for s in segment_file(samples)),
        }
        for path, text in heard.items():
            counted[path].append(errors(row["reference_text"], text, ordered=not row["file"].startswith(UNORDERED)))

    assert rows, f"no recordings in {conversation_audio}"
    bare_wer, bare_deleted = totals(counted["bare"])
    for path in ("transcribe", "segmented"):
        wer, deleted = totals(counted[path])
        heard_on = conversation_source()
        assert wer <= bare_wer + 0.01, (path, wer, bare_wer, heard_on)
        assert deleted <= bare_deleted * 1.05 + 1, (path, deleted, bare_deleted, heard_on)
        worse = {row["file"]: (ours.total, theirs.total)
                 for row, ours, theirs in zip(rows, counted[path], counted["bare"], strict=True)
                 if ours.total > theirs.total + 1}
        assert worse == {}, f"{path}: files with more word errors than bare faster-whisper (ours, bare) in {heard_on}"


@pytest.mark.slow
def test_a_long_recording_loses_no_words_at_its_cuts(whisper: FasterWhisperEngine, conversation_audio: Path) -> None:
    """Property: `voxframe transcribe` cuts a recording longer than one segment, and hears it as well as the same
    engine hears it whole (deletions within one word, for another CPU's rounding). Each recording over a segment's
    length is checked; where none is (the stand-ins), all of them joined are. Cutting without context lost the
    words a piece ended on: 34 deletions against 29 on the 60 s meeting ("…sound or options kind of" came out
    "…sound or")."""
    with open(conversation_audio / "manifest.tsv", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    recordings = [(row["file"], decode_audio(conversation_audio / row["file"]), row["reference_text"])
                  for row in rows]
    longest = SegmenterOptions().max_segment_s * SAMPLE_RATE_HZ
    long = [r for r in recordings if len(r[1]) > longest and not r[0].startswith(UNORDERED)] or [
        ("all joined", np.concatenate([s for _, s, _ in recordings]), " ".join(t for _, _, t in recordings))]
    for name, samples, reference in long:
        cut, pieces = transcribe_long(whisper, samples)
        whole = whisper.transcribe(samples)
        assert pieces >= 2, (name, pieces)
        lost, lost_whole = errors(reference, cut.text).deletions, errors(reference, whole.text).deletions
        assert lost <= lost_whole * 1.05 + 1, (name, lost, lost_whole, cut.text, conversation_source())
