"""The default selector: picturable, repeated, rare-ish nouns and phrases, with no model to load.

A word's score is how often the window says it × how concrete people rate it × how rare it is in English,
boosted where YAKE also ranks it high; rated multi-word expressions ("northern lights", "apple pie") and
phrases said twice compete as units. Everything runs on lookup tables, so a window takes milliseconds.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import yake
from wordfreq import zipf_frequency

from services.prompter.engines import Choice, Heard, Novelty, Selection
from services.prompter.engines.grammar import noun_like
from services.prompter.engines.mood import mood_of
from services.prompter.engines.names import person_names
from services.prompter.engines.safety import REMOVED, is_clean, scrub
from services.prompter.engines.vocabulary import (
    BACKGROUND,
    FILLER_PHRASES,
    STOP_WORDS,
    WORD,
    concreteness,
    rarity,
    singular,
    skip_reason,
)

_SENTENCE_END = re.compile(r"[.!?]+(?:\s|$)")  # not the dot of "Mr." mid-name: a stop, then a space or the end
_CLAUSE_BREAK = re.compile(rf"[.,;:!?()\"\u2014{REMOVED}]+")
_FILLER_PHRASE = re.compile(r"\b(?:" + "|".join(re.escape(p) for p in FILLER_PHRASES) + r")\b", re.IGNORECASE)
_UNRATED_NAME = 3.8  # a capitalised word the norms do not know is usually a place or a name: fairly picturable
_UNRATED_WORD = 2.5
MAX_KEYWORD_CHARS = 40  # with the longest style and palette, a prompt of one keyword still fits 160 chars
DOUBTFUL = 0.5  # a word the speech engine gave less confidence than this is often misheard ("mallet", "beer")
# The share of its rarity bonus a doubtful one-off keeps. Rarity makes a sure word specific ("saxophone" over
# "music"), but a rare word is a priori unlikely to have been said, and a weak speech model (tiny.en) fills what
# it did not catch with rare, concrete words ("darts" for "guards", "rim" for "river"). On the transcribed dev set
# halving it painted one mishearing less and no topic fewer; 0.3-0.7 did the same.
DOUBTFUL_RARITY = 0.5
# Words after which English puts a verb, not a noun: "we roast", "can't reach", "they'll cut". A candidate heard
# only right after one of them (adverbs like "also" in between) is no topic. Not "you" or "to", which also come
# before nouns ("bought you flowers", "to Iceland").
VERB_CUES = frozenset({
    "i", "we", "they", "he", "she", "can", "could", "will", "would", "should", "might", "must", "may", "shall",
    "cannot", "can't", "couldn't", "won't", "wouldn't", "shouldn't", "don't", "doesn't", "didn't", "i'll", "we'll",
    "they'll", "you'll", "i'd", "we'd", "they'd", "let's",
})
_ADVERBS = frozenset({
    "also", "just", "really", "even", "still", "always", "never", "ever", "actually", "not", "often", "usually",
})


@dataclass
class _Candidate:
    key: str  # singular lower-case form, for counting
    words: tuple[str, ...]
    surfaces: Counter[str] = field(default_factory=Counter)
    lines: set[int] = field(default_factory=set)
    utterances: set[tuple[int, int]] = field(default_factory=set)  # (line, sentence) pairs it was said in
    capitalised: bool = False
    sure: float = 0.0  # the engine's confidence in its surest hearing of it (its least sure word each time)
    verbal: int = 0  # hearings right after a verb cue ("we roast", "can't reach"): a verb there
    nominal: int = 0  # hearings the tagger read as a noun phrase: its last word a noun ("a watch", not "watch it")

    @property
    def count(self) -> int:
        return self.surfaces.total()

    @property
    def repeated(self) -> bool:
        """Said in two utterances or more. One garbled sentence repeats its mishearing ("we grow milk and make the
        milk"), so only separate utterances vouch for a doubtful hearing. An utterance is a sentence, not a line: a
        live mic's segment of a busy room holds several speakers' turns, and the engine ends each with a stop."""
        return len(self.utterances) >= 2


class LexicalSelector:
    doubtful = DOUBTFUL  # under this confidence, a hearing said in one line only is doubtful (for its rarity)
    def __init__(self, max_keywords: int = 4, stale_below: float = 0.35, keep_above: float = 0.25) -> None:
        self.max_keywords = max_keywords
        self.stale_below = stale_below  # novelty under this holds a candidate back
        self.keep_above = keep_above  # keywords scoring under this share of the best are dropped
        self._yake = yake.KeywordExtractor(lan="en", n=2, top=20, stopwords=set(STOP_WORDS))

    def select(self, lines: Sequence[str], novelty: Novelty | None = None,
               heard: Sequence[Heard] | None = None) -> Selection:
        removed: Counter[str] = Counter()
        clean_lines = []
        for line in lines:
            scrubbed = scrub(line)
            removed.update(scrubbed.removed)
            clean_lines.append(scrubbed.text)
        candidates, content_words = self._candidates(clean_lines, heard or [{}] * len(lines), removed)
        boosts = self._yake_boosts(clean_lines)
        scored = self._weigh([(self._score(c, boosts), c) for c in candidates])
        # What was never heard as a noun ("so bright", "did you watch", "have to cut") is no topic; it still told
        # the weighing what the window is about ("raining" for "rain").
        scored = [(score if c.nominal and not _background(c) else 0.0, c) for score, c in scored]
        keywords, stale = self._choose(sorted(scored, key=lambda sc: -sc[0]), novelty)
        return Selection(keywords, stale, mood_of(clean_lines), clean_lines, content_words, removed)

    def _weigh(self, scored: list[tuple[float, _Candidate]]) -> list[tuple[float, _Candidate]]:
        """What was probably misheard goes: a doubtful hearing counts only when another line repeats it."""
        return [(score if c.sure >= DOUBTFUL or c.repeated else 0.0, c) for score, c in scored]

    def _candidates(self, lines: list[str], heard: Sequence[Heard], removed: Counter[str]
                    ) -> tuple[list[_Candidate], int]:
        found: dict[str, _Candidate] = {}
        names: set[str] = set()  # words capitalised mid-clause: names of places, pets, brands
        people = person_names(lines)
        content_words = 0
        for index, line in enumerate(lines):
            line, fillers = _FILLER_PHRASE.subn(" , ", line)
            removed["filler"] += fillers
            for said, clause in _clauses(index, line):
                run: list[str] = []
                nouns: list[bool] = []
                cued = after_cue = False
                tokens, line_heard = _join_compounds(WORD.findall(clause), heard[index])
                flags = noun_like(tuple(tokens))
                for position, token in enumerate(tokens):
                    token = _without_possessive(token)
                    word = token.lower()
                    reason = "name" if word.removesuffix("'s") in people else skip_reason(word)
                    if reason is not None:
                        removed[reason] += 1
                        self._add_runs(run, nouns, said, line_heard, found, cued)
                        run, nouns = [], []
                        after_cue = word in VERB_CUES or (after_cue and word in _ADVERBS)
                        continue
                    if not run:
                        cued = after_cue
                    content_words += 1
                    if position > 0 and token[0].isupper():
                        names.add(singular(word))
                    run.append(token)
                    nouns.append(flags[position])
                self._add_runs(run, nouns, said, line_heard, found, cued)
        for key in names & found.keys():
            found[key].capitalised = True
        return list(found.values()), content_words

    @staticmethod
    def _add_runs(run: list[str], nouns: list[bool], said: tuple[int, int], heard: Heard,
                  found: dict[str, _Candidate], cued: bool = False) -> None:
        """Count every word of a run of content words, and every 2-3 word phrase inside it; `said`: the (line,
        sentence) it was said in; `nouns`: which words
        of the run the tagger read as nouns; `cued`: the run follows a verb cue, so what starts it is heard where
        a verb goes."""
        for size in (1, 2, 3):
            for start in range(len(run) - size + 1):
                words = tuple(w.lower() for w in run[start:start + size])
                key = " ".join((*words[:-1], singular(words[-1])))
                candidate = found.setdefault(key, _Candidate(key, words))
                candidate.surfaces[" ".join(run[start:start + size])] += 1
                candidate.lines.add(said[0])
                candidate.utterances.add(said)
                candidate.sure = max(candidate.sure, min(heard.get(w, 1.0) for w in words))
                candidate.verbal += cued and start == 0
                candidate.nominal += nouns[start + size - 1]

    def _yake_boosts(self, lines: list[str]) -> dict[str, float]:
        """YAKE's statistical salience as a mild multiplier: 1.5 for its best phrase, 1.0 outside its list."""
        text = ". ".join(line.replace(REMOVED, ",") for line in lines if line.strip())
        ranked = self._yake.extract_keywords(text) if text.strip() else []
        top = len(ranked) or 1
        return {singular_phrase(phrase): 1.0 + 0.5 * (1 - rank / top) for rank, (phrase, _) in enumerate(ranked)}

    def _score(self, c: _Candidate, boosts: dict[str, float]) -> float:
        if c.verbal >= c.count:
            return 0.0  # only ever heard where a verb goes: "we roast", "can't reach"
        phrase = " ".join(c.words)
        rated = concreteness(phrase) if len(c.words) > 1 else concreteness(c.words[0])
        if len(c.words) > 1 and rated is None:
            if c.count < 2:
                return 0.0  # an unrated phrase said once is usually just adjacent words
            rated = min(concreteness(w) or _UNRATED_WORD for w in c.words)
        if rated is None:
            rated = self._unrated(c)
        picturable = ((rated - 1) / 4) ** 2
        rare = max(rarity(w) for w in c.words)
        if c.sure < self.doubtful and not c.repeated:
            rare *= DOUBTFUL_RARITY  # a rare word is a priori unlikely: heard once and doubtfully, likely misheard
        specific = 1.3 if len(c.words) > 1 else 1.0
        return float(c.count ** 0.7 * picturable * (0.4 + 0.6 * rare) * specific * boosts.get(c.key, 1.0))

    def _unrated(self, c: _Candidate) -> float:
        """The concreteness to assume for a word the norms do not rate."""
        return _UNRATED_NAME if c.capitalised else _UNRATED_WORD

    def _choose(self, scored: list[tuple[float, _Candidate]], novelty: Novelty | None
                ) -> tuple[list[Choice], list[Choice]]:
        keywords: list[Choice] = []
        stale: list[Choice] = []
        taken: set[str] = set()
        best = next((s for s, _ in scored if s > 0), 0.0)
        for score, c in scored:
            if score <= 0 or score < self.keep_above * best or len(keywords) >= self.max_keywords:
                break
            words = {singular(w) for w in c.words}
            text = c.surfaces.most_common(1)[0][0]
            if words & taken or len(text) > MAX_KEYWORD_CHARS or not is_clean(text):
                continue
            fresh = 1.0 if novelty is None else novelty(text)
            choice = Choice(text, round(score * fresh / best, 4), tuple(sorted(c.lines)))
            (keywords if fresh >= self.stale_below else stale).append(choice)
            taken |= words
        keywords.sort(key=lambda ch: -ch.score)
        return keywords, stale


def _clauses(line_number: int, line: str) -> Iterator[tuple[tuple[int, int], str]]:
    """The line's clauses, each with the (line, sentence) it belongs to."""
    for sentence, text in enumerate(_SENTENCE_END.split(line)):
        for clause in _CLAUSE_BREAK.split(text):
            yield (line_number, sentence), clause


def _without_possessive(token: str) -> str:
    """ "bike's" is the bike: a possessive names its owner ("the owl's face"), and speech engines also write "is"
    that way ("my bike's got a flat"). Contractions of words that never count stay whole ("it's", "that's")."""
    stem = token[:-2]
    if token.lower().endswith("'s") and skip_reason(stem.lower()) is None:
        return stem
    return token


def _background(c: _Candidate) -> bool:
    """A candidate that is only background ("night", "pounds") or ends in it ("thanksgiving night")."""
    return c.words[-1] in BACKGROUND


def _join_compounds(tokens: list[str], heard: Heard) -> tuple[list[str], Heard]:
    """Speech engines split closed compounds ("fire place", "bee keeper"): two neighbours that English writes as
    one rated word become that word, unless the pair is itself a rated expression ("ice cream", "hot dog").
    Otherwise "fire" of "fire place" would stand for a fire on its own. The joined word is as sure as its
    less sure half."""
    if len(tokens) < 2:
        return tokens, heard
    joined_tokens = [tokens[0]]
    sure: dict[str, float] = {}
    for token in tokens[1:]:
        before = joined_tokens[-1]
        joined = (before + token).lower()
        if (len(token) >= 3 and len(before) >= 3 and "'" not in joined and "-" not in joined
                and concreteness(joined) is not None and concreteness(f"{before} {token}".lower()) is None
                and zipf_frequency(joined, "en") >= 2.5):
            joined_tokens[-1] = before + token.lower()
            sure[joined] = min(heard.get(before.lower(), 1.0), heard.get(token.lower(), 1.0))
            continue
        joined_tokens.append(token)
    return joined_tokens, ({**heard, **sure} if sure else heard)


def singular_phrase(phrase: str) -> str:
    words = phrase.lower().split()
    return " ".join([*words[:-1], singular(words[-1])])

