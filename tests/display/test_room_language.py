"""A room's language is the room's, not its running mics': saved by the real display on the real PostgreSQL, it
outlives a display restart and reaches a real `voxframe capture` mic that starts afterwards."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from shared.messages import AudioSegment
from tests.capture.conftest import CaptureProcess, messages
from tests.capture.test_worker import _write_conversation
from tests.display.conftest import DisplayProcess
from tests.support import Broker, postgres_database, wait_for


def _language(display: DisplayProcess, room: str) -> str | None:
    rooms = requests.get(f"{display.url}/api/rooms", timeout=5).json()
    return next((r["language"] for r in rooms if r["room"] == room), None)


@pytest.mark.slow  # a display started twice and a capture process: 18 s at load 8-11
def test_a_rooms_language_outlives_a_display_restart_and_reaches_a_mic_that_starts_later(
        broker: Broker, display_factory: Callable[..., DisplayProcess], speech_dir: Path, tmp_path: Path) -> None:
    with postgres_database() as url:
        display = display_factory(VOXFRAME_DATABASE_URL=url)
        sent = requests.post(f"{display.url}/api/rooms/kitchen/controls",
                             json={"command": "set_language", "value": "de-AT"}, timeout=5)
        assert sent.status_code == 202, sent.text
        wait_for(lambda: _language(display, "kitchen") == "de", timeout=10, message="the display to keep 'de'")
        _write_conversation(speech_dir, tmp_path / "talk.wav", ["pocketsphinx_cards_001.wav"], pause_s=0.3)
        tap = broker.tap("audio.kitchen.#")
        display.stop()  # the mic starts while the display is down: no one can tell it the language yet
        capture = CaptureProcess(["--file", str(tmp_path / "talk.wav"), "--loop", "--room", "kitchen", "--mic",
                                  "window"], broker.settings, tmp_path / "capture.log")
        seen: list[AudioSegment] = []
        try:
            display.start()
            assert _language(display, "kitchen") == "de"

            def german() -> bool:
                seen.extend(m for m in messages(broker, tap) if isinstance(m, AudioSegment))
                return any(s.language == "de" for s in seen)

            wait_for(german, timeout=20, message="a segment of the new mic that asks for German")
        finally:
            capture.stop()
        assert {s.language for s in seen} <= {None, "de"}  # those cut before it was told name none
        display.stop()
