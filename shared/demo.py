"""The demo recording: a living-room conversation the project synthesises itself, so no recording is shipped; in
English, German, Spanish or French (`assets/demo-script[.LANG].txt`, two espeak-ng voices of the language)."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
from importlib import resources
from pathlib import Path
from typing import cast

import numpy as np
import soundfile
import soxr

from shared.audio import SAMPLE_RATE_HZ

_LOGGER = logging.getLogger(__name__)

PAUSE_SECONDS = 1.2  # between lines: longer than the capture worker's end-of-utterance silence
# Two voices per language, so it sounds like two people talking.
VOICES = {"en": ("en-us", "en-gb"), "de": ("de", "de+f3"), "es": ("es", "es+f3"), "fr": ("fr", "fr+f3")}
LANGUAGES = tuple(VOICES)


def script_lines(language: str = "en") -> list[str]:
    """The demo's lines in `language` (one of LANGUAGES; ValueError naming them otherwise)."""
    if language not in VOICES:
        raise ValueError(f"the demo speaks {', '.join(LANGUAGES)}, not {language!r}")
    name = "demo-script.txt" if language == "en" else f"demo-script.{language}.txt"
    text = resources.files("shared").joinpath(f"assets/{name}").read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def default_path(language: str = "en") -> Path:
    data_dir = Path(os.environ.get("VOXFRAME_DATA_DIR", "data"))
    return data_dir / "demo" / ("living-room.wav" if language == "en" else f"living-room.{language}.wav")


def speak(line: str, voice: str, speed_wpm: int = 150) -> np.ndarray:
    """One line spoken by espeak-ng as 16 kHz mono int16 (the demo, the benchmarks and tests all talk this way)."""
    espeak = shutil.which("espeak-ng") or shutil.which("espeak")
    if espeak is None:
        raise RuntimeError("synthesising speech needs espeak-ng (apt-get install espeak-ng), or pass --file PATH")
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "line.wav"
        subprocess.run([espeak, "-v", voice, "-s", str(speed_wpm), "-w", str(wav), line],
                       check=True, capture_output=True)
        samples, rate = soundfile.read(wav, dtype="float32", always_2d=True)
    mono = soxr.resample(samples.mean(axis=1), rate, SAMPLE_RATE_HZ)
    return cast(np.ndarray, np.clip(mono * 32767, -32768, 32767).astype(np.int16))


def demo_recording(path: Path | None = None, language: str = "en") -> Path:
    """Return the demo WAV (16 kHz mono) in `language`, synthesising it with espeak-ng the first time."""
    path = path or default_path(language)
    if path.exists():
        return path
    pause = np.zeros(int(PAUSE_SECONDS * SAMPLE_RATE_HZ), dtype=np.int16)
    pieces = [pause]
    voices = VOICES[language]
    for i, line in enumerate(script_lines(language)):
        pieces += [speak(line, voices[i % len(voices)]), pause]
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial.wav")
    soundfile.write(partial, np.concatenate(pieces), SAMPLE_RATE_HZ, subtype="PCM_16")
    partial.replace(path)
    _LOGGER.info("Synthesised the demo recording at %s", path)
    return path
