"""A mute switch is a state the display keeps, not an event a process may miss: a real `voxframe capture` that
crashes and comes back, and a real display that restarts (PostgreSQL), keep it until someone unmutes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import requests
from websockets.sync.client import connect

from shared.messages import AudioSegment, MicStatus
from tests.capture.conftest import CaptureProcess, messages
from tests.capture.test_worker import _write_conversation
from tests.display.conftest import DisplayProcess
from tests.display.test_mic import mic_url
from tests.support import Broker, postgres_database, wait_for


def _switch(display: DisplayProcess, room: str, command: str, mic: str | None = None) -> None:
    sent = requests.post(f"{display.url}/api/rooms/{room}/controls", json={"command": command, "mic": mic},
                         timeout=5)
    assert sent.status_code == 202, sent.text


def _tab_muted(display: DisplayProcess, room: str, name: str = "tablet") -> bool:
    """Whether a browser tab joining `room` as `name` starts muted."""
    with connect(mic_url(display, room=room, name=name)) as tab:
        return bool(json.loads(tab.recv(timeout=10))["muted"])


def _statuses(broker: Broker, queue: str, into: list[MicStatus]) -> list[MicStatus]:
    into.extend(m for m in messages(broker, queue) if isinstance(m, MicStatus))
    return into


def _talk(speech_dir: Path, tmp_path: Path) -> list[str]:
    _write_conversation(speech_dir, tmp_path / "talk.wav", ["pocketsphinx_cards_001.wav"], pause_s=0.3)
    return ["--file", str(tmp_path / "talk.wav"), "--loop", "--room", "kitchen", "--mic", "window",
            "--start-muted"]


@pytest.mark.slow  # two capture processes, ~25 s of looped speech
def test_a_muted_capture_that_crashes_and_restarts_publishes_no_speech_until_unmuted(
        broker: Broker, display: DisplayProcess, speech_dir: Path, tmp_path: Path) -> None:
    args = _talk(speech_dir, tmp_path)
    audio, status = broker.tap("audio.kitchen.#"), broker.tap("status.kitchen.window")
    first = CaptureProcess(args, broker.settings, tmp_path / "first.log")
    try:  # a room never muted listens: the display unmutes the mic that starts muted
        wait_for(lambda: any(isinstance(m, AudioSegment) for m in messages(broker, audio)), timeout=30,
                 message="the new mic's speech, once the display unmuted it")
        _switch(display, "kitchen", "mute")
        wait_for(lambda: any(s.muted for s in _statuses(broker, status, [])), timeout=10, message="a muted mic")
    finally:
        first.process.kill()  # a crash: nothing said on the way out
        first.process.wait(10)
    broker.drain(audio)
    broker.drain(status)
    again = CaptureProcess(args, broker.settings, tmp_path / "again.log")
    try:
        seen: list[MicStatus] = []
        wait_for(lambda: len(_statuses(broker, status, seen)) >= 8, timeout=30,
                 message="8 s of the restarted mic hearing the looped talk")
        assert all(s.muted for s in seen), [(s.muted, s.switched_at) for s in seen]
        assert seen[-1].switched_at is not None  # it was told the room's switch, not left as it started
        assert [m for m in messages(broker, audio) if isinstance(m, AudioSegment)] == []
        _switch(display, "kitchen", "unmute")
        wait_for(lambda: any(isinstance(m, AudioSegment) for m in messages(broker, audio)), timeout=30,
                 message="speech once the room is unmuted")
    finally:
        again.stop()


@pytest.mark.slow  # a display started twice and a capture process
def test_a_mute_outlives_a_display_restart(broker: Broker, display_factory: Callable[..., DisplayProcess],
                                           speech_dir: Path, tmp_path: Path) -> None:
    args = _talk(speech_dir, tmp_path)
    with postgres_database() as url:
        display = display_factory(VOXFRAME_DATABASE_URL=url)
        _switch(display, "hall", "mute")
        _switch(display, "kitchen", "mute", mic="window")
        wait_for(lambda: _tab_muted(display, "hall") and _tab_muted(display, "kitchen", "window"), timeout=10,
                 message="the switches kept")
        assert not _tab_muted(display, "kitchen")  # one mic's switch is that mic's
        display.stop()
        audio, status = broker.tap("audio.kitchen.#"), broker.tap("status.kitchen.window")
        capture = CaptureProcess(args, broker.settings, tmp_path / "capture.log")  # starts while the display is down
        try:
            display.start()
            assert _tab_muted(display, "hall")
            seen: list[MicStatus] = []
            wait_for(lambda: [s for s in _statuses(broker, status, seen) if s.switched_at is not None][4:],
                     timeout=30, message="5 statuses of the mic after the restarted display told it its switch")
            assert all(s.muted for s in seen)
            assert [m for m in messages(broker, audio) if isinstance(m, AudioSegment)] == []
        finally:
            capture.stop()
        display.stop()
