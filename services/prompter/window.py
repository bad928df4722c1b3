"""The state the prompter keeps: one open window of transcripts per room, and room settings.

A window holds its transcripts unacknowledged (their ack callables sit beside them) until the prompt made
from them is confirmed by the broker, so a replica taking over after a crash gets them all redelivered.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from services.prompter.engines.novelty import NoveltyMemory
from shared.messages import ImagePrompt, Transcript, Word
from shared.messages.asr import MAX_TEXT_CHARS
from shared.messages.prompt import Finish
from shared.messages.scene import Scene, SceneMode

Ack = Callable[[], None]
APOSTROPHES = "'\u2019"
WINDOW_SECONDS = 30.0  # a new room's window: long enough for a topic to show, short enough to follow the talk
# The most of a window's text (its latest) or an upload's (spread over it) that keywords are chosen from: one
# transcript's worth. Choosing costs time in proportion to the text, on the thread every room waits on, and a window
# may hold 500 transcripts (the prefetch): 40 of 19,000 characters each took 17 s. A window of talk holds far less
# (600 s of it: ~10,000); an upload up to 200,000 (MAX_JOB_TEXT_CHARS).
MAX_READ_CHARS = MAX_TEXT_CHARS


class Worded(Protocol):
    """A line heard word by word: a transcript, an upload job's line, or an engine's recognition."""

    @property
    def words(self) -> tuple[Word, ...]: ...


def word_confidence(line: Worded) -> dict[str, float]:
    """A line's words (lower case, no punctuation) → the lowest confidence the engine gave each.

    Whisper starts a word at an apostrophe: French "l'eau" comes as "l" and "'eau". The prompter reads "l'eau" as
    one word, so the two pieces are entered joined too, as sure as the less sure of them (as a compound is)."""
    heard: dict[str, float] = {}
    previous = ("", 1.0)
    for word in line.words:
        key = word.text.strip(" .,;:!?\"()").lower()
        if key[:1] in APOSTROPHES and previous[0]:
            joined = previous[0] + key
            heard[joined] = min(previous[1], word.confidence, heard.get(joined, 1.0))
        heard[key] = min(word.confidence, heard.get(key, 1.0))
        previous = (key, word.confidence)
    return heard


@dataclass
class Window:
    opened_at: float  # monotonic seconds
    transcripts: list[Transcript] = field(default_factory=list)
    acks: list[Ack] = field(default_factory=list)
    touched_at: float = 0.0

    def add(self, transcript: Transcript, ack: Ack, now: float) -> None:
        self.transcripts.append(transcript)
        self.acks.append(ack)
        self.touched_at = now

    @property
    def read(self) -> list[Transcript]:
        """The transcripts its keywords are chosen from: the latest, back to MAX_READ_CHARS of text (the latest one
        whatever its length). All of them are acknowledged with the window."""
        total = 0
        for start in range(len(self.transcripts) - 1, -1, -1):
            total += len(self.transcripts[start].text)
            if total > MAX_READ_CHARS and start < len(self.transcripts) - 1:
                return self.transcripts[start + 1:]
        return self.transcripts

    @property
    def lines(self) -> list[str]:
        return [t.text for t in self.read]

    @property
    def languages(self) -> list[str]:
        return [t.language for t in self.read]

    @property
    def heard(self) -> list[dict[str, float]]:
        """Per line read, each word's lowest confidence (engines that give none leave it empty: all words sure)."""
        return [word_confidence(t) for t in self.read]

    def release(self) -> None:
        """Acknowledge every transcript: call only once what they produced is safely published (or dropped)."""
        for ack in self.acks:
            ack()
        self.acks.clear()


def spread(texts: Sequence[str], max_chars: int = MAX_READ_CHARS) -> list[int]:
    """Which of an upload's lines its keywords are chosen from: all of them up to `max_chars` of text, else lines
    spread evenly over the recording, each stretch giving its share of `max_chars` (one line at least, as no line
    is longer). A window reads its latest text; an upload is painted for all it is about, so a long one is read as
    a sample of its whole, not its end. Read whole, 154,000 characters held the work thread for 8 s."""
    total = sum(len(text) for text in texts)
    if total <= max_chars:
        return list(range(len(texts)))
    chosen: list[int] = []
    owed = 0  # characters earned and not yet read, × total: integers, so the sum never passes max_chars
    for index, text in enumerate(texts):
        owed += len(text) * max_chars
        if owed >= len(text) * total:
            chosen.append(index)
            owed -= len(text) * total
    return chosen


@dataclass
class Room:
    """Per-room settings (changed by Control messages) and memory."""

    window_seconds: float
    style: str
    num_images: int
    novelty: NoveltyMemory
    wake: tuple[str, ...] = ()  # the wake phrase's words; empty: spoken controls are off
    window: Window | None = None
    last_prompt: ImagePrompt | None = None
    touched_at: float = 0.0  # monotonic seconds of its last transcript or control
    failures: int = 0  # ticks in a row that failed closing its window
    mode: SceneMode = "living"  # living: one scene that evolves with the talk; slideshow: a new picture a window
    scene: Scene | None = None  # the living scene as last painted
    finish: Finish = "screen"  # or the inks of the room's e-paper panel (set by the display when one joins)

    def window_due(self, now: float) -> bool:
        """The window closes (and its prompt is made) `window_seconds` after its first transcript."""
        return self.window is not None and now >= self.window.opened_at + self.window_seconds
