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

_VADER = SentimentIntensityAnalyzer()  # one per process: building one loads VADER's lexicons
# VADER's time grows with the square of a text's words (each sentiment word lower-cases all of them): one line of
# 20,000 characters of emoji took 26 s, of hyphen-free words 1-3 s. A line's first 100 words say its mood (the
# compound score is near ±1 well before), and a spoken line rarely holds more (a 20 s segment: 50-80 words).
MAX_SENTIMENT_WORDS = 100


def sentiment(line: str) -> dict[str, float]:
    """VADER's scores (`compound`, `neu`, ...) of the line's first MAX_SENTIMENT_WORDS words, an emoji counting
    as the words VADER reads it as ("🎉" is "party popper")."""
    words, in_word = 0, False
    for index, char in enumerate(line):
        description = _VADER.emojis.get(char)
        if description is not None:
            words, in_word = words + len(description.split()), False
        elif char.isspace():
            in_word = False
        elif not in_word:
            words, in_word = words + 1, True
        if words > MAX_SENTIMENT_WORDS:
            line = line[:index]
            break
    return dict(_VADER.polarity_scores(line))


def mood_of(lines: list[str]) -> Mood:
    """Average the per-line compound score, so one exclamation does not paint the whole window."""
    if not lines:
        return MOODS_BY_NAME["neutral"]
    score = sum(sentiment(line)["compound"] for line in lines) / len(lines)
    return next(m for m in MOODS if score >= m.from_compound)
