"""How the prompter picks the words worth painting: one interface, and the pieces every backend shares."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from services.prompter.engines.mood import Mood

Novelty = Callable[[str], float]  # phrase → 1.0 (never painted) .. 0.0 (painted just now)
Heard = Mapping[str, float]  # one line's words (lower case) → the lowest confidence the speech engine gave each


@dataclass(frozen=True)
class Choice:
    """A chosen keyword, its score (best is 1.0), and which input lines it came from."""

    text: str
    score: float
    lines: tuple[int, ...]
    language: str = "en"  # what it was said in: a prompt glosses it in English for the generators


@dataclass
class Selection:
    keywords: list[Choice]  # best first, novelty already applied
    stale: list[Choice]  # good candidates held back because the frames just showed them
    mood: Mood
    clean_lines: list[str]  # the input lines with filtered terms cut out: safe to publish as excerpt
    content_words: int  # words left once fillers, stop words and filtered terms are gone
    removed: Counter[str] = field(default_factory=Counter)  # words filtered, by reason

    def skip_reason(self, min_words: int, forced: bool = False) -> str | None:
        """Why this window should publish nothing (a label for metrics), or None to paint it.

        A forced window (paint now, an upload job) paints anything usable, even what was just shown.
        """
        if forced:
            return None if self.keywords or self.stale else "nothing_usable"
        if self.content_words < min_words:
            return "too_few_words"
        if not self.keywords:
            return "nothing_new" if self.stale else "no_keywords"
        return None

    def chosen(self) -> list[Choice]:
        """What to paint: the fresh keywords, or, when forced and all were stale, the stale ones."""
        return self.keywords or self.stale


class KeywordSelector(Protocol):
    max_keywords: int

    def select(self, lines: Sequence[str], novelty: Novelty | None = None,
               heard: Sequence[Heard] | None = None) -> Selection:
        """Pick the keywords of one window's transcript lines; `novelty` None means no memory (upload jobs);
        `heard`, one mapping per line, says how sure the speech engine was of each word (None: sure of all)."""
        ...
