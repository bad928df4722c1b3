"""Keywords in German, Spanish and French, and rooms that mix languages.

A word in another language is judged by its English gloss (shared/language/bridge.py): the gloss says whether it
can be drawn (people's concreteness ratings are English) and whether it is only background or too general
("Mann" → man, "Hand" → hand), with the same English tables the English selector uses. Its rarity is its own
language's (wordfreq). Stop words, fillers, profanity and first names are per language (shared/language/words.py),
and what is no word of the language (a sound-alike the speech engine wrote for what it did not catch) is never a
keyword.
Without a tagger for these languages, nouns are what the gloss knows as a thing; German's capitalised nouns are
not mistaken for names, but a capitalised word the gloss does not know in Spanish or French is (a name or a
place: never painted).
"""

from __future__ import annotations

import gc
import logging
import re
import threading
import time
from collections import Counter, deque
from collections.abc import Iterable, Sequence
from dataclasses import replace

from wordfreq import zipf_frequency

from services.prompter.engines import Choice, Heard, KeywordSelector, Novelty, Selection
from services.prompter.engines.lexical import DOUBTFUL_RARITY, LexicalSelector, _Candidate
from services.prompter.engines.mood import mood_of
from services.prompter.engines.safety import remove_profanity, scrub
from services.prompter.engines.vocabulary import BACKGROUND, concreteness, skip_reason
from shared.language.bridge import GLOSSED, english, head_noun, lemma, without_elision
from shared.language.cldr_keywords import lexicon
from shared.language.words import first_names, is_word, profane_words, stop_words

_LOGGER = logging.getLogger(__name__)

LOADER_THREAD = "prompter-languages"  # the thread that loads word tables
_WORD = re.compile(r"[^\W\d_]+(?:[-'’][^\W\d_]+)*")
_SENTENCE_END = re.compile(r"[.!?]")
_UNGLOSSED = 2.0  # concreteness of a word the gloss does not know: rarely a thing the illustrator has
_GLOSSED_UNRATED = 4.0  # a gloss nobody rated ("shallow pan of food"): still an emoji's name, so a thing


class ForeignSelector(LexicalSelector):
    """The English selector's weighing and choosing, on one language's lemmas judged through their gloss."""

    def __init__(self, language: str, max_keywords: int = 4, stale_below: float = 0.35,
                 keep_above: float = 0.25) -> None:
        if language not in GLOSSED:
            raise ValueError(f"no word lists for language {language!r}; known: {', '.join(GLOSSED)}")
        super().__init__(max_keywords, stale_below, keep_above)
        self.language = language

    def select(self, lines: Sequence[str], novelty: Novelty | None = None,
               heard: Sequence[Heard] | None = None) -> Selection:
        removed: Counter[str] = Counter()
        clean_lines = [self._scrub(line, removed) for line in lines]
        candidates, content_words = self._words(clean_lines, heard or [{}] * len(lines), removed)
        scored = self._weigh([(self._worth(c) if c.nominal or c.repeated else 0.0, c) for c in candidates])
        keywords, stale = self._choose(sorted(scored, key=lambda sc: -sc[0]), novelty)
        mood = mood_of([]) if self.language != "en" else mood_of(clean_lines)  # VADER reads English only
        return Selection(keywords, stale, mood, clean_lines, content_words, removed)

    def _scrub(self, line: str, removed: Counter[str]) -> str:
        """Personal data as in English (digits, addresses, e-mail), then this language's profane words."""
        scrubbed = scrub(line)
        removed.update(scrubbed.removed)
        return remove_profanity(scrubbed.text, removed, profane_words(self.language))

    def _words(self, lines: list[str], heard: Sequence[Heard], removed: Counter[str]
               ) -> tuple[list[_Candidate], int]:
        found: dict[str, _Candidate] = {}
        stops, names = stop_words(self.language), first_names(self.language)
        content_words = 0
        for index, line in enumerate(lines):
            for said, sentence in enumerate(_SENTENCE_END.split(line)):
                for position, written in enumerate(_WORD.findall(sentence)):
                    token = without_elision(written, self.language)  # "l'étang": the pond is the keyword
                    key, gloss = lemma(token, self.language), english(token, self.language)
                    reason = self._skip(token, key, gloss, position, stops, names)
                    if reason is not None:
                        removed[reason] += 1
                        continue
                    content_words += 1
                    candidate = found.setdefault(key, _Candidate(key, (key,)))
                    candidate.surfaces[token if self.language == "de" else token.lower()] += 1  # German nouns: capitals
                    candidate.lines.add(index)
                    candidate.utterances.add((index, said))  # said in two: a noun, and a doubtful hearing vouched for
                    candidate.sure = max(candidate.sure, heard[index].get(written.lower(), 1.0))
                    # Without a tagger, a thing is what the gloss names, or a German capitalised word (German
                    # writes every noun so), or a word said in two lines; else only its weighing counts.
                    candidate.nominal += gloss is not None or (self.language == "de" and token[0].isupper())
        return list(found.values()), content_words

    def _skip(self, token: str, key: str, gloss: str | None, position: int, stops: frozenset[str],
              names: frozenset[str]) -> str | None:
        """Why `token` (its lemma `key`, its English `gloss`) is no candidate, or None."""
        word = token.lower()
        if word in stops or len(word) < 3 or key in stops:
            return "stopword"  # "avez" is "avoir", a stop word
        if token[0].isupper() and word in names:
            return "name"
        if gloss is None:
            # Spanish and French capitalise names and places only: one the gloss does not know is never painted.
            if token[0].isupper() and position > 0 and self.language != "de":
                return "name"
            return None if is_word(token, self.language) else "unknown"  # a sound-alike of what was not caught
        return skip_reason(head_noun(gloss))

    def _worth(self, c: _Candidate) -> float:
        gloss = english(c.surfaces.most_common(1)[0][0], self.language)  # as said: a German capital says noun
        if gloss is not None and head_noun(gloss) in BACKGROUND:
            return 0.0  # "Nacht", "noche": what the talk is about, never a picture alone (as in English)
        rated = _UNGLOSSED if gloss is None else (
            concreteness(gloss) or concreteness(head_noun(gloss)) or _GLOSSED_UNRATED)
        picturable = ((rated - 1) / 4) ** 2
        rare = min(1.0, max(0.0, (6.5 - zipf_frequency(c.key, self.language)) / 3.5))
        if c.sure < self.doubtful and not c.repeated:
            rare *= DOUBTFUL_RARITY
        return float(c.count ** 0.7 * picturable * (0.4 + 0.6 * rare))


class MultilingualSelector:
    """Each line to the selector of its language; the keywords of all of them, best first, in one selection.

    A room that mixes languages gets keywords from each, weighed by how much was said in it: each language's
    scores are relative to its own best, times its share of the window's content words.
    """

    def __init__(self, english_selector: KeywordSelector) -> None:
        self.max_keywords = english_selector.max_keywords
        self._selectors: dict[str, KeywordSelector] = {"en": english_selector}
        self.tables = WordTables()  # a language's tables load off the caller's thread once it is heard of

    def selector(self, language: str) -> KeywordSelector:
        if language not in self._selectors:
            self._selectors[language] = ForeignSelector(language, max_keywords=self.max_keywords)
        return self._selectors[language]

    def select(self, lines: Sequence[str], novelty: Novelty | None = None,
               heard: Sequence[Heard] | None = None, languages: Sequence[str] | None = None) -> Selection:
        spoken = [_supported(code) for code in (languages or ["en"] * len(lines))]
        groups: dict[str, list[int]] = {}
        for index, code in enumerate(spoken):
            groups.setdefault(code, []).append(index)
        for code in groups:
            self.tables.ready(code)  # a load under way is waited for, not done a second time beside it
        if len(groups) <= 1:
            language = next(iter(groups), "en")
            selection = self.selector(language).select(lines, novelty, heard)
            selection.keywords = [replace(c, language=language) for c in selection.keywords]
            selection.stale = [replace(c, language=language) for c in selection.stale]
            return selection
        return self._merge(lines, novelty, heard, groups)

    def _merge(self, lines: Sequence[str], novelty: Novelty | None, heard: Sequence[Heard] | None,
               groups: dict[str, list[int]]) -> Selection:
        parts = {code: self.selector(code).select([lines[i] for i in rows], novelty,
                                                  [heard[i] for i in rows] if heard else None)
                 for code, rows in groups.items()}
        total = sum(p.content_words for p in parts.values()) or 1
        clean = [""] * len(lines)
        keywords: list[Choice] = []
        stale: list[Choice] = []
        removed: Counter[str] = Counter()
        for code, part in parts.items():
            rows, share = groups[code], part.content_words / total
            for local, line in enumerate(part.clean_lines):
                clean[rows[local]] = line
            keywords += [_moved(c, rows, share, code) for c in part.keywords]
            stale += [_moved(c, rows, share, code) for c in part.stale]
            removed.update(part.removed)
        keywords.sort(key=lambda c: -c.score)
        mood = parts["en"].mood if "en" in parts else mood_of([])
        return Selection(keywords[:self.max_keywords], stale, mood, clean,
                         sum(p.content_words for p in parts.values()), removed)


# A line a window in each language might hold: reading it loads every table the selector reads for it.
_WARM_LINES = {"de": "Der Hund spielt am Strand mit dem roten Ball.",
               "es": "El perro juega en la playa con la pelota roja.",
               "fr": "Le chien joue sur la plage avec la balle rouge."}


def languages_to_warm(language: str, auto_languages: Sequence[str]) -> tuple[str, ...]:
    """The glossed languages a prompter should load at start: the configured one, or for `auto` those it chooses
    among (all of them when it may choose any)."""
    wanted = (auto_languages or GLOSSED) if language == "auto" else (language,)
    return tuple(code for code in GLOSSED if code in wanted)


def warm(languages: Sequence[str]) -> None:
    """Load each language's word tables now (lemmas, emoji names and keywords, stop words, names, profanity,
    frequencies: 2-5 s for the first): they live in module caches shared by every selector, so a room's first
    window in that language does not wait for them. Thread-safe: it reads a throwaway selector of its own."""
    for language in languages:
        lexicon(language)
        ForeignSelector(language).select([_WARM_LINES[language]])


class WordTables:
    """Loads each glossed language's word tables once (`warm`: 1-3 s of CPU, about 170 MiB each) on a thread of
    their own, as soon as the prompter hears of the language: the configured ones at start, a room's when a
    `set_language` names it, any other when its first transcript arrives. The loads run one after another (two
    at once would only share the same cores). `start` never blocks; `ready` waits for a load that was started
    (or starts one) rather than loading the same tables a second time beside it. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loaded: dict[str, threading.Event] = {}  # set once a language's load has ended
        self._queue: deque[str] = deque()
        self._loader: threading.Thread | None = None

    def start(self, languages: Iterable[str]) -> None:
        """Queue each glossed language not loaded or queued yet; returns at once."""
        with self._lock:
            new = [code for code in dict.fromkeys(languages) if code in GLOSSED and code not in self._loaded]
            if not new:
                return
            self._loaded.update((code, threading.Event()) for code in new)
            self._queue.extend(new)
            if self._loader is None:
                self._loader = threading.Thread(target=self._load, name=LOADER_THREAD, daemon=True)
                self._loader.start()

    def ready(self, language: str) -> None:
        """Return once the language's tables are loaded (at once for English and those the prompter only reads
        as English)."""
        self.start((language,))
        with self._lock:
            loaded = self._loaded.get(language)
        if loaded is not None:
            loaded.wait()

    def _load(self) -> None:
        while True:
            with self._lock:
                if not self._queue:
                    self._loader = None
                    return
                language = self._queue.popleft()
            started = time.perf_counter()
            try:
                warm((language,))
                gc.freeze()  # as the English tables: collections need not walk them
                _LOGGER.info("Word tables for %s loaded in %.1f s", language, time.perf_counter() - started)
            except Exception:  # the window that needs them loads them itself, or fails as it would have
                _LOGGER.exception("could not load the word tables for %s", language)
            finally:
                self._loaded[language].set()


def _supported(code: str) -> str:
    """A line's language as a selector knows it: an unknown language is read as English (its nouns are often
    borrowed; better a few English words than none)."""
    return code if code in GLOSSED else "en"


def _moved(choice: Choice, rows: list[int], share: float, language: str) -> Choice:
    """A language group's choice in the whole window: its lines renumbered, its score weighed by its share."""
    return Choice(choice.text, round(choice.score * share, 4), tuple(rows[i] for i in choice.lines), language)
