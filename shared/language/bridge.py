"""From a word in German, Spanish or French to the English name of the thing it names, through Unicode CLDR.

CLDR names every emoji in each language ("Hund", "perro", "chien" are all 🐕, "dog"), and the emoji package ships
those names offline for a dozen languages. The things an emoji names are exactly the drawable things the
illustrator has pictures for, so the gloss doubles as a "can this be drawn" signal. Words are compared as
lemmas (simplemma), so "Hunde", "perros" and "chiens" find the dog too.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from functools import lru_cache
from pathlib import Path

import emoji
import simplemma

# The languages with a gloss; English needs none.
GLOSSED = ("de", "es", "fr")
_NAMES = Path(emoji.__file__).parent / "unicode_codes"
# Words that join the parts of a CLDR name and never name the thing: "plage avec parasol", "tarta de cumpleaños".
_JOINERS = frozenset({"de", "del", "la", "el", "los", "las", "le", "les", "du", "des", "d", "l", "avec", "con",
                      "et", "y", "und", "mit", "en", "au", "aux", "a", "à", "por", "pour", "sur", "sin", "sans",
                      "im", "in", "am", "an", "auf", "vom", "von", "zum", "zur"})
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")


def lemma(word: str, language: str) -> str:
    """The dictionary form of `word` in lower case ("Hunde" → "hund", "perros" → "perro")."""
    lower = word.lower()
    return str(simplemma.lemmatize(lower, lang=language)).lower() if language in GLOSSED else lower


def english(word: str, language: str) -> str | None:
    """The English CLDR name of what `word` names ("Hunde", "de" → "dog"), or None when no emoji is named by it.
    English words gloss as themselves."""
    if language == "en":
        return word.lower()
    if language not in GLOSSED:
        return None
    index = _index(language)
    lower = word.lower()
    return index.get(lower) or index.get(lemma(lower, language))


# Where an English CLDR name's head noun ends: "beach with umbrella", "sunrise over mountains".
_ENGLISH_JOINERS = re.compile(r"\b(?:with|of|on|over|in|at|for|and|without)\b.*")
MIN_DICE = 0.3  # how often a word and its gloss must name the same emoji (Dice, 0..1): "pomme" → apple, not potato


def in_english(keyword: str, language: str) -> str:
    """What a prompt for the diffusion and cloud backends says for `keyword`: its gloss, or the word itself where
    it has none (English, a name of a place, a word the names do not know)."""
    return keyword if language == "en" else english(keyword, language) or keyword


@lru_cache(maxsize=len(GLOSSED))
def _index(language: str) -> dict[str, str]:
    """Word (and its lemma) → English gloss. A one-word name glosses as the whole English name ("hund" → dog,
    "geburtstagskuchen" → birthday cake). A word inside longer names glosses as the English head noun that
    names the same emoji most often, relative to how often each occurs (Dice): "arbre" of "arbre de Noël", "arbre à
    feuilles caduques"… → tree; "pomme" of "pomme rouge", "pomme verte", "pomme de terre" → apple."""
    local = json.loads((_NAMES / f"emoji_{language}.json").read_text(encoding="utf-8"))
    whole: dict[str, str] = {}
    together: Counter[tuple[str, str]] = Counter()
    local_count: Counter[str] = Counter()
    english_count: Counter[str] = Counter()
    for char, name in local.items():
        data = emoji.EMOJI_DATA.get(char)
        if data is None or data.get("status") != emoji.STATUS["fully_qualified"]:
            continue
        gloss = data["en"].strip(":").replace("_", " ").lower()
        words = {lemma(w, language) for w in _WORD.findall(name.strip(":").replace("_", " ").lower())
                 if w not in _JOINERS}
        if len(words) == 1:
            (word,) = words
            if word not in whole or len(gloss) < len(whole[word]):
                whole[word] = gloss  # the plainest of several one-word names
        head_words = _WORD.findall(_ENGLISH_JOINERS.sub("", gloss))
        glosses = set(head_words[-1:])  # the head noun: "leafless tree" → tree, "beach with umbrella" → beach
        local_count.update(words)
        english_count.update(glosses)
        together.update((w, g) for w in words for g in glosses)
    best: dict[str, tuple[float, str]] = {}
    for (word, gloss), both in together.items():
        dice = 2 * both / (local_count[word] + english_count[gloss])
        if dice >= MIN_DICE and dice > best.get(word, (0.0, ""))[0]:
            best[word] = (dice, gloss)
    return {**{word: gloss for word, (_, gloss) in best.items()}, **whole}
