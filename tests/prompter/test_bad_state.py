"""A room's bad saved state is that room's problem: rows that no longer validate (a style that is no longer a
preset, a NaN window, 0 images, not JSON at all), in the real PostgreSQL, read by the real prompter process on
the real broker. Each such room starts from the defaults with a warning; every room is painted; no transcript
stays held; /healthz stays truthful."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import requests

from shared.bus import Bus
from shared.config import BusSettings
from shared.messages import ImagePrompt
from tests.prompter.test_service import TALK, PrompterProcess, transcripts
from tests.prompter.test_takeover import _unacked
from tests.support import Broker, postgres_database, wait_for

VALID = {"window_seconds": 5.0, "style": "pixel art", "num_images": 2, "wake": ["hey", "frame"], "painted": {},
         "last_prompt": None}
BAD = {
    "attic": json.dumps({**VALID, "style": "cubism"}),  # a preset since removed
    "cellar": json.dumps({**VALID, "window_seconds": math.nan}),  # json.dumps writes NaN; json.loads reads it
    "garage": json.dumps({**VALID, "num_images": 0}),
    "shed": "{not json",
}


@pytest.fixture
def database() -> Iterator[str]:
    with postgres_database() as url:
        yield url


def test_rooms_with_invalid_saved_state_start_from_defaults_and_every_room_is_painted(
        publisher: Bus, broker: Broker, bus_settings: BusSettings, tmp_path: Path, database: str) -> None:
    tap = broker.tap("prompt.#")
    log = tmp_path / "prompter.log"
    prompter = PrompterProcess(bus_settings, log, "--window-seconds", "5", "--database-url", database)
    try:
        rows = {**BAD, "den": json.dumps(VALID)}  # and one valid row, restored as saved
        with psycopg.connect(database) as db:  # the process migrated the schema before it was ready
            for room, state in rows.items():
                db.execute("INSERT INTO prompter_rooms VALUES (%s, %s, %s, %s)",
                           (bus_settings.namespace, room, state, time.time()))
        for room in rows:
            publisher.publish(*transcripts(TALK, room=room))
        seen: dict[str, ImagePrompt] = {}

        def painted() -> dict[str, ImagePrompt]:
            seen.update((p.room, p) for p in (ImagePrompt.from_json(body) for _, body in broker.drain(tap)))
            return seen

        wait_for(lambda: painted().keys() == rows.keys(), timeout=30, interval=0.2,
                 message=f"a prompt for each of {sorted(rows)} (got {sorted(seen)})")
        assert {room: (p.style, p.num_images) for room, p in seen.items()} == {
            "den": ("pixel art", 2), **{room: ("watercolor", 1) for room in BAD}}  # saved; the defaults
        wait_for(lambda: _unacked(broker.topology.prompter.name) == 0, timeout=20,
                 message="every transcript acknowledged")
        text = log.read_text()
        assert all(f"room '{room}': its saved state" in text for room in BAD), text[-3000:]
        assert requests.get(f"http://127.0.0.1:{prompter.port}/healthz", timeout=5).status_code == 200
    finally:
        prompter.stop()
