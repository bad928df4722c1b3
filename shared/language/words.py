"""Per language: which words never name a topic (stop words, fillers), which are profane, which are first names.

Every list is published data shipped in a wheel: YAKE's stop words, glin-profanity's dictionaries (MIT) and
Faker's first names per locale. Only the spoken fillers, a handful per language, are written here.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib.resources import files

import yake


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
