"""Never worse than the engine it wraps: on each real recording the pipeline's engine makes no more word errors
than bare faster-whisper (beam 5, its own VAD filter, no guards) run on the same CPU, whichever CPU that is."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from faster_whisper import WhisperModel

from services.transcriber.engines.whisper import FasterWhisperEngine, model_directory
from services.transcriber.wer import edit_distance, normalise
from shared.audio import decode_audio, to_float32


@pytest.mark.slow
def test_no_recording_is_heard_worse_than_by_bare_faster_whisper(whisper: FasterWhisperEngine,
                                                                 real_audio: Path) -> None:
    """Property: word errors per file, pipeline <= bare engine (the guards drop only what was not said)."""
    bare = WhisperModel(str(model_directory("tiny.en")), device="cpu", compute_type="int8", local_files_only=True)
    with open(real_audio / "manifest.tsv", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    worse = {}
    for row in rows:
        samples = decode_audio(real_audio / row["file"])
        reference = normalise(row["reference_text"])
        segments, _ = bare.transcribe(to_float32(samples), language="en", beam_size=5, vad_filter=True)
        theirs = edit_distance(reference, normalise(" ".join(s.text for s in segments)))
        ours = edit_distance(reference, normalise(whisper.transcribe(samples).text))
        if ours > theirs:
            worse[row["file"]] = (ours, theirs)

    assert len(rows) >= 20
    assert worse == {}, "files with more word errors than bare faster-whisper (ours, bare)"
