"""A takeover that remembers: a standby prompter that takes over after SIGKILL continues each room's settings,
living scene and novelty from the shared PostgreSQL (the real one of this machine, a database of the test's own)."""

from __future__ import annotations

import json
import signal
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from shared.bus import Bus
from shared.config import BusSettings
from shared.messages import Command, Control, ImagePrompt, Transcript
from tests.prompter.test_service import PrompterProcess
from tests.support import Broker, postgres_database, wait_for

SKI_TRIP = ["We took the kids skiing in the mountains last winter.",
            "The ski lifts were slow but the snow on the mountains was deep and fresh.",
            "Every evening we sat by the fireplace in the wooden cabin drinking cocoa."]
BOAT_DAY = ["Then in spring we rented a sailboat on the lake.",
            "The sailboat had a red sail and we saw swans near the lighthouse.",
            "Dad fell in the lake trying to photograph the lighthouse and the swans.",
            "Remember the skiing?"]


@pytest.fixture
def database() -> Iterator[str]:
    with postgres_database() as url:
        yield url


def _saved_prompt(database: str) -> str | None:
    with psycopg.connect(database) as db:
        row = db.execute("SELECT state FROM prompter_rooms WHERE room = 'den'").fetchone()
    return json.loads(row[0])["last_prompt"]["id"] if row and json.loads(row[0])["last_prompt"] else None


def _unacked(queue: str) -> int:
    listing = subprocess.run(["rabbitmqctl", "-q", "list_queues", "name", "messages_unacknowledged"],
                             capture_output=True, text=True, timeout=60, check=True).stdout
    return sum(int(line.split()[1]) for line in listing.splitlines() if line.split()[:1] == [queue])


def _lines(lines: list[str]) -> list[Transcript]:
    return [Transcript(room="den", source="mic1", audio_id=str(uuid.uuid4()), text=text, engine="test",
                       model="none", audio_seconds=3.0, processing_seconds=0.2) for text in lines]


def _paint(publisher: Bus, broker: Broker, tap: str, lines: list[str]) -> ImagePrompt:
    publisher.publish(*_lines(lines))
    publisher.publish(Control(room="den", source="dashboard", command=Command.PAINT_NOW))
    got = wait_for(lambda: broker.drain(tap), timeout=20, message="a prompt")
    return ImagePrompt.from_json(got[-1][1])  # type: ignore[index]


@pytest.mark.slow  # two prompter processes
def test_a_standby_taking_over_keeps_the_rooms_style_and_scene(publisher: Bus, broker: Broker,
                                                                bus_settings: BusSettings, tmp_path: Path,
                                                                database: str) -> None:
    tap = broker.tap("prompt.#")
    flags = ("--window-seconds", "600", "--database-url", database)
    active = PrompterProcess(bus_settings, tmp_path / "active.log", *flags)
    standby = PrompterProcess(bus_settings, tmp_path / "standby.log", *flags)
    try:
        publisher.publish(Control(room="den", source="dashboard", command=Command.SET_STYLE, value="pixel art"))
        first = _paint(publisher, broker, tap, SKI_TRIP)
        assert first.style == "pixel art"
        painted = {k.text.split()[-1] for k in first.keywords}
        assert painted & {"skiing", "mountain", "mountains", "ski", "cabin", "fireplace", "snow"}, first.keywords
        wait_for(lambda: _saved_prompt(database) == str(first.id) and _unacked(broker.topology.prompter.name) == 0,
                 timeout=20, message="the window's state saved and its transcripts acknowledged")
        active.stop(signal.SIGKILL)  # dies after painting: the standby takes over the room
        second = _paint(publisher, broker, tap, BOAT_DAY)
        assert second.style == "pixel art", "the room's style survived the takeover"
        assert first.scene is not None and second.scene is not None and second.scene.window == 2, \
            "the room's living scene survived the takeover"
        before = {e.id: e for e in first.scene.elements}
        stayed = [e for e in second.scene.elements if e.id in before]
        assert stayed and all(e.fading and e.x == before[e.id].x for e in stayed), "the ski trip fades where it was"
        new = {e.keyword.split()[-1] for e in second.scene.elements if e.entered == 2}
        assert new & {"sailboat", "lake", "lighthouse", "swans", "swan", "sail"}, second.scene
    finally:
        active.stop(signal.SIGKILL)
        standby.stop(signal.SIGKILL)


def test_a_restarted_prompter_finds_its_rooms_in_the_sqlite_default(tmp_path: Path) -> None:
    """Without a database URL, rooms are kept in the data dir's SQLite: settings, novelty (with its age, across
    two processes' clocks) and the last prompt come back."""
    from services.prompter.engines.lexical import LexicalSelector
    from services.prompter.handler import Prompter
    from services.prompter.memory import open_store

    published: list[ImagePrompt] = []
    before = Prompter(LexicalSelector(), published.append, lambda: lambda: None,
                      store=open_store("", tmp_path, "ns"), clock=lambda: 1000.0, wall_clock=lambda: 50_000.0)
    before.on_control(Control(room="den", source="dashboard", command=Command.SET_IMAGES, value=3))
    before.on_control(Control(room="den", source="display", command=Command.SET_FINISH, value="bw"))
    for t in _lines(SKI_TRIP):
        before.on_transcript(t)
    before.on_control(Control(room="den", source="dashboard", command=Command.PAINT_NOW))
    [painted] = published
    after = Prompter(LexicalSelector(), published.append, lambda: lambda: None,
                     store=open_store("", tmp_path, "ns"), clock=lambda: 7.0, wall_clock=lambda: 50_030.0)
    room = after._room("den")
    assert room.num_images == 3 and room.last_prompt == painted and room.finish == painted.finish == "bw"
    head = painted.keywords[0].text
    assert 0.0 < room.novelty.novelty(head, 7.0) < 0.5, "painted 30 s ago (half-life 60 s): still mostly stale"
    assert open_store("", tmp_path, "other-namespace").load("den") is None
