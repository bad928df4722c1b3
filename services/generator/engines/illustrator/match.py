"""Keyword → illustration: names and aliases first, then name words and keywords, then meaning.

Lexical matches are exact and explainable ("birthday cake", "tents" → tent); when a word only appears among
an illustration's keywords or inside longer names, or not at all ("marshmallows"), the sentence embedding
decides, and below `threshold` nothing is drawn: an abstract word ("ambience") must not become a random prop.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections import defaultdict
from functools import lru_cache
from pathlib import Path
from typing import cast

import numpy as np

from services.generator.engines.illustrator.catalog import Glyph
from shared.cache import cache_dir as shared_cache_dir
from shared.embeddings import SentenceEncoder

_LOGGER = logging.getLogger(__name__)
_IRREGULAR = {"children": "child", "people": "person", "mice": "mouse", "geese": "goose", "feet": "foot",
              "teeth": "tooth", "men": "man", "women": "woman", "wolves": "wolf", "leaves": "leaf",
              "knives": "knife", "loaves": "bread", "fish": "fish", "sheep": "sheep", "deer": "deer"}
_COLOURS = {"blue", "green", "red", "yellow", "purple", "pink", "white", "black", "grey", "gray", "brown", "gold"}
_FILLER = {"a", "an", "the", "some", "my", "our", "your", "his", "her", "their", "of", "little", "big"}
SEMANTIC_THRESHOLD = 0.55  # cosine; tuned on the table in tests/generator/test_illustration_match.py
LEXICAL_THRESHOLD = 0.52  # a keyword hit still has to mean something close ("photo" → camera, not tent)
PARTIAL_THRESHOLD = 0.65  # a phrase that shares one word with a name ("sleeping bag", "money bag") needs more
LOOKALIKE_THRESHOLD = 0.75  # MiniLM's word pieces make "hammock" ~ "hamster" and "fence" ~ "fencing"


def singulars(word: str) -> list[str]:
    """The word itself and the singulars it may be the plural of ("berries" → berry, "boxes" → box)."""
    forms = [word]
    if word in _IRREGULAR:
        forms.append(_IRREGULAR[word])
    if word.endswith("ies") and len(word) > 4:
        forms.append(word[:-3] + "y")
    if word.endswith("ves"):
        forms += [word[:-3] + "f", word[:-3] + "fe"]
    if word.endswith("es"):
        forms.append(word[:-2])
    if word.endswith("s") and not word.endswith("ss"):
        forms.append(word[:-1])
    return forms


def normalise(text: str) -> str:
    words = re.sub(r"[^a-z0-9' -]+", " ", text.lower().replace("_", " ")).split()
    while len(words) > 1 and words[0] in _FILLER:
        words = words[1:]
    return " ".join(words)


class Matcher:
    """Built once per process from the catalog; `match(keyword)` is a few dictionary look-ups plus one
    embedding of the keyword (cached)."""

    def __init__(self, glyphs: tuple[Glyph, ...], encoder: SentenceEncoder, cache_dir: Path | None = None,
                 threshold: float = SEMANTIC_THRESHOLD) -> None:
        self.glyphs, self.encoder, self.threshold = glyphs, encoder, threshold
        self.by_name: dict[str, int] = {}
        self.by_word: dict[str, list[int]] = defaultdict(list)
        for i, glyph in enumerate(glyphs):
            for name in (glyph.name, *glyph.aliases):
                self.by_name.setdefault(name, i)
            for word in {*glyph.name.split(), *glyph.keywords}:
                self.by_word[word].append(i)
        self.vectors = _name_vectors(glyphs, encoder, cache_dir)
        self._embed = lru_cache(maxsize=4096)(self._embed_uncached)

    def match(self, keyword: str) -> Glyph | None:
        """The illustration that depicts `keyword`, or None."""
        phrase = normalise(keyword)
        if not phrase or phrase in _COLOURS:
            return None
        words = phrase.split()
        for head in singulars(words[-1]):
            exact = self.by_name.get(" ".join([*words[:-1], head]))
            if exact is not None:
                return self.glyphs[exact]
        similarity = self.vectors @ self._embed(phrase)
        candidates = {i for word in words for form in singulars(word) for i in self.by_word.get(form, ())}
        if candidates:
            best = max(sorted(candidates), key=lambda i: similarity[i])
            if similarity[best] >= (LEXICAL_THRESHOLD if len(words) == 1 else PARTIAL_THRESHOLD):
                return self.glyphs[best]
        best = int(np.argmax(similarity))
        if best in candidates:  # the word-sharing name it just refused is no better by meaning alone
            return None
        needed = LOOKALIKE_THRESHOLD if _looks_alike(words, self.glyphs[best].name.split()) else self.threshold
        return self.glyphs[best] if similarity[best] >= needed else None

    def _embed_uncached(self, phrase: str) -> np.ndarray:
        return cast(np.ndarray, self.encoder.encode([phrase])[0])


def _looks_alike(words: list[str], name_words: list[str]) -> bool:
    """Spelled alike (a shared start of 3+ letters) without being the same word: similarity is suspect."""
    return any(len(os.path.commonprefix([a, b])) >= 3  # noqa: RUF071 (letters of words, not paths)
               for a in words for b in name_words)


def _name_vectors(glyphs: tuple[Glyph, ...], encoder: SentenceEncoder, cache_dir: Path | None) -> np.ndarray:
    """The names' embeddings, computed once (seconds) and kept in `cache_dir` keyed by the names themselves."""
    names = [glyph.name for glyph in glyphs]
    digest = hashlib.sha256("\n".join(names).encode()).hexdigest()[:16]
    path = (cache_dir or shared_cache_dir()) / f"illustration-names-{digest}.npy"
    if path.exists():
        vectors: np.ndarray = np.load(path)
        if vectors.shape == (len(names), encoder.dimensions):
            return vectors
    _LOGGER.info("Embedding %d illustration names once (cached in %s)", len(names), path)
    vectors = encoder.encode(names, batch_size=32)  # small batches keep the peak memory of this one-off low
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        with tmp.open("wb") as file:
            np.save(file, vectors)
        tmp.replace(path)
    except OSError as exc:
        _LOGGER.warning("Cannot cache the illustration index in %s (%s); it stays in memory", path, exc)
    return vectors
