"""Which words of a line are nouns: a part-of-speech tagger that ships its data offline.

TextBlob (MIT, on PyPI) carries pattern.en's Brill tagger with its lexicon (Brill 1992: ~100k words with their
likeliest tag from the Brown corpus and the Penn Treebank), morphology rules for unknown words and context rules
("watch" after "did you" is a verb, "a watch" a noun). It is pure Python and needs no download: a 30 s window
tags in about a millisecond. Speech engines capitalise the first word of a sentence; the lexicon knows
"Green" as a surname, so a capitalised first word is tagged as the lower-case word where the lexicon knows it.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

_CLITIC = re.compile(r"(?i)(n't|'[a-z]+)$")
NOUN_TAGS = frozenset({"NN", "NNS", "NNP", "NNPS"})
# "Be" before an -ing word makes it a verb ("was staring"); elsewhere it may name an activity ("went skiing").
_BE = frozenset({"am", "is", "are", "was", "were", "be", "been", "being", "'s", "'re", "'m"})
_ADVERB = frozenset({"RB", "RBR", "RBS"})
# A base-form verb the lexicon prefers for a word that is also a noun ("tap", "swing", "watch"): after a determiner
# (with adjectives and nouns between: "a new tap", "the bathroom tap") English puts a noun there, never a verb.
_BASE_VERB = frozenset({"VB", "VBP"})
_DETERMINERS = frozenset({"DT", "PRP$", "POS", "CD"})
# What may follow an adjective inside a noun phrase. An "adjective" right after a determiner with none of these after
# it heads the phrase: the lexicon knows "fossil" and "starfish" as adjectives, but "she wanted a fossil" and
# "and a starfish" end on nouns.
_NOMINAL = frozenset({"NN", "NNS", "NNP", "NNPS", "JJ", "JJR", "JJS", "CD", "VBG", "VBN"})
_MODIFIERS = frozenset({"JJ", "JJR", "JJS", "NN", "VBN"})  # not NNS: "the dogs play"


@lru_cache(maxsize=1)
def _parser() -> Any:  # textblob ships no types
    from textblob.en import parser

    return parser


def _determined(tags: list[str], position: int) -> bool:
    """The word at `position` follows a determiner, with only modifiers between ("the old brass", "a new")."""
    before = position - 1
    while before >= 0 and tags[before] in _MODIFIERS:
        before -= 1
    return before >= 0 and tags[before] in _DETERMINERS


@lru_cache(maxsize=8192)
def tags(tokens: tuple[str, ...]) -> tuple[str, ...]:
    """The Penn Treebank tag of each token, as the lexicon and its context rules read them in this order."""
    return tuple(tag for _, tag in _parser().find_tags(list(tokens))) if tokens else ()


@lru_cache(maxsize=8192)
def noun_like(tokens: tuple[str, ...]) -> tuple[bool, ...]:
    """For each word of a clause (as lexical.WORD finds them): can it head a noun phrase here? Nouns can; an
    -ing form can unless a form of "be" comes before it ("was staring", not "went skiing"), and so can an adjective
    that a determiner starts and nothing nominal follows ("a fossil"); verbs, other adjectives, adverbs and the rest
    cannot."""
    if not tokens:
        return ()
    parser = _parser()
    pieces: list[str] = []
    owner: list[int] = []  # which word each piece belongs to: clitics are split off as the tagger expects
    for i, token in enumerate(tokens):
        clitic = _CLITIC.search(token) if "'" in token else None
        parts = [token[:clitic.start()], clitic.group(0)] if clitic and clitic.start() > 0 else [token]
        if i == 0 and parts[0][:1].isupper() and parts[0].lower() in parser.lexicon:
            parts[0] = parts[0].lower()  # a clause's capital is often the sentence's, not a name's
        pieces += parts
        owner += [i] * len(parts)
    tags = [tag for _, tag in parser.find_tags(pieces)]
    first: dict[int, int] = {}
    for position, i in enumerate(owner):
        first.setdefault(i, position)
    flags = []
    for i in range(len(tokens)):
        position = first[i]
        tag = tags[position]
        if tag == "VBG":
            before = [pieces[p].lower() for p in range(position) if tags[p] not in _ADVERB]
            flags.append(not (before and before[-1] in _BE))
        elif tag in _BASE_VERB:
            flags.append(_determined(tags, position))
        elif tag == "JJ" and position > 0 and tags[position - 1] in _DETERMINERS and (
                position + 1 == len(tags) or tags[position + 1] not in _NOMINAL):
            flags.append(True)
        else:
            flags.append(tag in NOUN_TAGS)
    return tuple(flags)
