"""Everyday words → the illustration a person would pick, or nothing for words no picture shows."""

from __future__ import annotations

import pytest

from services.generator.engines.illustrator.catalog import glyphs
from services.generator.engines.illustrator.match import Matcher
from shared.embeddings import encoder

TABLE = {
    # names, plurals, multi-word
    "tent": "tent", "tents": "tent", "owl": "owl", "birthday cake": "birthday cake", "candles": "candle",
    "balloons": "balloon", "mountains": "mountain", "stars": "star", "snowman": "snowman", "canoe": "canoe",
    "hot dogs": "hot dog", "ice cream": "ice cream", "strawberries": "strawberry", "cookies": "cookie",
    "tomatoes": "tomato", "eggs": "egg", "batteries": "battery", "robot": "robot", "dog": "dog", "horse": "horse",
    "pizza": "pizza", "bicycle": "bicycle", "guitar": "guitar", "umbrella": "umbrella", "volcano": "volcano",
    "castle": "castle", "rainbow": "rainbow", "sunset": "sunset", "compass": "compass", "backpack": "backpack",
    "flashlight": "flashlight", "popcorn": "popcorn", "sandwich": "sandwich", "taco": "taco", "deer": "deer",
    "bear": "bear", "fox": "fox", "raccoon": "raccoon", "banana": "banana", "carrots": "carrot",
    "wedding": "wedding", "baby": "baby", "teacher": "teacher", "basketball": "basketball", "camel": "camel",
    "sunflower": "sunflower", "roses": "rose", "fire": "fire", "bread": "bread", "the moon": "crescent moon",
    # aliases and CLDR/emojilib keywords
    "campfire": "fire", "hot chocolate": "hot beverage", "northern lights": "milky way", "forest": "evergreen tree",
    "tree": "deciduous tree", "trees": "deciduous tree", "grandmother": "old woman", "puppy": "dog",
    "kitten": "cat", "gift": "wrapped gift", "presents": "wrapped gift", "car": "automobile", "burger": "hamburger",
    "fries": "french fries", "soccer": "soccer ball", "piano": "musical keyboard", "coffee": "hot beverage",
    "winter": "snowflake", "clock": "mantelpiece clock", "beach": "beach with umbrella", "waves": "water wave",
    "apple pie": "pie", "wine": "wine glass", "beer": "beer mug", "phone": "mobile phone", "rain": "cloud with rain",
    "lightning": "cloud with lightning", "surfing": "person surfing", "skiing": "skier", "island": "desert island",
    "shells": "spiral shell", "photo": "camera", "cheese": "cheese wedge", "party": "party popper",
    "kitchen": "cooking", "hiking": "hiking boot", "fishing": "fishing pole", "computer": "desktop computer",
    "cabin": "hut", "city": "cityscape", "sea": "water wave", "sausages": "hot dog",
    # meaning only
    "marshmallows": "candy", "kayak": "canoe", "hills": "mountain", "firewood": "wood", "oak": "wood",
    # nothing a picture should show
    "ambience": None, "weekend": None, "idea": None, "honestly": None, "maybe": None, "conversation": None,
    "feeling": None, "plan": None, "problem": None, "thing": None, "sleeping bag": None, "blue": None,
    # spelled alike, meaning apart: word pieces must not decide
    "hammock": None, "fence": None, "cracks": None, "pounds": None,
}


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher(glyphs(), encoder())


def test_the_table_is_about_a_hundred_words() -> None:
    assert len(TABLE) >= 100


@pytest.mark.parametrize(("word", "expected"), TABLE.items())
def test_a_word_finds_its_illustration(matcher: Matcher, word: str, expected: str | None) -> None:
    found = matcher.match(word)
    assert (found.name if found else None) == expected


def test_every_illustration_is_an_openmoji_svg_in_a_scene_zone() -> None:
    catalog = glyphs()
    assert len(catalog) > 1000
    assert len({g.hexcode for g in catalog}) == len(catalog)
    names = {g.name for g in catalog}
    assert {"tent", "owl", "birthday cake", "snowman", "robot"} <= names
    assert not {g.subgroup for g in catalog} & {"country-flag", "skin-tone", "face-smiling", "arrow"}
    assert not any("skin tone" in n for n in names)
    assert not {"pile of poo", "pistol", "cigarette"} & names  # never on a family's wall
