"""What the window is about beats what was misheard: word confidence and the semantic selector."""

from __future__ import annotations

import random
import string
import time
from collections import Counter
from dataclasses import replace

import pytest

from services.prompter.__main__ import load_selector
from services.prompter.engines.lexical import LexicalSelector, _Candidate
from services.prompter.engines.semantic import SemanticSelector

SKI_TRIP = ["We just got back from our skiing trip in the mountains.",
            "There was a mallet of fresh snow on the first morning.",
            "The cabin had a fireplace and we skied every afternoon.",
            "Skiing in powder snow is the best, the slopes were empty."]


@pytest.fixture(scope="module")
def semantic() -> SemanticSelector:
    selector = load_selector(4)
    assert isinstance(selector, SemanticSelector), "the embedding model ships with the project's dependencies"
    return selector


def chosen(selector: LexicalSelector, lines: list[str], heard: list[dict[str, float]] | None = None) -> list[str]:
    return [k.text.lower() for k in selector.select(lines, None, heard).keywords]


def test_an_outlier_loses_to_the_theme(semantic: SemanticSelector) -> None:
    words = chosen(semantic, SKI_TRIP)
    assert "mallet" not in words and {"skiing", "snow"} <= set(words)
    assert "mallet" in chosen(LexicalSelector(), SKI_TRIP)  # what the lexical scores alone would paint


def test_a_doubtful_word_needs_repetition_or_support() -> None:
    lexical = LexicalSelector()
    lines = ["We walked along the harbour to see the boats.", "There was a big beer at the end of it.",
             "The boats in the harbour were painted blue and red."]
    unsure = [{}, {"beer": 0.31}, {}]
    assert "beer" in chosen(lexical, lines) and "beer" not in chosen(lexical, lines, unsure)
    twice = [*lines, "Then we sat on the beer and watched the sunset."]
    assert "beer" in chosen(lexical, twice, [*unsure, {"beer": 0.35}])  # said twice: no longer a one-off


def test_sure_words_are_unaffected_by_confidence(semantic: SemanticSelector) -> None:
    sure = [{w.strip(".,").lower(): 0.95 for w in line.split()} for line in SKI_TRIP]
    assert chosen(semantic, SKI_TRIP, sure) == chosen(semantic, SKI_TRIP)


def test_lexical_is_the_fallback_without_the_model(monkeypatch: pytest.MonkeyPatch) -> None:
    import shared.embeddings

    monkeypatch.setattr(shared.embeddings, "encoder", lambda: (_ for _ in ()).throw(RuntimeError("not installed")))
    assert type(load_selector(4)) is LexicalSelector
    assert type(load_selector(4, semantic=False)) is LexicalSelector


def test_a_middling_confidence_still_needs_support(semantic: SemanticSelector) -> None:
    """tiny.en's painted mishearings sit at 0.5-0.7 too ("bacon" 0.62 in talk of pie): with fit to vouch for the
    ones that belong, the semantic selector treats such a one-off as doubtful."""
    lines = ["We walked along the harbour to see the boats.", "There was a big beer at the end of it.",
             "The boats in the harbour were painted blue and red."]
    for middling in (0.55, 0.65):
        assert "beer" not in chosen(semantic, lines, [{}, {"beer": middling}, {}]), middling
    assert "beer" in chosen(semantic, lines, [{}, {"beer": 0.9}, {}])  # a sure hearing competes as before


def test_repetition_vouches_only_across_lines(semantic: SemanticSelector) -> None:
    """A garbled line repeats its own mishearing ("a mallet, a mallet of fresh snow"): only another line counts."""
    garbled = [SKI_TRIP[0], "There was a mallet, a mallet of fresh snow on the first morning.", *SKI_TRIP[2:]]
    unsure = [{}, {"mallet": 0.3}, {}, {}]
    assert "mallet" not in chosen(semantic, garbled, unsure)
    again = [*garbled, "We bought a mallet for the tent pegs."]
    assert "mallet" in chosen(semantic, again, [*unsure, {"mallet": 0.4}])


def test_adjectives_and_verbs_still_tell_the_theme(semantic: SemanticSelector) -> None:
    """A word the tagger reads as a verb ("raining") is no keyword, but it still says what the window is about."""
    lines = ["It has been raining all day, raining and raining.", "The rain on the window is relaxing.",
             "I made hot chocolate and lit a candle."]
    words = chosen(semantic, lines)
    assert "raining" not in words and "rain" in words



def test_a_doubtful_rare_word_counts_less_than_a_sure_one(semantic: SemanticSelector) -> None:
    """Rarity makes a sure word specific; heard once and doubtfully, a rare word is more likely a mishearing: it
    keeps only part of its rarity bonus (and may not be painted at all)."""
    lines = ["We took the toboggan up the hill behind the cabin.", "The snow on the hill was deep and fresh.",
             "Then we had cocoa in the cabin by the fire, the snow still falling."]

    def score(confidence: float) -> float:
        keywords = semantic.select(lines, None, [{"toboggan": confidence}, {}, {}]).keywords
        return next((k.score for k in keywords if k.text.lower() == "toboggan"), 0.0)

    assert score(0.95) > 0 and score(0.6) < score(0.95)
    toboggan = _Candidate("toboggan", ("toboggan",), Counter({"toboggan": 1}), {0}, nominal=1)
    sure = semantic._score(replace(toboggan, sure=0.95), {})
    assert semantic._score(replace(toboggan, sure=0.6), {}) < sure
    twice = replace(toboggan, sure=0.6, lines={0, 2}, surfaces=Counter({"toboggan": 2}))
    assert semantic._score(twice, {}) > sure  # said in two lines: no longer doubtful, and counted twice


def test_meaning_tells_how_concrete_an_unrated_word_is() -> None:
    """The ratings predicted from a word's embedding keep things apart from ideas, as people rate them."""
    from services.prompter.engines.imageability import predicted
    from shared.embeddings import encoder

    things = ["teapot", "ladder", "giraffe", "bucket", "pebble", "trumpet", "carrot", "kettle"]
    ideas = ["honesty", "reason", "belief", "chance", "freedom", "theory", "mercy", "purpose"]
    thing, idea = predicted(encoder().encode(things)), predicted(encoder().encode(ideas))
    assert thing.min() > idea.max() and thing.mean() - idea.mean() > 1.5, (thing, idea)


def test_a_thing_the_norms_do_not_rate_competes_by_its_meaning(semantic: SemanticSelector) -> None:
    """"pinata" is in no norm; a flat guess put it under every rated word said once beside it, however often the
    room said it. Its meaning says it is a thing."""
    lines = ["We still need a pinata for the party.", "A pinata shaped like a donkey, the kids can hit it.",
             "The candles are in the kitchen drawer, by the napkins and the paper plates.",
             "Fill the pinata with sweets the night before."]
    assert "pinata" in chosen(semantic, lines)


def test_a_window_of_thousands_of_unrated_words_embeds_a_few(semantic: SemanticSelector) -> None:
    """Each unrated noun was embedded to rate it by its meaning: a transcript of 3,000 made-up words (20,000
    characters, the most one may hold) took 31 s of CPU on the prompter's one work thread. Only the most said are
    rated so; "pinata", said three times, is still among them."""
    rng = random.Random(7)
    noise = " ".join("".join(rng.choices(string.ascii_lowercase, k=rng.randint(4, 9))) for _ in range(3000))
    lines = ["We still need a pinata for the party.", "A pinata shaped like a donkey, the kids can hit it.",
             "Fill the pinata with sweets the night before.", noise[:19_000]]
    semantic._cache.clear()
    started = time.thread_time()
    assert "pinata" in chosen(semantic, lines)
    assert time.thread_time() - started < 5
