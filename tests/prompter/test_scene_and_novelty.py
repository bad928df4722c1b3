"""Prompt text within the generators' limit, style presets, and the memory that keeps the frame moving on."""

from __future__ import annotations

import pytest

from services.prompter.engines.lexical import LexicalSelector
from services.prompter.engines.mood import MOODS_BY_NAME
from services.prompter.engines.novelty import NoveltyMemory
from services.prompter.engines.scene import STYLES, compose
from shared.messages.control import style_name

NEUTRAL = MOODS_BY_NAME["neutral"]


def test_prompt_weaves_keywords_style_and_palette() -> None:
    text = compose(["golden retriever", "apple pie", "northern lights"], "storybook", MOODS_BY_NAME["joyful"])
    assert text.startswith("a storybook illustration of golden retriever, apple pie and northern lights")
    assert MOODS_BY_NAME["joyful"].palette in text


def test_prompt_drops_the_weakest_keywords_to_stay_under_the_limit() -> None:
    words = ["lighthouse", "stormy cliff", "keeper", "seagulls", "lantern", "fishing boat", "harbor"]
    text = compose(words, "oil painting", NEUTRAL, max_chars=120)
    assert len(text) <= 120
    assert "lighthouse" in text and "harbor" not in text
    with pytest.raises(ValueError, match="does not fit"):
        compose(words, "oil painting", NEUTRAL, max_chars=20)


@pytest.mark.parametrize(("value", "name"), [("Oil-Painting", "oil painting"), ("pixel_art", "pixel art"),
                                             ("  PHOTO ", "photo")])
def test_style_names_are_forgiving(value: str, name: str) -> None:
    assert style_name(value) == name


def test_unknown_style_names_the_choices() -> None:
    with pytest.raises(ValueError, match="watercolor"):
        style_name("cubism")
    assert all(len(compose(["x"], s, NEUTRAL)) < 240 for s in STYLES)


def test_a_painted_topic_fades_and_may_return() -> None:
    memory = NoveltyMemory(half_life_seconds=60)
    memory.remember(["golden retriever"], now=100.0)
    assert memory.novelty("retriever", 100.0) == pytest.approx(0.0)
    assert memory.novelty("golden retrievers", 130.0) == pytest.approx(1 - 0.5 ** 0.5)
    assert memory.novelty("retriever", 160.0) == pytest.approx(0.5)
    assert memory.novelty("golden sunset", 100.0) == 1.0  # shares a modifier, not the topic
    memory.forget_faded(now=100.0 + 60 * 8)
    assert memory.novelty("retriever", 100.0) == 1.0


def test_selector_holds_back_what_was_just_painted() -> None:
    selector = LexicalSelector()
    lines = ["The puppy chewed my shoes again.", "That puppy! She also found a crab at the beach.",
             "The crab pinched her nose, poor puppy."]
    memory = NoveltyMemory(half_life_seconds=60)
    first = selector.select(lines, lambda p: memory.novelty(p, 0.0))
    assert first.keywords[0].text == "puppy"
    memory.remember(["puppy"], 0.0)
    again = selector.select(lines, lambda p: memory.novelty(p, 30.0))
    assert "puppy" not in [c.text for c in again.keywords]
    assert "puppy" in [c.text for c in again.stale]
    assert again.keywords[0].text == "crab"
    later = selector.select(lines, lambda p: memory.novelty(p, 240.0))
    assert "puppy" in [c.text for c in later.keywords]


def test_a_window_about_only_the_last_topic_is_nothing_new() -> None:
    selector = LexicalSelector()
    memory = NoveltyMemory(half_life_seconds=60)
    memory.remember(["pizza"], 0.0)
    lines = ["More pizza? This pizza is so good.", "Pizza again tomorrow, pizza every day, I love pizza."]
    selection = selector.select(lines, lambda p: memory.novelty(p, 30.0))
    assert selection.skip_reason(min_words=3) == "nothing_new"
    assert selection.skip_reason(min_words=3, forced=True) is None
    assert [c.text for c in selection.chosen()] == ["pizza"]
