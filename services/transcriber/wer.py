"""Word error rate, the one accuracy measure of `make bench-stt` and of the tests' transcription properties.

Text is compared as words: lower case, no punctuation, numbers and common abbreviations spelt out, so that
"Go forward 10 meters." and "go forward ten meters" are the same words.
"""

from __future__ import annotations

import re

_ONES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
         "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_ABBREVIATIONS = {"mr": "mister", "mrs": "missus", "dr": "doctor", "st": "saint"}


def _number_words(n: int) -> str:
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    if n < 1000:
        return _ONES[n // 100] + " hundred" + ("" if n % 100 == 0 else " " + _number_words(n % 100))
    return " ".join(_ONES[int(d)] for d in str(n))


def normalise(text: str) -> list[str]:
    """Words for WER: lower case, no punctuation, numbers and common abbreviations spelt out."""
    text = re.sub(r"[-_/]", " ", text.lower())
    text = re.sub(r"[^a-z0-9' ]", " ", text).replace("'", "")
    words = []
    for word in text.split():
        if word.isdigit():
            words += _number_words(int(word)).split()
        else:
            words.append(_ABBREVIATIONS.get(word, word))
    return words


def edit_distance(ref: list[str], hyp: list[str]) -> int:
    """Substitutions, deletions and insertions that turn `ref` into `hyp`."""
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        previous, row[0] = row[:], i
        for j, h in enumerate(hyp, 1):
            row[j] = min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (r != h))
    return row[-1]


def wer(reference: str, heard: str) -> float:
    """Word errors per reference word (invented words count: WER can exceed 1)."""
    ref = normalise(reference)
    return edit_distance(ref, normalise(heard)) / max(1, len(ref))
