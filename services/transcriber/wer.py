"""Word error rate, the one accuracy measure of `make bench-stt` and of the tests' transcription properties.

Text is compared as words: lower case, no punctuation, numbers and common abbreviations spelt out, so that
"Go forward 10 meters." and "go forward ten meters" are the same words. Fillers ("um", "mm-hmm") are left out and
letters spelt with underscores (AMI's "L_C_D_") are one word, as Whisper's English normaliser scores them: human
transcripts of conversation keep what Whisper is trained not to write.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import NamedTuple

_ONES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
         "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_ABBREVIATIONS = {"mr": "mister", "mrs": "missus", "dr": "doctor", "st": "saint"}
_FILLERS = {"hmm", "mm", "mhm", "mmm", "uh", "um"}  # Whisper's English normaliser drops these


def _number_words(n: int) -> str:
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    if n < 1000:
        return _ONES[n // 100] + " hundred" + ("" if n % 100 == 0 else " " + _number_words(n % 100))
    return " ".join(_ONES[int(d)] for d in str(n))


def normalise(text: str, language: str = "en") -> list[str]:
    """Words for WER: lower case, no punctuation or fillers, letters of any alphabet kept ("für", "niño"); in
    English, numbers and common abbreviations spelt out (other languages keep their digits)."""
    text = re.sub(r"[-/]", " ", text.lower().replace("_", "").replace("\u2019", "'"))
    text = re.sub(r"[^\w' ]", " ", text).replace("'", "")
    words = []
    for word in text.split():
        if word.isdigit() and word.isascii() and language == "en":
            words += _number_words(int(word)).split()
        elif word not in _FILLERS:
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


def wer(reference: str, heard: str, language: str = "en") -> float:
    """Word errors per reference word (invented words count: WER can exceed 1)."""
    ref = normalise(reference, language)
    return edit_distance(ref, normalise(heard, language)) / max(1, len(ref))


class Errors(NamedTuple):
    """Word errors against a reference of `words` words."""

    substitutions: int
    deletions: int
    insertions: int
    words: int

    @property
    def total(self) -> int:
        return self.substitutions + self.deletions + self.insertions


def errors(reference: str, heard: str, ordered: bool = True, language: str = "en") -> Errors:
    """Substitutions, deletions (reference words not heard) and insertions of one alignment. `ordered=False`
    compares bags of words, for references whose speakers are written one after the other, not interleaved."""
    ref, hyp = normalise(reference, language), normalise(heard, language)
    if not ordered:
        missing, extra = sum((Counter(ref) - Counter(hyp)).values()), sum((Counter(hyp) - Counter(ref)).values())
        paired = min(missing, extra)
        return Errors(paired, missing - paired, extra - paired, len(ref))
    # costs[i][j]: (errors, deletions, insertions) turning ref[:i] into hyp[:j]; ties prefer fewer deletions
    costs = [[(j, 0, j) for j in range(len(hyp) + 1)]]
    for i, r in enumerate(ref, 1):
        row = [(i, i, 0)]
        for j, h in enumerate(hyp, 1):
            e, d, n = costs[i - 1][j - 1]
            options = [(e + (r != h), d, n)]
            e, d, n = costs[i - 1][j]
            options.append((e + 1, d + 1, n))
            e, d, n = row[j - 1]
            options.append((e + 1, d, n + 1))
            row.append(min(options))
        costs.append(row)
    total, deletions, insertions = costs[-1][-1]
    return Errors(total - deletions - insertions, deletions, insertions, len(ref))
