"""Memory of what a room's frames just showed, so the next pictures follow the conversation.

Topics are remembered by their head word ("golden retriever" → "retriever", so "golden sunset" stays new);
each painted head starts at full weight and fades with a half-life; a candidate's novelty is one minus the
remaining weight of its head. A topic painted a moment ago is suppressed, one that keeps
coming back a few windows later is allowed again.
"""

from __future__ import annotations

from collections.abc import Iterable

from services.prompter.engines.vocabulary import singular


class NoveltyMemory:
    def __init__(self, half_life_seconds: float = 60.0) -> None:
        if half_life_seconds <= 0:
            raise ValueError("half_life_seconds must be positive")
        self.half_life_seconds = half_life_seconds
        self._painted_at: dict[str, float] = {}

    def remember(self, phrases: Iterable[str], now: float) -> None:
        """Record the keywords of a prompt that was just published."""
        for phrase in phrases:
            self._painted_at[head(phrase)] = now

    def novelty(self, phrase: str, now: float) -> float:
        """1.0 for a topic never painted (or long ago), near 0.0 for one painted just now."""
        painted_at = self._painted_at.get(head(phrase))
        return 1.0 if painted_at is None else 1.0 - self._weight(painted_at, now)

    def forget_faded(self, now: float, below: float = 0.01) -> None:
        """Drop words whose weight no longer matters, so a long-running room's memory stays small."""
        self._painted_at = {w: t for w, t in self._painted_at.items() if self._weight(t, now) >= below}

    def painted(self) -> dict[str, float]:
        """Each remembered head and when it was painted (the clock `remember` was given), to save it."""
        return dict(self._painted_at)

    def restore(self, painted: dict[str, float]) -> None:
        self._painted_at = dict(painted)

    def _weight(self, painted_at: float, now: float) -> float:
        return float(0.5 ** (max(0.0, now - painted_at) / self.half_life_seconds))


def head(phrase: str) -> str:
    """The word a noun phrase is about: its last, singular and lower-cased."""
    return singular(phrase.lower().split()[-1])
