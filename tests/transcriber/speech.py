"""What the recordings say (manifest.tsv) and Whisper's stock phrases: transcription checked as properties.

Another correct CPU may hear a word differently (CTranslate2's int8 kernels differ by instruction set), so tests
bound the word error rate against the reference instead of asserting a model's exact output.
"""

from __future__ import annotations

import csv
from pathlib import Path

from services.transcriber.wer import normalise

# Phrases Whisper invents from its training captions, written out independently of the engine's own list.
STOCK_PHRASES = ("untertitel im auftrag des zdf", "untertitel der amara org community", "vielen dank fürs zuschauen",
                 "subtítulos realizados por la comunidad de amara org", "gracias por ver",
                 "sous titres réalisés par la communauté damara org", "merci davoir regardé",
                 "thank you for watching", "thanks for watching", "thank you very much for watching",
                 "see you in the next video", "please subscribe", "subtitles by", "thank you for your time")


def reference(speech_dir: Path, name: str) -> str:
    with open(speech_dir / "manifest.tsv", newline="") as f:
        return next(row["reference_text"] for row in csv.DictReader(f, delimiter="\t") if row["file"] == name)


def stock_phrases_in(text: str) -> list[str]:
    words = f" {' '.join(normalise(text))} "
    return [phrase for phrase in STOCK_PHRASES if f" {phrase} " in words]
