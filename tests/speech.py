"""The speech the tests hear: the real recordings beside the checkout when they are there (CI has them), else
stand-ins the project makes itself, so a fresh clone tests itself.

Each recording of `../shared/audio/real` (`VOXFRAME_TEST_SPEECH_DIR` points elsewhere) has a stand-in of the same
name saying the same words (`tests/data/speech_stand_ins.tsv`, with the manifest's columns `file` and
`reference_text`; one sentence that tiny.en mishears in every espeak-ng voice is another of its length): an
espeak-ng voice (four of them, men's and women's, American and British) in a small room — a reverberant tail and
pink noise 35 dB below the speech, seeded per file, so every machine makes the same samples. They are made once
into the temp dir and reused.

Conversation (`../shared/audio/conversation` beside it: meetings and a phone call) has stand-ins the same way: a few
talks of espeak-ng voices taking turns, some quieter, some overlapping, in one room
(`tests/data/conversation_stand_ins.tsv`, one row per turn).
"""

from __future__ import annotations

import csv
import functools
import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile

from shared.audio import SAMPLE_RATE_HZ
from shared.demo import speak

REPO = Path(__file__).resolve().parents[1]
REAL = Path(os.environ.get("VOXFRAME_TEST_SPEECH_DIR") or REPO.parent / "shared" / "audio" / "real")
CONVERSATION = REAL.parent / "conversation"  # meetings and a phone call; hidden with the read speech by the override
STAND_INS = Path(__file__).resolve().parent / "data" / "speech_stand_ins.tsv"
CONVERSATION_STAND_INS = Path(__file__).resolve().parent / "data" / "conversation_stand_ins.tsv"
SPEED_WPM = 140
REVERB_SECONDS = 0.25  # RT60 of a living room
SNR_DB = 35.0
LEAD_SAMPLES = int(0.5 * SAMPLE_RATE_HZ)  # a recording starts before anyone speaks
TAIL_SAMPLES = int(0.15 * SAMPLE_RATE_HZ)  # silence after the last word, as a recording has; the reverb rings into it
FRAME = SAMPLE_RATE_HZ // 100


@dataclass(frozen=True)
class Speech:
    """A folder of 16 kHz WAVs and their `manifest.tsv` (`file`, `reference_text`), and what they are."""

    path: Path
    source: str


def source() -> str:
    """Which speech this run hears (named in pytest's header), without making any."""
    if (REAL / "manifest.tsv").exists():
        return f"real recordings in {REAL}"
    return (f"stand-ins synthesised by espeak-ng ({', '.join(sorted({r['voice'] for r in _script()}))}) in a "
            f"room (reverb {REVERB_SECONDS} s, noise -{SNR_DB:.0f} dB), as no recordings are in {REAL}")


@functools.cache
def speech() -> Speech:
    if (REAL / "manifest.tsv").exists():
        return Speech(REAL, source())
    return Speech(_stand_ins(), source())


def conversation_source() -> str:
    """Which conversation this run hears, without making any."""
    if (CONVERSATION / "manifest.tsv").exists():
        return f"real conversation in {CONVERSATION}"
    return (f"stand-in conversations: espeak-ng voices taking turns (some 6-12 dB quieter, some overlapping) in a "
            f"room (reverb {REVERB_SECONDS} s, noise -{SNR_DB:.0f} dB), as no recordings are in {CONVERSATION}")


@functools.cache
def conversation() -> Speech:
    """Multi-speaker talk with `manifest.tsv` (`file`, `reference_text`): the real set, else stand-ins."""
    if (CONVERSATION / "manifest.tsv").exists():
        return Speech(CONVERSATION, conversation_source())
    return Speech(_made("conversation", CONVERSATION_STAND_INS, _write_conversations), conversation_source())


def _script(table: Path = STAND_INS) -> list[dict[str, str]]:
    with open(table, newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def _stand_ins() -> Path:
    return _made("speech", STAND_INS, _write_lines)


def _made(kind: str, table: Path, write: Callable[[Path, Path], None]) -> Path:
    """The folder `write` fills from `table`, made once per recipe into the temp dir and reused."""
    recipe = table.read_bytes() + Path(__file__).read_bytes()
    folder = Path(tempfile.gettempdir()) / f"voxframe-test-{kind}-{hashlib.sha256(recipe).hexdigest()[:12]}"
    if (folder / "manifest.tsv").exists():
        return folder
    making = Path(tempfile.mkdtemp(prefix=folder.name + "."))
    write(table, making)
    try:
        making.rename(folder)
    except OSError:  # another run made it first
        shutil.rmtree(making)
    return folder


def _write_lines(table: Path, folder: Path) -> None:
    for seed, row in enumerate(_script(table)):
        said = trimmed(speak(row["reference_text"], row["voice"], SPEED_WPM))
        lead = np.zeros(int(float(row["lead_seconds"]) * SAMPLE_RATE_HZ), np.int16)
        spoken = in_a_room(np.concatenate([lead, said, np.zeros(TAIL_SAMPLES, np.int16)]), seed)
        soundfile.write(folder / row["file"], spoken, SAMPLE_RATE_HZ, subtype="PCM_16")
    shutil.copyfile(table, folder / "manifest.tsv")


def _write_conversations(table: Path, folder: Path) -> None:
    """Each file's turns taking turns (`taking_turns`), the whole in one room; the manifest's reference is the
    turns' words in order."""
    turns: dict[str, list[dict[str, str]]] = {}
    for row in _script(table):
        turns.setdefault(row["file"], []).append(row)
    with open(folder / "manifest.tsv", "w", newline="") as f:
        manifest = csv.writer(f, delimiter="\t", lineterminator="\n")
        manifest.writerow(["file", "reference_text"])
        for seed, (name, rows) in enumerate(turns.items()):
            said = [Turn(row["voice"], float(row["gap_seconds"]), float(row["gain_db"]), row["text"]) for row in rows]
            soundfile.write(folder / name, in_a_room(taking_turns(said), seed), SAMPLE_RATE_HZ, subtype="PCM_16")
            manifest.writerow([name, " ".join(row["text"] for row in rows)])


@dataclass(frozen=True)
class Turn:
    """One speaker's turn: `gap_seconds` after the last turn ended (negative overlaps it), at `gain_db`."""

    voice: str
    gap_seconds: float
    gain_db: float
    text: str


def taking_turns(turns: list[Turn]) -> np.ndarray:
    """The turns spoken one after another after half a second of room tone, dry, peak at half scale (int16)."""
    placed, end = [], LEAD_SAMPLES
    for turn in turns:
        said = trimmed(speak(turn.text, turn.voice, SPEED_WPM)).astype(np.float64)
        start = max(0, end + int(turn.gap_seconds * SAMPLE_RATE_HZ))
        placed.append((start, said * 10 ** (turn.gain_db / 20)))
        end = start + said.size
    mixed = np.zeros(end + TAIL_SAMPLES)
    for start, said in placed:
        mixed[start:start + said.size] += said
    return np.clip(mixed * (0.5 * 32767 / np.max(np.abs(mixed))), -32768, 32767).astype(np.int16)


def trimmed(said: np.ndarray) -> np.ndarray:
    """espeak-ng's output without its own leading and trailing silence (10 ms frames 40 dB below the loudest)."""
    frames = said[:said.size // FRAME * FRAME].astype(np.float64).reshape(-1, FRAME)
    level = 10 * np.log10(np.mean(frames ** 2, axis=1) + 1e-9)
    loud = np.flatnonzero(level >= level.max() - 40)
    return said[loud[0] * FRAME:(loud[-1] + 1) * FRAME]


def in_a_room(dry: np.ndarray, seed: int) -> np.ndarray:
    """`dry` int16 speech as a mic across a room hears it: convolved with a decaying-noise impulse response (its
    tail a quarter of the direct sound's energy) plus pink noise `SNR_DB` below the speech; peak at half scale."""
    rng = np.random.default_rng(seed)
    speech = dry.astype(np.float64) / 32768
    tail = np.arange(int(REVERB_SECONDS * SAMPLE_RATE_HZ)) / SAMPLE_RATE_HZ
    response = rng.standard_normal(tail.size) * np.exp(-6.9 * tail / REVERB_SECONDS)
    response *= 0.25 / np.sqrt(np.sum(response[1:] ** 2))
    response[0] = 1.0
    padded = speech.size + response.size
    wet = np.fft.irfft(np.fft.rfft(speech, padded) * np.fft.rfft(response, padded), padded)[:speech.size]
    white = np.fft.rfft(rng.standard_normal(speech.size))
    pink = np.fft.irfft(white / np.sqrt(np.arange(1, white.size + 1)), speech.size)
    pink *= np.sqrt(np.mean(wet ** 2) / np.mean(pink ** 2)) / 10 ** (SNR_DB / 20)
    heard = wet + pink
    return (heard * (0.5 / np.max(np.abs(heard))) * 32767).astype(np.int16)
