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

from shared.language.cldr_keywords import keyword_gloss
from shared.language.words import compound_head
from shared.messages.language import DEFAULT_LANGUAGE

# The languages with a gloss; English needs none.
GLOSSED = ("de", "es", "fr")
# The languages the prompter and illustrator read: 'auto' rooms choose among these unless told otherwise.
READ_LANGUAGES = ",".join((DEFAULT_LANGUAGE, *GLOSSED))
_NAMES = Path(emoji.__file__).parent / "unicode_codes"
# Words that join the parts of a CLDR name and never name the thing: "plage avec parasol", "tarta de cumpleaños".
_JOINERS = frozenset({"de", "del", "la", "el", "los", "las", "le", "les", "du", "des", "d", "l", "avec", "con",
                      "et", "y", "und", "mit", "en", "au", "aux", "a", "à", "por", "pour", "sur", "sin", "sans",
                      "im", "in", "am", "an", "auf", "vom", "von", "zum", "zur", "über", "unter", "vor", "hinter",
                      "dem", "der", "die", "das", "den", "ohne", "sobre", "sous", "bajo"})
_FLAG_LETTERS = ("\U0001F1E6", "\U0001F1FF")  # the regional indicators that spell a country's flag
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")


# French writes an article, "de", a pronoun or "que" before a vowel as one word with it ("l'arbre", "d'eau", "qu'il"):
# the word is what follows. "aujourd'hui" is one word.
_ELIDED = {"fr": re.compile(r"^(?:l|d|j|m|n|s|t|c|qu|jusqu|lorsqu|puisqu|quoiqu)['’](?=[^\W\d_])", re.IGNORECASE)}


def without_elision(word: str, language: str) -> str:
    """`word` without the elided word written onto its front: "l'étang" → "étang", "D'eau" → "eau"."""
    elided = _ELIDED.get(language)
    return elided.sub("", word) if elided else word


def lemma(word: str, language: str) -> str:
    """The dictionary form of `word` in lower case ("Hunde" → "hund", "perros" → "perro"). German keeps its capital
    while it is looked up: a capital says noun ("Schwamm" is the sponge, "schwamm" swam, of "schwimmen")."""
    if language not in GLOSSED:
        return word.lower()
    return str(simplemma.lemmatize(word if language == "de" else word.lower(), lang=language)).lower()


def english(word: str, language: str) -> str | None:
    """The English CLDR name of what `word` names ("Hunde", "de" → "dog"); else the English of the CLDR keyword it
    is ("Käse" → cheese, `cldr_keywords.py`); else, for a German compound, its head's ("Schokoladenkuchen" → the
    Kuchen's "pie"); None when no emoji is named or tagged by it. English words gloss as themselves."""
    if language == "en":
        return word.lower()
    if language not in GLOSSED:
        return None
    index = _index(language)
    lower = word.lower()
    as_said = lemma(word, language)
    found = index.get(lower) or index.get(as_said) or index.get(lemma(lower, language))
    if not found and language == "de" and word[:1].isupper() and lower.endswith("n"):
        found = index.get(lemma(word[:-1], language))  # a dative plural simplemma does not know: "in den Bergen"
    if found:
        return found
    # A keyword ("Käse" → cheese) may be any part of speech ("laufen" → running): in German only a noun, capitalised.
    keyword = None if language == "de" and not word[:1].isupper() else (
        keyword_gloss(lower, language) or keyword_gloss(as_said, language))
    head = None if keyword else compound_head(lower, language)
    return keyword or (head and (index.get(head) or index.get(lemma(head.capitalize(), language))))


# Where an English CLDR name's head noun ends: "beach with umbrella", "sunrise over mountains".
_ENGLISH_JOINERS = re.compile(r"\b(?:with|of|on|over|in|at|for|and|without)\b.*")
MIN_DICE = 0.3  # how often a word and its gloss must name the same emoji (Dice, 0..1): "pomme" → apple, not potato


def head_noun(gloss: str) -> str:
    """The thing an English name names: "beach with umbrella" → beach, "birthday cake" → cake."""
    words = _WORD.findall(_ENGLISH_JOINERS.sub("", gloss.lower()))
    return words[-1] if words else gloss.lower()


def in_english(keyword: str, language: str) -> str:
    """What a prompt for the diffusion and cloud backends says for `keyword`: its gloss, or the word itself where
    it has none (English, a name of a place, a word the names do not know)."""
    return keyword if language == "en" else english(keyword, language) or keyword


@lru_cache(maxsize=len(GLOSSED))
def _index(language: str) -> dict[str, str]:
    """Word (and its lemma) → English gloss. A one-word name glosses as the whole English name ("hund" → dog,
    "geburtstagskuchen" → birthday cake). A word inside longer names glosses as the English head noun that
    names the same emoji most often, relative to how often each occurs (Dice): "arbre" of "arbre de Noël", "arbre à
    feuilles caduques"… → tree; "pomme" of "pomme rouge", "pomme verte", "pomme de terre" → apple. A word met
    once must be its name's noun (the first word in Spanish and French, the last in German)."""
    local = json.loads((_NAMES / f"emoji_{language}.json").read_text(encoding="utf-8"))
    whole: dict[str, tuple[bool, int, str]] = {}  # lemma → (not spelled as it, length, gloss): the least wins
    together: Counter[tuple[str, str]] = Counter()
    headed: set[tuple[str, str]] = set()
    local_count: Counter[str] = Counter()
    english_count: Counter[str] = Counter()
    for char, name in local.items():
        data = emoji.EMOJI_DATA.get(char)
        if data is None or data.get("status") != emoji.STATUS["fully_qualified"]:
            continue
        gloss = data["en"].strip(":").replace("_", " ").lower()
        if gloss.startswith("flag") or any(_FLAG_LETTERS[0] <= ch <= _FLAG_LETTERS[1] for ch in char):
            continue  # "drapeau : Chine" (🇨🇳, named "China" in English): a country names the country, not a flag
        spelled = _WORD.findall(name.strip(":").replace("_", " ").lower())
        # the emoji package writes German names in lower case: a name's words are looked up as nouns
        cased = [w.capitalize() for w in spelled] if language == "de" else spelled
        words = [lemma(w, language) for w in cased if w.lower() not in _JOINERS]
        if not words:
            continue
        # The name's noun: German's is the last word before a joiner ("Strand mit Sonnenschirm", "roter Apfel"),
        # Spanish and French put it first ("playa y sombrilla", "pomme rouge").
        before = spelled[:next((i for i, w in enumerate(spelled) if w in _JOINERS), len(spelled))] or spelled
        noun = lemma(cased[len(before) - 1], language) if language == "de" else words[0]
        if len(set(words)) == 1:
            # Of several one-word names of one lemma, the one spelled as the lemma ("baguette" is the bread, its
            # plural "baguettes" the chopsticks), then the plainest.
            rank = ([w for w in spelled if w not in _JOINERS] != words, len(gloss), gloss)
            whole[words[0]] = min(whole.get(words[0], rank), rank)
        english_word = head_noun(gloss)  # "leafless tree" → tree, "beach with umbrella" → beach
        local_count.update(set(words))
        english_count[english_word] += 1
        together.update((w, english_word) for w in set(words))
        headed.add((noun, english_word))
    best: dict[str, tuple[float, str]] = {}
    for (word, gloss), both in together.items():
        if both < 2 and (word, gloss) not in headed:
            continue  # once, and not the noun of its name: "cuisine" of "couteau de cuisine" is no knife
        dice = 2 * both / (local_count[word] + english_count[gloss])
        if dice >= MIN_DICE and dice > best.get(word, (0.0, ""))[0]:
            best[word] = (dice, gloss)
    return {**{word: gloss for word, (_, gloss) in best.items()}, **{word: rank[-1] for word, rank in whole.items()}}
