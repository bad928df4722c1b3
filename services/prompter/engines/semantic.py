"""The selector that prefers what the window is about: the lexical scores, weighed by how well each candidate
fits the rest of the window in all-MiniLM-L6-v2's sentence space.

A misheard word ("mallet" for "a meter" in talk of a ski trip) is usually concrete, rare and so scores well
lexically, but it fits nothing else that was said; the theme ("skiing", "cabin", "snow") fits itself. Each of the
best lexical candidates is compared with the centroid of the others (leave-one-out, weighted by their scores and
by how sure the speech engine was of them) and its score is multiplied by its fit relative to the best fit. A
doubtful hearing said once survives only when it fits the window well (support, instead of repetition); a sure
hearing said in two utterances needs no support and is never punished for its fit.
A noun the concreteness norms do not rate gets the rating its embedding predicts (engines/imageability.py), where
the lexical selector can only guess.
Vectors are cached per phrase, so a conversation's recurring words cost nothing after their first window.
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from collections.abc import Sequence

import numpy as np

from services.prompter.engines import Heard
from services.prompter.engines.imageability import predicted
from services.prompter.engines.lexical import LexicalSelector, _Candidate
from services.prompter.engines.vocabulary import concreteness
from shared.embeddings import SentenceEncoder

TOP = 12  # candidates embedded per window: the lexical best; the rest would never be chosen anyway
FIT_POWER = 2.0  # how hard a poor fit is punished
OUTLIER = 0.6  # a candidate fitting less than this share of the best fit is an outlier: only these are punished
SUPPORTED = 0.8  # a doubtful candidate said once stays if it fits at least this share of the best fit
# With fit to vouch for a doubtful one-off, doubt can start higher than the lexical 0.5: on the transcribed dev set
# tiny.en's painted mishearings sat at 0.5-0.7 too ("bacon" 0.62 in talk of pie, "darts" 0.59).
DOUBTFUL = 0.7
CACHE = 20_000  # phrase vectors kept (1.5 KB each)
# Unrated nouns rated by their meaning per window, the most said first (the rest keep the lexical guess): the test
# sets' windows hold at most 2, but a transcript of 3,000 made-up words embedded them all, 31 s of CPU.
MAX_PREDICTED = 16


class SemanticSelector(LexicalSelector):
    doubtful = DOUBTFUL
    def __init__(self, encoder: SentenceEncoder, max_keywords: int = 4, **options: float) -> None:
        super().__init__(max_keywords, **options)
        self._encoder = encoder
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._predicted: frozenset[str] = frozenset()  # this window's unrated nouns rated by their meaning

    def _weigh(self, scored: list[tuple[float, _Candidate]]) -> list[tuple[float, _Candidate]]:
        best = sorted((sc for sc in scored if sc[0] > 0), key=lambda sc: -sc[0])[:TOP]
        if len(best) < 3:  # too little to say what the window is about
            return super()._weigh(scored)
        vectors = self._vectors([" ".join(c.words) for _, c in best])
        weights = np.array([score * (1.0 if c.sure >= self.doubtful else 0.5) for score, c in best], np.float32)
        total = (vectors * weights[:, None]).sum(0)
        others = total[None, :] - vectors * weights[:, None]  # each candidate's window without itself
        others /= np.maximum(np.linalg.norm(others, axis=1, keepdims=True), 1e-9)
        fit = np.clip((vectors * others).sum(1), 0.01, None)
        fit /= fit.max()
        weighed = {id(c): score * (1.0 if f >= OUTLIER or _vouched(c, self.doubtful) else float(f) ** FIT_POWER)
                   for (score, c), f in zip(best, fit, strict=True)
                   if c.sure >= self.doubtful or c.repeated or f >= SUPPORTED}
        return [(weighed.get(id(c), 0.0), c) for _, c in scored]

    def _candidates(self, lines: list[str], heard: Sequence[Heard], removed: Counter[str]
                    ) -> tuple[list[_Candidate], int]:
        found, content_words = super()._candidates(lines, heard, removed)
        unrated = sorted((c for c in found if _predictable(c)), key=lambda c: -c.count)[:MAX_PREDICTED]
        self._predicted = frozenset(c.words[0] for c in unrated)
        if unrated:
            self._vectors([c.words[0] for c in unrated])  # one batch, which _unrated reads from the cache
        return found, content_words

    def _unrated(self, c: _Candidate) -> float:
        """A noun the norms do not rate is as concrete as its meaning predicts (see `_predictable`)."""
        if c.words[0] not in self._predicted or not _predictable(c):
            return super()._unrated(c)
        return float(predicted(self._vectors([c.words[0]]))[0])

    def _vectors(self, phrases: list[str]) -> np.ndarray:
        missing = [p for p in dict.fromkeys(phrases) if p not in self._cache]
        if missing:
            for phrase, vector in zip(missing, self._encoder.encode(missing), strict=True):
                self._cache[phrase] = vector
            while len(self._cache) > CACHE:
                self._cache.popitem(last=False)
        for phrase in phrases:
            self._cache.move_to_end(phrase)
        return np.stack([self._cache[p] for p in phrases])


def _predictable(c: _Candidate) -> bool:
    """An unrated single word heard as a noun, in lower case: a capitalised one (a place, a name, a sentence's first
    word) keeps the lexical guess, its meaning not being the common word's, and so does an -ing form (the norms rate
    "rain", not "raining"), which means the act. What was never heard as a noun only informs the weighing."""
    word = c.words[0]
    return (len(c.words) == 1 and c.nominal > 0 and not c.capitalised and not word.endswith("ing")
            and not any(surface[0].isupper() for surface in c.surfaces) and concreteness(word) is None)


def _vouched(c: _Candidate, doubtful: float) -> bool:
    """Heard surely and said in two utterances: fit is evidence where those are missing, not a veto over them. In a
    window of mishearings ("parents", "hair" for "heron", "canoe") the sure, repeated "island" is the outlier."""
    return c.sure >= doubtful and c.repeated
