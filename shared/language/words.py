"""Per language: which words never name a topic (stop words, fillers), which are profane, which are first names,
and which are words of the language at all.

Every list is published data shipped in a wheel: YAKE's stop words, glin-profanity's dictionaries (MIT),
Faker's first names per locale and wordfreq's frequencies. Only the spoken fillers, a handful per language, are
written here.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib.resources import files

import simplemma
import yake
from wordfreq import zipf_frequency


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


FILLERS = {
    "de": _words("äh ähm öhm hm hmm mhm ja jaja nein nee naja na also genau halt eben mal doch okay ok gut "
                    "super toll echt wirklich irgendwie quasi sozusagen"),
    "es": _words("eh em este esto pues bueno vale sí no claro oye mira vamos venga o sea tipo hombre "
                    "guay genial vaya okay ok"),
    "fr": _words("euh heu hein ben bah bon alors voilà quoi ouais oui non ok okay genre enfin bref "
                    "tiens super génial vraiment"),
}
_PROFANITY_FILES = {"de": "german", "es": "spanish", "fr": "french"}
_FAKER_LOCALES = {"de": ("de_DE", "de_AT", "de_CH"), "es": ("es_ES", "es_MX"), "fr": ("fr_FR", "fr_CA")}


@lru_cache(maxsize=8)
def stop_words(language: str) -> frozenset[str]:
    """YAKE's stop-word list for `language` (lower case), plus the spoken fillers."""
    return frozenset(yake.KeywordExtractor(lan=language).stopword_set) | FILLERS.get(language, frozenset())


@lru_cache(maxsize=8)
def profane_words(language: str) -> frozenset[str]:
    """glin-profanity's dictionary for `language`, lower case (empty where it has none)."""
    name = _PROFANITY_FILES.get(language)
    if name is None:
        return frozenset()
    data = files("glin_profanity") / "data" / "dictionaries" / f"{name}.json"
    return frozenset(str(word).lower() for word in json.loads(data.read_text(encoding="utf-8"))["words"])


@lru_cache(maxsize=8)
def first_names(language: str) -> frozenset[str]:
    """First names common where `language` is spoken (Faker's locale lists), lower case."""
    from importlib import import_module

    names: set[str] = set()
    for locale in _FAKER_LOCALES.get(language, ()):
        provider = import_module(f"faker.providers.person.{locale}").Provider
        names.update(str(name).lower() for name in provider.first_names)
    return frozenset(names)


# A German compound's parts must be common words that simplemma's dictionary holds: a misheard "Klochen" is no
# "Klo" + "chen", nor "Rummen" "Rum" + "men". Zipf 2.5 is a word a person meets a few times a year.
_PART_ZIPF = 2.5
_HEAD_LETTERS, _MODIFIER_LETTERS = 5, 3
_LINKS = ("", "s", "n", "en", "es", "e")  # what German puts between a compound's parts: "Geburtstag-s-torte"


def is_word(word: str, language: str) -> bool:
    """Whether `word` is a word of `language`: wordfreq knows it or its lemma, or (German) it is a compound of
    two words it knows ("Apfelbaumblüte"). A speech engine that did not catch a word writes a sound-alike
    non-word ("Kärsen" for "Kerzen", "mercamo" for "mercado"): no picture should be painted of it."""
    lower = word.lower()
    return (zipf_frequency(lower, language) > 0
            or zipf_frequency(str(simplemma.lemmatize(lower, lang=language)).lower(), language) > 0
            or compound_head(lower, language) is not None)


def compound_head(word: str, language: str) -> str | None:
    """The head of a German closed compound ("schokoladenkuchen" → "kuchen"): the longest last part that is a
    common word after a common word (and its link); None for a word that is not one, and in other languages."""
    if language != "de":
        return None
    lower = word.lower()
    for cut in range(_MODIFIER_LETTERS, len(lower) - _HEAD_LETTERS + 1):
        modifier, head = lower[:cut], lower[cut:]
        if _common_part(head) and any(
                modifier.endswith(link) and len(modifier) - len(link) >= _MODIFIER_LETTERS
                and _common_part(modifier[:len(modifier) - len(link)]) for link in _LINKS):
            return head
    return None


def _common_part(word: str) -> bool:
    return zipf_frequency(word, "de") >= _PART_ZIPF and bool(simplemma.is_known(word, lang="de"))
