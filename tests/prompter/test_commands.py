"""Spoken controls: what counts as the wake phrase, what each command phrasing means."""

from __future__ import annotations

import pytest

from services.prompter.engines.commands import parse
from shared.messages import SpokenAction
from shared.messages.control import wake_phrase

HEY_FRAME = tuple(wake_phrase("hey frame").split())


@pytest.mark.parametrize("line", [
    "Hey frame, paint a red dragon flying over a castle.",
    "hey, frame. Paint a red dragon flying over a castle",
    "Hay frame, draw a red dragon flying over a castle!",
    "A frame paint a red dragon flying over a castle.",
    "Heyframe, show me a red dragon flying over a castle.",
    "Hey, Fram, please paint a picture of a red dragon flying over a castle.",
])
def test_the_wake_phrase_is_heard_however_the_engine_spells_it(line: str) -> None:
    command = parse(line, HEY_FRAME)
    assert command is not None and command.action is SpokenAction.PAINT
    assert command.subject.lower().endswith("red dragon flying over a castle")
    assert "frame" not in command.subject.lower() and "hey" not in command.subject.lower()


@pytest.mark.parametrize("line", [
    "We framed the photo of the castle.", "The frame is crooked, hey.", "Hey, what's for dinner?",
    "Okay frame paint a dog", "",
])
def test_conversation_is_not_a_command(line: str) -> None:
    assert parse(line, HEY_FRAME) is None


@pytest.mark.parametrize(("line", "action"), [
    ("Hey frame, next picture.", SpokenAction.REGENERATE),
    ("Hey frame, another one!", SpokenAction.REGENERATE),
    ("Hey frame, paint that again.", SpokenAction.REGENERATE),
    ("Hey frame, stop listening.", SpokenAction.MUTE),
    ("Hey frame, what is this?", SpokenAction.DESCRIBE),
    ("Hey frame. What's this?", SpokenAction.DESCRIBE),
    ("Hey frame, sing me a song.", SpokenAction.UNRECOGNISED),
    ("Hey frame.", SpokenAction.UNRECOGNISED),
])
def test_each_command_and_an_unknown_one(line: str, action: SpokenAction) -> None:
    command = parse(line, HEY_FRAME)
    assert command is not None and command.action is action and command.subject == ""


def test_a_room_chooses_its_own_wake_phrase_and_can_turn_it_off() -> None:
    mine = tuple(wake_phrase("Okay, Picture").split())
    assert parse("OK picture, draw a lighthouse", mine).subject == "a lighthouse"
    assert parse("Hey frame, draw a lighthouse", mine) is None
    assert parse("Hey frame, draw a lighthouse", tuple(wake_phrase("").split())) is None


def test_a_long_subject_is_cut_at_a_word() -> None:
    command = parse("Hey frame, paint " + "a very long river " * 20, HEY_FRAME)
    assert 0 < len(command.subject) <= 120 and command.subject.endswith(("river", "long", "very", "a"))
