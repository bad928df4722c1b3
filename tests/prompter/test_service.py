"""`voxframe prompter` as a real process on the real broker: windows, dead letters, metrics and takeover."""

from __future__ import annotations

import json
import os
import random
import signal
import string
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from shared.bus import REASON_HEADER, Bus
from shared.config import BusSettings
from shared.messages import Command, Control, ImagePrompt, Transcript
from tests.support import PROCESS_START_SECONDS, Broker, free_port, wait_for

REPO = Path(__file__).resolve().parents[2]
TALK = ["We finally saw the northern lights in Iceland last winter.",
        "The northern lights were green over the glacier, like curtains.",
        "And the glacier had blue ice caves, we walked inside one."]


class PrompterProcess:
    """One `voxframe prompter` process on the test's namespace, with its own metrics port."""

    def __init__(self, settings: BusSettings, log: Path, *flags: str) -> None:
        self.port = free_port()
        env = {**os.environ, "VOXFRAME_AMQP_URL": settings.amqp_url, "VOXFRAME_NAMESPACE": settings.namespace,
               "VOXFRAME_MAX_ATTEMPTS": "2", "VOXFRAME_RETRY_BACKOFF_SECONDS": "0.05"}
        with log.open("ab") as out:  # the child has its own copy once started
            self.process = subprocess.Popen(
                [sys.executable, "-m", "shared.cli", "prompter", "--metrics-port", str(self.port), *flags],
                cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
        wait_for(self._ready, timeout=PROCESS_START_SECONDS, message=f"prompter ready (log: {log})")

    def _ready(self) -> bool:
        assert self.process.poll() is None, "prompter exited early"
        try:
            return requests.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1).status_code == 200
        except requests.ConnectionError:
            return False

    def metrics(self) -> str:
        return requests.get(f"http://127.0.0.1:{self.port}/metrics", timeout=2).text

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout=15)


@pytest.fixture
def start(bus_settings: BusSettings, broker: Broker, tmp_path: Path) -> Iterator:
    started: list[PrompterProcess] = []

    def launch(*flags: str) -> PrompterProcess:
        started.append(PrompterProcess(bus_settings, tmp_path / "prompter.log", *flags))
        return started[-1]

    yield launch
    for p in started:
        p.stop(signal.SIGKILL)


def transcripts(lines: list[str], room: str = "den") -> list[Transcript]:
    return [Transcript(room=room, source="mic1", audio_id=str(uuid.uuid4()), text=text, engine="test",
                       model="none", audio_seconds=3.0, processing_seconds=0.2) for text in lines]


def prompts(broker: Broker, queue: str) -> list[ImagePrompt]:
    return [ImagePrompt.from_json(body) for _, body in broker.drain(queue)]


@pytest.mark.slow  # a real 5 s window plus the process start
def test_a_window_closes_on_time_into_one_prompt(start, publisher: Bus, broker: Broker) -> None:
    tap = broker.tap("prompt.#")
    prompter = start("--window-seconds", "5", "--style", "photo")
    said = transcripts([*TALK, "Call me at 555-201-7788, it was fucking freezing."])
    publisher.publish(*said)
    seen: list[ImagePrompt] = []
    wait_for(lambda: seen.extend(prompts(broker, tap)) or seen, timeout=12, message="a prompt")
    [prompt] = seen
    assert {"northern lights", "glacier"} <= {k.text for k in prompt.keywords}
    assert prompt.text.startswith("a photograph of") and prompt.room == "den" and prompt.style == "photo"
    assert set(prompt.transcript_ids) <= {str(t.id) for t in said}
    published = (prompt.text + prompt.excerpt + " ".join(k.text for k in prompt.keywords)).lower()
    assert "7788" not in published and "fucking" not in published
    # the prompt is counted just after it is published, so the tap may see it first
    wait_for(lambda: 'voxframe_prompter_prompts_published_total{trigger="timer"} 1.0' in prompter.metrics(),
             timeout=5, message="the published prompt counted")
    metrics = prompter.metrics()
    assert 'voxframe_prompter_words_filtered_total{reason="phone"} 1.0' in metrics
    assert 'voxframe_prompter_words_filtered_total{reason="profanity"} 1.0' in metrics
    wait_for(lambda: broker.depth(broker.topology.prompter.name) == 0, message="transcripts consumed")


@pytest.mark.slow  # a real 5 s window plus the process start
def test_a_window_flooded_with_text_closes_on_time_and_holds_back_no_other_room(start, publisher: Bus,
                                                                                broker: Broker) -> None:
    """Choosing keywords costs time in proportion to the text, on the one thread every room waits on: 40
    transcripts of 19,000 characters of made-up words in one room's window took 17 s to choose from, and the other
    room's 5 s window was painted 23 s after its talk. A window reads its latest 20,000 characters."""
    tap = broker.tap("prompt.#")
    start("--window-seconds", "5")
    rng = random.Random(3)
    flood = [" ".join("".join(rng.choices(string.ascii_lowercase, k=rng.randint(4, 9))) for _ in range(2500))[:19_000]
             for _ in range(30)]
    publisher.publish(*transcripts(flood, room="flooded"), *transcripts(TALK, room="flooded"))
    published = time.monotonic()
    publisher.publish(*transcripts(TALK, room="den"))
    seen: dict[str, ImagePrompt] = {}
    wait_for(lambda: seen.update((p.room, p) for p in prompts(broker, tap)) or len(seen) == 2, timeout=30,
             message="both rooms' prompts")
    assert time.monotonic() - published < 5 + 6, "a 5 s window painted late"
    assert {"northern lights", "glacier"} <= {k.text for k in seen["flooded"].keywords}
    wait_for(lambda: broker.depth(broker.topology.prompter.name) == 0, message="every transcript acknowledged")


def test_bad_controls_are_dead_lettered_with_the_reason(start, publisher: Bus, broker: Broker) -> None:
    start()
    publisher.publish(Control(room="den", source="dashboard", command=Command.SET_STYLE, value="cubism"))
    dead = wait_for(lambda: broker.get(broker.topology.dead.name), timeout=10, message="a dead letter")
    props, _ = dead  # type: ignore[misc]
    assert props.headers[REASON_HEADER].startswith("unprocessable: unknown style 'cubism'"), "dead-lettered at once"


def test_messages_of_types_we_never_send_are_dead_lettered_under_one_label(start, publisher: Bus,
                                                                           broker: Broker) -> None:
    """The AMQP type is the publisher's to write: 300 made-up ones, and one of 255 bytes (the most AMQP carries),
    are each dead-lettered as `unknown`; the prompter stays up, keeps its metrics small, and still paints."""
    tap = broker.tap("prompt.#")
    prompter = start("--window-seconds", "600")
    series = len(prompter.metrics().splitlines())
    broker.publish_raw("transcript.den.mic1", b"{}", "t" * 255)
    for n in range(300):
        broker.publish_raw("transcript.den.mic1", b"{}", f"made-up-{n}")
    dead = wait_for(lambda: broker.depth(broker.topology.dead.name) == 301 and broker.drain(broker.topology.dead.name),
                    timeout=30, message="301 dead letters")
    reasons = {props.headers[REASON_HEADER] for props, _ in dead}
    assert f"unexpected_type: no handler for message type {'t' * 100!r} on {broker.topology.prompter.name}" in reasons
    assert {props.type for props, _ in dead} >= {"t" * 255, "made-up-0"}, "the letter keeps the type it was sent with"
    text = prompter.metrics()
    assert 'voxframe_messages_dead_lettered_total{reason="unexpected_type",stage="prompter",type="unknown"} 301.0' \
        in text
    assert "made-up" not in text and len(text.splitlines()) < series + 20, "one series for every type we never send"
    publisher.publish(*transcripts(TALK), Control(room="den", source="dashboard", command=Command.PAINT_NOW))
    wait_for(lambda: prompts(broker, tap), timeout=15, message="a prompt after the made-up types")
    assert requests.get(f"http://127.0.0.1:{prompter.port}/healthz", timeout=2).status_code == 200


@pytest.mark.slow  # two process starts, ~6 s on an idle machine
def test_a_replica_takes_over_the_window_of_one_that_died(start, publisher: Bus, broker: Broker) -> None:
    tap = broker.tap("prompt.#")
    first = start("--window-seconds", "600")
    said = transcripts(TALK)
    publisher.publish(*said)
    wait_for(lambda: broker.depth(broker.topology.prompter.name) == 0, message="transcripts delivered")
    first.stop(signal.SIGKILL)  # dies holding the window: its transcripts were never acknowledged
    start("--window-seconds", "600")
    publisher.publish(Control(room="den", source="dashboard", command=Command.PAINT_NOW))
    seen: list[ImagePrompt] = []
    wait_for(lambda: seen.extend(prompts(broker, tap)) or seen, timeout=10, message="a prompt from the new replica")
    assert "northern lights" in {k.text for k in seen[0].keywords}
    assert set(seen[0].transcript_ids) <= {str(t.id) for t in said}


def test_spoken_commands_act_at_once_and_bad_wake_phrases_are_dead_lettered(start, publisher: Bus,
                                                                             broker: Broker) -> None:
    tap = broker.tap("prompt.#", "control.#", "spoken.#")
    prompter = start("--window-seconds", "600", "--wake-phrase", "Hey, Frame")
    publisher.publish(*transcripts(["Hey frame, draw a lighthouse on a cliff.", "hey frame, stop listening",
                                    "Hay frame, juggle the oranges."]))
    seen: dict[str, list[dict]] = {"prompt": [], "control": [], "spoken": []}

    def collect() -> dict[str, list[dict]]:
        for props, body in broker.drain(tap):
            seen[props.type].append(json.loads(body))
        return seen

    wait_for(lambda: len(collect()["spoken"]) == 3, timeout=10, message="three spoken notices")
    [prompt] = seen["prompt"]
    assert "lighthouse" in prompt["text"] and prompt["room"] == "den"
    [mute] = seen["control"]
    assert (mute["command"], mute["room"], mute["mic"]) == ("mute", "den", None)
    assert [s["action"] for s in seen["spoken"]] == ["paint", "mute", "unrecognised"]
    assert 'voxframe_prompter_spoken_commands_total{action="unrecognised"} 1.0' in prompter.metrics()
    publisher.publish(Control(room="den", source="dashboard", command=Command.SET_WAKE_PHRASE, value="hey frame!"))
    props, _ = wait_for(lambda: broker.get(broker.topology.dead.name), timeout=10, message="a dead letter")
    assert props.headers[REASON_HEADER].startswith("unprocessable: a wake phrase is")
