"""The mood of a window, from VADER's sentiment lexicon (shipped inside vaderSentiment), as a palette."""

from __future__ import annotations

from dataclasses import dataclass

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer


@dataclass(frozen=True)
class Mood:
    name: str
    palette: str  # woven into the prompt, so a cheerful room gets brighter pictures than a sad one
    from_compound: float  # lowest VADER compound score (-1..1) that reads as this mood


MOODS = (
    Mood("joyful", "bright sunny colors, golden light", 0.6),
    Mood("cheerful", "warm cheerful colors", 0.2),
    Mood("neutral", "soft natural colors", -0.2),
    Mood("wistful", "muted blue-grey tones, soft rain light", -0.6),
    Mood("somber", "dark stormy palette, deep shadows", -1.0),
)
MOODS_BY_NAME = {m.name: m for m in MOODS}

SENTIMENT = SentimentIntensityAnalyzer()  # one per process: building one loads VADER's lexicons


def mood_of(lines: list[str]) -> Mood:
    """Average the per-line compound score, so one exclamation does not paint the whole window."""
    if not lines:
        return MOODS_BY_NAME["neutral"]
    score = sum(SENTIMENT.polarity_scores(line)["compound"] for line in lines) / len(lines)
    return next(m for m in MOODS if score >= m.from_compound)
