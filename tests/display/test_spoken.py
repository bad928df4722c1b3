"""Spoken commands on the real display process: the line leaves the conversation, frames and the dashboard
hear what was understood, and unsure words reach the dashboard with their confidence."""

from __future__ import annotations

import json

import requests
from websockets.sync.client import connect

from shared.messages import SpokenAction, SpokenCommand, Transcript, Word
from tests.display.conftest import DisplayProcess, publish
from tests.support import Broker


def _next(socket, kind: str) -> dict:
    """The next event of `kind` (others, like mic statuses, may come in between)."""
    while True:
        event = json.loads(socket.recv(5))
        if event["type"] == kind:
            return event


def _line(audio_id: str, text: str, *words: Word) -> Transcript:
    return Transcript(room="living-room", source="mic-1", audio_id=audio_id, text=text, words=words,
                      engine="faster-whisper", model="tiny.en", audio_seconds=1, processing_seconds=0.1)


def test_a_spoken_command_is_marked_confirmed_and_not_conversation(broker: Broker, display: DisplayProcess) -> None:
    talk = _line("a1", "We saw a mallet of snow.", Word(text="We", start_seconds=0, end_seconds=0.2, confidence=0.9),
                 Word(text="mallet", start_seconds=0.2, end_seconds=0.5, confidence=0.2))
    said = _line("a2", "Hey frame, paint a red dragon.")
    spoken = said.derive(SpokenCommand, key="spoken", transcript_id=str(said.id), action=SpokenAction.PAINT,
                         subject="a red dragon", heard="paint a red dragon")
    with connect(f"ws://127.0.0.1:{display.port}/ws/dashboard", open_timeout=5) as dashboard, \
            connect(f"ws://127.0.0.1:{display.port}/ws/frame/living-room", open_timeout=5) as frame:
        dashboard.recv(5), frame.recv(5)
        publish(broker, talk, said, spoken)
        line = _next(dashboard, "transcript")["transcript"]
        assert [(w["text"], w["confidence"]) for w in line["words"]] == [("We", 0.9), ("mallet", 0.2)]
        assert _next(dashboard, "transcript")["transcript"]["id"] == str(said.id)
        heard = _next(dashboard, "spoken")["spoken"]
        assert (heard["transcript_id"], heard["action"], heard["subject"]) == (str(said.id), "paint", "a red dragon")
        assert _next(frame, "spoken")["spoken"]["action"] == "paint"
    feed = requests.get(f"{display.url}/api/rooms/living-room/transcripts", timeout=5).json()
    assert [t["text"] for t in feed] == ["We saw a mallet of snow."]  # the command is not conversation
