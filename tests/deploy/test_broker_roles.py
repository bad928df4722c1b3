"""One broker user per role, on the real RabbitMQ with the rendered definitions: each role's workers do their job,
and each role is refused everything else (publishing others' messages, reading others' queues, changing the
topology). A stolen mic or GPU host credential can do no more than that host could."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pika
import pika.exceptions
import pytest
import soundfile
from pika.adapters.blocking_connection import BlockingChannel

from shared.bus import Bus, Topology
from shared.bus.teardown import delete_namespace
from shared.config import BusSettings
from shared.messages import MESSAGE_TYPES, Command, Control, GeneratedImage, ImagePrompt, Transcript
from shared.messages.audio import AudioSegment
from tests.bus.test_bus import audio, transcript_of
from tests.deploy.conftest import ROLES, amqp_url, role_url
from tests.e2e.harness import Pipeline
from tests.support import free_port, stays, wait_for

pytestmark = pytest.mark.slow  # the definitions are imported with rabbitmqctl (~2 s a call)

# What each role may publish on the events exchange (routing keys start `<kind>.` or `job.<kind>.`): the rule
# the issue sets, written out here rather than read from the template it checks.
PUBLISHES = {
    "capture": {"audio", "status", "heard"},
    "transcriber": {"transcript", "job.transcript"},
    "prompter": {"prompt", "control", "spoken", "job.prompt", "job.unpainted"},
    "generator": {"image", "job.image"},
    "display": {"control", "audio", "status", "heard", "job.audio", "job.progress", "job.text"},
}
KINDS = sorted({kind for kinds in PUBLISHES.values() for kind in kinds} | {"job.control", "job.spoken"})


def test_every_message_type_is_in_the_table() -> None:
    """A new message type must be given to a role here (and in the definitions), or no worker could send it."""
    assert {cls.KIND for cls in MESSAGE_TYPES.values()} <= {k.removeprefix("job.") for k in KINDS}


@pytest.fixture(scope="module")
def topology(imported: dict[str, str]) -> Iterator[dict[str, str]]:
    """The definitions imported, and the topology declared by the display's user (as a display at start)."""
    bus = Bus("roles-display", settings(imported, "display"))
    bus.start()
    bus.wait_connected(20)
    bus.stop(10)
    yield imported


def remove_topology(env: dict[str, str]) -> None:
    connection = pika.BlockingConnection(pika.URLParameters(
        amqp_url(env["RABBITMQ_ADMIN_USER"], env["RABBITMQ_ADMIN_PASSWORD"], env["VOXFRAME_RABBITMQ_VHOST"])))
    delete_namespace(connection.channel(), Topology(env["VOXFRAME_NAMESPACE"]))
    connection.close()


def settings(env: dict[str, str], role: str) -> BusSettings:
    return BusSettings(amqp_url=role_url(env, role), namespace=env["VOXFRAME_NAMESPACE"], connect_timeout_seconds=20,
                       retry_backoff_seconds=0.05)


def refusal(env: dict[str, str], role: str, step: Callable[[BlockingChannel], Any]) -> int | None:
    """Run `step` as `role` on a channel of its own: None if the broker allowed it, else the reply code."""
    connection = pika.BlockingConnection(pika.URLParameters(role_url(env, role)))
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        step(channel)
        return None
    except pika.exceptions.ChannelClosedByBroker as exc:
        return int(exc.reply_code)
    finally:
        if connection.is_open:
            connection.close()


@pytest.mark.parametrize("role", ROLES)
def test_each_role_publishes_its_own_messages_and_is_refused_every_other(topology: dict[str, str],
                                                                         role: str) -> None:
    events = f"{topology['VOXFRAME_NAMESPACE']}.events"
    outcome = {kind: refusal(topology, role, lambda ch, k=kind: ch.basic_publish(events, f"{k}.room.mic", b"{}"))
               for kind in KINDS}
    assert {kind for kind, code in outcome.items() if code is None} == PUBLISHES[role]
    assert {code for code in outcome.values() if code is not None} == {403}


@pytest.mark.parametrize(("role", "what", "step"), [
    ("capture", "read the prompter's transcripts",
     lambda ns: lambda ch: ch.basic_consume(f"{ns}.prompter", lambda *_: None)),
    ("capture", "bind a queue of its own to every transcript", lambda ns: lambda ch: ch.queue_bind(
        ch.queue_declare("", exclusive=True).method.queue, f"{ns}.events", "transcript.#")),
    ("capture", "declare a stage queue", lambda ns: lambda ch: ch.queue_declare(f"{ns}.spy", durable=True)),
    ("capture", "delete the audio queue", lambda ns: lambda ch: ch.queue_delete(f"{ns}.audio")),
    ("capture", "purge the audio queue", lambda ns: lambda ch: ch.queue_purge(f"{ns}.audio")),
    ("generator", "delete the events exchange", lambda ns: lambda ch: ch.exchange_delete(f"{ns}.events")),
    ("generator", "read the audio", lambda ns: lambda ch: ch.basic_consume(f"{ns}.audio", lambda *_: None)),
    ("generator", "read a display's queue", lambda ns: lambda ch: ch.basic_consume(f"{ns}.jobs", lambda *_: None)),
    ("generator", "publish into the dropped queue", lambda ns: lambda ch: ch.basic_publish(
        f"{ns}.dlx", "dropped.prompt", b"{}")),
    ("transcriber", "read the prompts", lambda ns: lambda ch: ch.basic_consume(f"{ns}.prompts", lambda *_: None)),
    ("prompter", "read the audio", lambda ns: lambda ch: ch.basic_consume(f"{ns}.audio", lambda *_: None)),
    ("prompter", "declare an exchange", lambda ns: lambda ch: ch.exchange_declare(f"{ns}.other", "topic")),
])
def test_roles_are_refused_outside_their_queues(topology: dict[str, str], role: str, what: str,
                                                step: Callable[[str], Callable[[BlockingChannel], Any]]) -> None:
    assert refusal(topology, role, step(topology["VOXFRAME_NAMESPACE"])) == 403, f"{role} may {what}"


@pytest.mark.parametrize("role", ["generator", "capture"])
def test_a_worker_waits_for_the_topology_its_user_may_not_declare_then_works(topology: dict[str, str],
                                                                            role: str) -> None:
    """Without the topology (a fresh broker) a worker's user may declare nothing shared: the worker says what it
    waits for, and runs once the display's user has declared it (nothing is published into the void). The capture
    consumes an exclusive queue of its own, bound to the exchange it waits for (make test-compose saw it exit)."""
    env = topology
    remove_topology(env)
    worker = Bus(f"roles-{role}", settings(env, role))
    if role == "capture":
        worker.consume(worker.topology.control("room"), {Control: lambda _: None})
    else:
        worker.consume(worker.topology.prompts, {ImagePrompt: lambda _: None}, prefetch=1)
    display = Bus("roles-display", settings(env, "display"))
    worker.start()
    try:
        reason = wait_for(lambda: (h := worker.health()) and "waiting for" in h["reason"] and h["reason"],
                          timeout=20, message=f"the {role} to say what it waits for")
        assert "exchange " in reason and "may not declare" in reason, reason
        assert worker.failed is None
        display.start()
        display.wait_connected(20)
        worker.wait_connected(30)
        assert worker.health() is None
    finally:
        worker.stop(10)
        display.stop(10)


def test_every_role_does_its_work_through_the_pipeline_on_its_own_user(topology: dict[str, str]) -> None:
    """Real buses with each role's user and subscriptions: a mic's segment becomes a transcript, a prompt and a
    control, a picture, and a display shows it; the capture hears the control."""
    seen: dict[str, list[str]] = {role: [] for role in ROLES}

    def transcribe(segment: AudioSegment) -> Transcript:
        seen["transcriber"].append(segment.KIND)
        return transcript_of(segment)

    def prompt(transcript: Transcript) -> list[Any]:
        seen["prompter"].append(transcript.KIND)
        return [transcript.derive(ImagePrompt, text="a lighthouse"),
                transcript.derive(Control, command=Command.MUTE)]

    def paint(prompt: ImagePrompt) -> GeneratedImage:
        seen["generator"].append(prompt.KIND)
        return prompt.derive(GeneratedImage, image=b"\x89PNG", mime_type="image/png", width=1, height=1,
                             backend="test", prompt_id=str(prompt.id), prompt_text=prompt.text,
                             generation_seconds=0.0)

    def note(role: str) -> Callable[[Any], None]:
        return lambda message: seen[role].append(message.KIND)

    buses = {role: Bus(f"roles-{role}", settings(topology, role)) for role in ROLES}
    buses["capture"].consume(buses["capture"].topology.control("room"), {Control: note("capture")})
    buses["transcriber"].consume(buses["transcriber"].topology.audio, {AudioSegment: transcribe})
    buses["transcriber"].consume(buses["transcriber"].topology.job_audio, {AudioSegment: transcribe}, priority=1)
    buses["prompter"].consume(buses["prompter"].topology.prompter, {Transcript: prompt, Control: note("prompter")})
    buses["generator"].consume(buses["generator"].topology.prompts, {ImagePrompt: paint})
    display = buses["display"]
    display.consume(display.topology.display("roles"), {GeneratedImage: note("display"), Transcript: lambda _: None,
                                                         ImagePrompt: lambda _: None})
    display.consume(display.topology.jobs, {GeneratedImage: lambda _: None})
    display.consume(display.topology.browser_mics, {Control: lambda _: None})
    try:
        for bus in buses.values():
            bus.start()
        for bus in buses.values():
            bus.wait_connected(30)
        buses["capture"].publish(audio(0, room="room"))
        wait_for(lambda: seen["display"] and seen["capture"] and len(seen["prompter"]) == 2, timeout=30,
                 message="the picture, and the control heard by the capture and the prompter")
        assert seen == {"capture": ["control"], "transcriber": ["audio"], "prompter": ["transcript", "control"],
                        "generator": ["prompt"], "display": ["image"]}
        assert all(bus.failed is None for bus in buses.values())
    finally:
        for bus in buses.values():
            bus.stop(10)


def test_the_real_workers_run_on_their_roles_users(topology: dict[str, str], tmp_path: Path) -> None:
    """`voxframe display`, `prompter`, `generator` and `capture` as compose runs them, each with its role's URL:
    transcripts (sent as the transcriber's user) become a picture on the display, and the mic publishes its status
    every second without being closed out."""
    ns = topology["VOXFRAME_NAMESPACE"]
    pipeline = Pipeline(ns, "", tmp_path, VOXFRAME_PROMPT_WINDOW_SECONDS="5", VOXFRAME_PROMPT_MIN_WORDS="3",
                        VOXFRAME_GENERATOR_BACKEND="poster")
    port = free_port()
    silence = tmp_path / "silence.wav"
    soundfile.write(silence, np.zeros(16000 * 2, dtype=np.int16), 16000, subtype="PCM_16")
    workers = {"display": pipeline.add("display", "display", "--host", "127.0.0.1", "--port", str(port),
                                       "--display-id", "roles", "--default-room", "room", http_port=port),
               "prompter": pipeline.add("prompter", "prompter"), "generator": pipeline.add("generator", "generator"),
               "capture": pipeline.add("capture", "capture", "--room", "room", "--mic", "hall", "--file", str(silence),
                                       "--loop")}
    for role, worker in workers.items():
        worker.env = {**worker.env, "VOXFRAME_AMQP_URL": role_url(topology, role)}
    transcriber = Bus("roles-transcriber", settings(topology, "transcriber"))
    try:
        for worker in workers.values():
            worker.start()
        for worker in workers.values():
            worker.wait_healthy(120)
        transcriber.start()
        transcriber.wait_connected(20)
        for i, words in enumerate(("a red lighthouse stands by the sea", "the lighthouse glows at sunset tonight")):
            transcriber.publish(transcript_of(audio(i, room="room")).model_copy(update={"text": words}))
        url = f"http://127.0.0.1:{port}/api/rooms/room/images"
        wait_for(lambda: json.loads(urllib.request.urlopen(url, timeout=5).read()), timeout=120, interval=0.5,
                 message="a picture of the transcripts on the display")
        stays(lambda: all(worker.healthy() for worker in workers.values()), 3, message="every worker healthy")
    finally:
        transcriber.stop(10)
        pipeline.stop_all()
