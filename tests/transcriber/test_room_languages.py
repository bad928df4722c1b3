"""A room's prior over languages: a short, unsure line does not flip the room; a clear line in another language
at the same table is heard in its own; a room that moves to another language is followed within a few lines."""

from __future__ import annotations

import pytest

from services.transcriber import languages
from services.transcriber.languages import RoomLanguages, choose_language

UNSURE_DUTCH = {"nl": 0.55, "de": 0.35, "en": 0.10}  # "Ja, genau." — two words Whisper is unsure about
CLEAR_SPANISH = {"es": 0.96, "pt": 0.03, "de": 0.01}


def german_room(rooms: RoomLanguages, lines: int = 4) -> None:
    for _ in range(lines):
        rooms.heard("kitchen", {"de": 0.97, "en": 0.02, "nl": 0.01}, 4.0)


def test_a_new_room_goes_by_the_detection_alone() -> None:
    rooms = RoomLanguages()
    assert rooms.prior("kitchen") == {}
    assert choose_language(UNSURE_DUTCH, rooms.prior("kitchen")) == "nl"


def test_a_short_unsure_line_stays_in_the_rooms_language_and_a_clear_one_is_heard_in_its_own() -> None:
    rooms = RoomLanguages()
    german_room(rooms)
    prior = rooms.prior("kitchen")
    assert abs(sum(prior.values()) - 1) < 1e-9 and max(prior, key=prior.__getitem__) == "de"
    assert choose_language(UNSURE_DUTCH, prior) == "de"
    assert choose_language(CLEAR_SPANISH, prior) == "es"
    assert rooms.prior("living-room") == {}  # rooms do not share their priors


def test_a_room_sure_of_its_language_keeps_a_line_detected_only_fairly_surely_as_another() -> None:
    """Whisper base takes a short line of espeak-ng's French for English at 0.56-0.79 (bench-languages' dev
    scenes): after one French line the room is sure enough to keep it French; a clear English line is English."""
    rooms = RoomLanguages()
    rooms.heard("kitchen", {"fr": 0.63, "en": 0.31, "de": 0.06}, 3.5)
    assert choose_language({"en": 0.79, "de": 0.18, "fr": 0.03}, rooms.prior("kitchen")) == "fr"
    assert choose_language({"en": 0.93, "fr": 0.05, "de": 0.02}, rooms.prior("kitchen")) == "en"


def test_a_room_that_moves_to_another_language_is_followed_within_a_few_lines() -> None:
    rooms = RoomLanguages()
    german_room(rooms, lines=20)
    unsure_spanish = {"es": 0.6, "de": 0.3, "it": 0.1}
    chosen = []
    for _ in range(6):
        chosen.append(choose_language(unsure_spanish, rooms.prior("kitchen")))
        rooms.heard("kitchen", unsure_spanish, 4.0)  # the evidence, not the choice, builds the prior
    assert chosen[0] == "de" and chosen[-1] == "es"


def test_the_rooms_remembered_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(languages, "MAX_ROOMS", 3)
    rooms = RoomLanguages()
    for name in ("a", "b", "c", "d"):
        rooms.heard(name, {"de": 1.0}, 1.0)
    rooms.heard("b", {"de": 1.0}, 1.0)  # heard again: the most recent
    rooms.heard("e", {"fr": 1.0}, 1.0)
    assert [name for name in "abcde" if rooms.prior(name)] == ["b", "d", "e"]
    rooms.heard("e", {"fr": 1.0}, 0.0)  # no speech: no evidence
    rooms.heard("e", {}, 3.0)
    assert rooms.prior("e") == {"fr": 1.0}
