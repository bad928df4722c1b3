"""The state the prompter keeps: one open window of transcripts per room, and room settings.

A window holds its transcripts unacknowledged (their ack callables sit beside them) until the prompt made
from them is confirmed by the broker, so a replica taking over after a crash gets them all redelivered.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from services.prompter.engines.novelty import NoveltyMemory
from shared.messages import ImagePrompt, Transcript, Word
from shared.messages.prompt import Finish
from shared.messages.scene import Scene, SceneMode

Ack = Callable[[], None]
APOSTROPHES = "'\u2019"
WINDOW_SECONDS = 30.0  # a new room's window: long enough for a topic to show, short enough to follow the talk


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
    def lines(self) -> list[str]:
        return [t.text for t in self.transcripts]

    @property
    def languages(self) -> list[str]:
        return [t.language for t in self.transcripts]

    @property
    def heard(self) -> list[dict[str, float]]:
        """Per line, each word's lowest confidence (engines that give none leave it empty: all words sure)."""
        return [word_confidence(t) for t in self.transcripts]

    def release(self) -> None:
        """Acknowledge every transcript: call only once what they produced is safely published (or dropped)."""
        for ack in self.acks:
            ack()
        self.acks.clear()


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
