"""The CLDR keyword lexicon's alignment, on annotations small enough to read."""

from __future__ import annotations

from shared.language.cldr_keywords import align


def _tags(*keywords: str) -> dict[str, list[str]]:
    return {"default": list(keywords)}


def test_a_keyword_glosses_as_the_english_keyword_it_tags_emoji_with_most() -> None:
    german = {"❄": _tags("Schnee", "kalt", "Schneeflocke"), "☃": _tags("Schnee", "kalt", "Schneemann"),
              "🧀": _tags("Käse", "Käsestück"), "🍕": _tags("Käse", "Pizza"), "🥶": _tags("Frost", "blau")}
    english = {"❄": _tags("snow", "cold", "snowflake"), "☃": _tags("snow", "cold", "snowman"),
               "🧀": _tags("cheese", "cheese wedge"), "🍕": _tags("cheese", "pizza"), "🥶": _tags("cold", "freezing")}
    lexicon = align(german, english)
    assert lexicon["schnee"] == "snow" and lexicon["käse"] == "cheese"


def test_one_meeting_is_no_evidence() -> None:
    """The yeti is tagged "bosque" in Spanish and "forest", "hairy" and "giant" in English: a tie of one emoji."""
    lexicon = align({"🫈": _tags("bosque", "gigante", "peludo")}, {"🫈": _tags("forest", "giant", "hairy")})
    assert lexicon == {}


def test_a_sequence_is_not_read_for_its_parts() -> None:
    """👩‍💻 is tagged with a screen's word and a role's ("Bildschirm", "inventor"): the pair says nothing of either."""
    lexicon = align({"👩\u200d💻": _tags("Bildschirm"), "🧑\u200d💻": _tags("Bildschirm")},
                    {"👩\u200d💻": _tags("inventor"), "🧑\u200d💻": _tags("inventor")})
    assert lexicon == {}
