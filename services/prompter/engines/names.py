"""Which words of a window name a person, so no one's name is painted (privacy).

No well-kept named-entity tagger ships its model offline on PyPI (spaCy's models come from GitHub, the others
download at run time), so this is a heuristic, tested in tests/prompter/test_names.py. A word names a person when
it is written with a capital (speech engines capitalise names) and
- follows a word that introduces a person ("my brother Daniel", "aunt May", "neighbour, Arlyberg", "Mr Smith"),
  whatever the word, or
- is a first name in Faker's en_US and en_GB lists (offline data, about 800 names), and is not at the start of a
  sentence, or is, but people do not rate it as a concrete thing ("Emma's birthday" yes, "Rose bushes" no), or
- is a first name of Faker's wider English list (about 6,800, from "Lily" to "Paris": places too) that is either
  the subject of a verb ("Lily must have loved that": a thing there would need "the" or a plural), or a thing
  people rate concrete, capitalised mid-sentence (speech engines capitalise "lily" only as someone's name), or
- is a plural proper noun the norms do not rate ("The Beatles", "the Johnsons"): a band, a family, a team.
Lower-case words are never names: "rose", "dawn" and "holly" stay paintable. Places (Reykjavik, "to London")
are kept, except one that is in the wider list and the subject of a verb ("Paris was lovely"): a place lost from
a picture is a smaller harm than a person's name painted on the wall.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from services.prompter.engines.grammar import tags
from services.prompter.engines.vocabulary import concreteness, singular

INTRODUCERS = frozenset(["mr", "mrs", "ms", "miss", "mister", "dr", "doctor", "aunt", "auntie", "uncle", "grandma",
                         "granny", "grandpa", "nana", "papa", "cousin", "brother", "sister", "son", "daughter", "wife",
                         "husband", "friend", "neighbour", "neighbor", "boss", "teacher", "named", "called", "niece",
                         "nephew", "boyfriend", "girlfriend"])

_TOKEN = re.compile(r"[A-Za-z][A-Za-z'-]*|[.!?]")


_VERBS = frozenset({"MD", "VBD", "VBZ", "VBP"})  # what follows a subject: "must", "loved", "is", "have"


@lru_cache(maxsize=1)
def first_names() -> frozenset[str]:
    from faker.providers.person.en_GB import Provider as British
    from faker.providers.person.en_US import Provider as American

    return frozenset(name.lower() for name in (*American.first_names, *British.first_names))


@lru_cache(maxsize=1)
def wider_first_names() -> frozenset[str]:
    from faker.providers.person.en import Provider as English

    return first_names() | frozenset(name.lower() for name in English.first_names)


def person_names(lines: Iterable[str]) -> set[str]:
    """The lower-case words in `lines` that name people."""
    names: set[str] = set()
    known, wider = first_names(), wider_first_names()
    for line in lines:
        tokens = tuple(_TOKEN.findall(line))
        tagged = tags(tokens)
        previous = "."  # a line starts a sentence
        for position, token in enumerate(tokens):
            word = re.sub(r"'s$", "", token).lower()
            if token[0].isupper() and token not in ".!?":
                starts = previous in ".!?"
                subject = position + 1 < len(tokens) and tagged[position + 1] in _VERBS
                if (previous in INTRODUCERS or (word in known and (not starts or concreteness(word) is None))
                        or (word in wider and (subject or (not starts and concreteness(word) is not None)))
                        or (tagged[position] == "NNPS" and concreteness(singular(word)) is None)):
                    names.add(word)
            if token != "." or previous not in INTRODUCERS:  # "Mr. Smith": the dot ends no sentence
                previous = token.lower()
    return names
