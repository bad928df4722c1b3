"""Keep profanity, explicit terms and personal data out of everything the prompter publishes.

Scrubbing happens on each transcript line before any keyword is looked for, so a filtered term can reach
neither the prompt text, nor its keywords, nor the excerpt shown on the dashboard. Spoken forms count too:
ASR writes "john at gmail dot com" and "five five five one two one two" as often as the symbols.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

from better_profanity import profanity

REMOVED = "…"

_DIGIT_WORD = r"(?:zero|oh|one|two|three|four|five|six|seven|eight|nine)"
_STREETS = "street|avenue|boulevard|lane|road|drive|court|terrace|crescent|parkway|highway|st|ave|rd|blvd"
_NOT_A_NAME = r"(?!(?:the|a|an|my|our|your|this|that|open|long|back|country|dirt|main)\b)"

# Order matters: specific patterns run first, so "12 Elm Street" counts as an address, not as a number.
# A pattern that opens with a run of characters starts only where such a run starts (the lookbehinds): tried at
# every character of a long run ("a-a-a-…", a 5,000-letter word), each try read the rest of the run, and one
# 20,000-character line took 2-14 s per pattern.
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("email", re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+")),
    ("email", re.compile(r"(?<![\w.+-])[\w.+-]+ at [\w-]+(?: dot [a-z]{2,6})+\b", re.IGNORECASE)),
    ("url", re.compile(r"\b(?:https?://|www\.)\S+|(?<![\w-])[\w-]+(?:\.|\s+dot\s+)(?:com|org|net|io)\b",
                       re.IGNORECASE)),
    ("address", re.compile(rf"\b\d+[a-z]?(?:\s+[a-z]+){{1,3}}\s+(?:{_STREETS})\b\.?", re.IGNORECASE)),
    ("address", re.compile(rf"\b(?:on|at|to)\s+(?:{_NOT_A_NAME}[a-z]+\s+){{1,2}}(?:{_STREETS})\b", re.IGNORECASE)),
    ("phone", re.compile(rf"\b{_DIGIT_WORD}(?:[\s,-]+{_DIGIT_WORD}){{3,}}\b", re.IGNORECASE)),
)
_DIGIT_RUN = re.compile(r"\+?\(?\d[\d\s().-]*\d|\d")


def _digit_reason(match: re.Match[str]) -> str:
    """7-15 digits read as a phone number, other runs of five or more as an id or account; fewer, a number."""
    digits = sum(ch.isdigit() for ch in match.group())
    if digits < 5:
        return "number"
    return "phone" if 7 <= digits <= 15 else "digits"


@dataclass
class Scrubbed:
    """A line with filtered spans replaced by an ellipsis, and how many of each kind were removed."""

    text: str
    removed: Counter[str] = field(default_factory=Counter)


# Roots that occur only inside profanity, to catch compounds the word list lacks ("shitshow", "fuckwit").
_PROFANE_ROOTS = ("fuck", "shit", "cunt", "bitch", "wank", "twat", "whore", "slut", "porn", "jizz", "nigger",
                  "nigga", "motherf", "dickhead", "asshole", "bollock")
_LEET = str.maketrans("013457@$!", "oieastasi")


@lru_cache(maxsize=1)
def _profane_terms() -> frozenset[str]:
    """better-profanity's word list (900+ words and phrases) as a set: its own matcher costs ~5 ms a call."""
    profanity.load_censor_words()
    return frozenset(str(term).lower() for term in profanity.CENSOR_WORDSET)


@lru_cache(maxsize=50_000)
def is_profane(text: str) -> bool:
    """True for a listed profane word or phrase (leetspeak too), a word on a profane root, or a starred word."""
    normal = " ".join(w.strip(".,;:!?\"'()").translate(_LEET) for w in text.lower().split())
    masked = "*" in normal  # already starred out by the ASR ("f***"): still not for a prompt
    return masked or normal in _profane_terms() or any(root in normal for root in _PROFANE_ROOTS)


def scrub(line: str) -> Scrubbed:
    """Remove personal data (by pattern) and profane or explicit words (by better-profanity's list)."""
    result = Scrubbed(line)
    for reason, pattern in _PATTERNS:
        result.text, count = pattern.subn(REMOVED, result.text)
        if count:
            result.removed[reason] += count
    result.text = _remove_profanity(result.text, result.removed)  # before digits, so "sh1t" is seen whole

    def drop_digits(match: re.Match[str]) -> str:
        result.removed[_digit_reason(match)] += 1
        return REMOVED

    result.text = _DIGIT_RUN.sub(drop_digits, result.text)
    return result


def _remove_profanity(text: str, removed: Counter[str], profane: Callable[[str], bool] | None = None) -> str:
    """Drop profane single words, then profane two- and three-word phrases ("blow job"); `profane` judges a
    word or phrase (default: the English lists)."""
    profane = profane or is_profane
    tokens = text.split()
    keep = [True] * len(tokens)
    for size in (1, 2, 3):
        for start in range(len(tokens) - size + 1):
            if all(keep[start:start + size]) and profane(" ".join(tokens[start:start + size])):
                keep[start:start + size] = [False] * size
                removed["profanity"] += 1
    return " ".join(tok if ok else REMOVED for tok, ok in zip(tokens, keep, strict=True))


def remove_profanity(text: str, removed: Counter[str], words: frozenset[str]) -> str:
    """`text` without the words and phrases of another language's list (`words`, lower case)."""
    return _remove_profanity(text, removed, lambda phrase: phrase.strip(".,;:!?¡¿\"'()«»").lower() in words)


def is_clean(text: str) -> bool:
    """A final check on composed output: nothing any scrub rule would remove."""
    return scrub(text).removed.total() == 0
