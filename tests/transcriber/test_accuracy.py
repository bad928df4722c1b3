"""Never worse than the engine it wraps: on each real recording, and on all of them joined and cut at pauses as a
live mic is, the pipeline's engine makes no more word errors than bare faster-whisper (beam 5, its own VAD filter,
no guards) run on the same CPU, whichever CPU that is."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from faster_whisper import WhisperModel

from services.transcriber.engines.whisper import FasterWhisperEngine, model_directory
from services.transcriber.wer import edit_distance, normalise
from shared.audio import SegmenterOptions, decode_audio, segment_file, to_float32


def bare_engine() -> WhisperModel:
    return WhisperModel(str(model_directory("tiny.en")), device="cpu", compute_type="int8", local_files_only=True)


def manifest(speech_dir: Path) -> list[dict[str, str]]:
    with open(speech_dir / "manifest.tsv", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


@pytest.mark.slow
def test_no_recording_is_heard_worse_than_by_bare_faster_whisper(whisper: FasterWhisperEngine,
                                                                 speech_dir: Path) -> None:
    """Property: word errors per file, pipeline <= bare engine (the guards drop only what was not said)."""
    bare = bare_engine()
    rows = manifest(speech_dir)
    worse = {}
    for row in rows:
        samples = decode_audio(speech_dir / row["file"])
        reference = normalise(row["reference_text"])
        segments, _ = bare.transcribe(to_float32(samples), language="en", beam_size=5, vad_filter=True)
        theirs = edit_distance(reference, normalise(" ".join(s.text for s in segments)))
        ours = edit_distance(reference, normalise(whisper.transcribe(samples).text))
        if ours > theirs:
            worse[row["file"]] = (ours, theirs)

    assert len(rows) >= 20
    assert worse == {}, "files with more word errors than bare faster-whisper (ours, bare)"


@pytest.mark.slow
def test_the_recordings_streamed_are_heard_no_worse_than_by_bare_faster_whisper(whisper: FasterWhisperEngine,
                                                                                speech_dir: Path) -> None:
    """Property: joined and cut at pauses (bench/stt.py's stream pass), the pipeline makes no more word errors than
    the bare engine. Streamed, short segments fall between pauses ("one," of "one, two, three"), and one that the
    word alignment squeezes into no time must not be lost while the bare engine, without word times, keeps it."""
    rows = manifest(speech_dir)
    cut = segment_file(np.concatenate([decode_audio(speech_dir / row["file"]) for row in rows]), SegmenterOptions())
    bare = bare_engine()
    theirs, ours = [], []
    for piece in cut:
        segments, _ = bare.transcribe(to_float32(piece.samples), language="en", beam_size=5, vad_filter=True)
        theirs.append(" ".join(s.text.strip() for s in segments))
        ours.append(whisper.transcribe(piece.samples).text)
    reference = normalise(" ".join(row["reference_text"] for row in rows))

    assert len(cut) >= 5
    assert edit_distance(reference, normalise(" ".join(ours))) <= edit_distance(reference, normalise(" ".join(theirs)))
