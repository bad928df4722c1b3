"""The first hour of a home, on the real docker-compose.yml and Docker engine (`make test-compose`).

The steps run in order on one stack, as a user would: up, a real mic instead of the demo, a second room,
recreate and scale, down and up again, and down -v. Durations are printed (`-s` shows them).
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from services.display.homeassistant import discovery as ha
from shared.demo import speak
from tests.capture.pulse import VirtualMic
from tests.compose.stack import OVERRIDES, MqttClient, Stack, build_images, docker_answers, sh
from tests.support import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]  # a clean machine builds the images first

WORKERS = ("capture", "transcriber", "prompter", "generator", "display")
# Queues that by design have no consumer: dead letters and dropped media wait there for a person to look.
HOLDING = {"dead", "dropped"}
PROMPTER_STATE = ("import sqlite3, json; row = sqlite3.connect('/var/lib/voxframe/data/prompter.sqlite3').execute("
                  "\"SELECT state FROM prompter_rooms WHERE room = 'living-room'\").fetchone(); "
                  "print(row[0] if row else '{}')")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    why = docker_answers()
    if why:
        pytest.skip(why)
    started = time.monotonic()
    images = build_images()
    print(f"\nimages ready in {time.monotonic() - started:.0f} s; {image_sizes(images)}")
    stack = Stack(tmp_path_factory.mktemp("compose"), f"vftest-{uuid.uuid4().hex[:8]}")
    stack.write_env(images)
    try:
        yield stack
    finally:
        stack.files, stack.extra_env = stack.files[:1], {}
        stack.compose("down", "-v", "--remove-orphans", "--timeout", "10")


def image_sizes(images: dict[str, str]) -> str:
    sizes = {name: int(sh("docker", "image", "inspect", "--format", "{{.Size}}", image))
             for name, image in images.items()}
    return ", ".join(f"{name} {size / 1e6:.0f} MB" for name, size in sizes.items())


def running(stack: Stack, service: str) -> list[dict]:
    return [c for c in stack.containers() if c["Service"] == service and c["State"] == "running"]


def prompter_state(stack: Stack) -> dict:
    return dict(json.loads(stack.compose("exec", "-T", "prompter", "python", "-c", PROMPTER_STATE)))


def test_1_up_gets_every_service_healthy_and_a_picture_onto_a_frame(stack: Stack) -> None:
    took = stack.up()
    started = time.monotonic() - took
    states = {c["Service"]: (c["State"], c["Health"]) for c in stack.containers()}
    assert states == {s: ("running", "healthy") for s in stack.services()}, states
    first = stack.frame_images("living-room", seconds=240)[0]
    print(f"\nhealthy {took:.0f} s after up; first picture on the frame {time.monotonic() - started:.0f} s after up")
    assert first["room"] == "living-room" and first["source"] == "demo"
    # init-env.sh wrote a token: a frame without it gets pictures alone, a paired one its room's words too.
    assert stack.env["VOXFRAME_DISPLAY_TOKEN"] and first["prompt"] == ""
    paired = stack.frame_images("living-room", seconds=30, cookie=stack.pair_frame("living-room"))[0]
    assert paired["id"] == first["id"] and paired["prompt"]

    def all_targets_up() -> bool:
        targets = stack.targets()
        jobs = {t["labels"]["job"] for t in targets if t["health"] == "up"}
        return jobs == {f"voxframe-{w}" for w in WORKERS} | {"rabbitmq", "rabbitmq-queues"} and \
            all(t["health"] == "up" for t in targets)

    wait_for(all_targets_up, timeout=90, interval=2, message="every Prometheus target up")
    # What the dashboard and the alert rules read: the mic by name, the broker's alarms.
    mics = [r["metric"] for r in stack.query("voxframe_capture_device_up")]
    assert [(m["room"], m["mic"]) for m in mics] == [("living-room", "demo")], mics
    assert stack.query("rabbitmq_alarms_memory_used_watermark + rabbitmq_alarms_free_disk_space_watermark")
    # docs/deploy.md: on one node every durable queue is classic (quorum would refuse drop-head overflow).
    durable = {q["name"]: q["type"] for q in stack.queues() if q["durable"]}
    ns = stack.env["VOXFRAME_NAMESPACE"]
    assert {f"{ns}.{q}" for q in ("audio", "prompter", "prompts", "display.display", *HOLDING)} <= set(durable)
    assert set(durable.values()) == {"classic"}, durable


def test_1b_home_assistant_finds_every_room_on_the_stacks_mosquitto_and_steers_it(stack: Stack) -> None:
    """Mosquitto is on by default: no anonymous client, Home Assistant's user with init-env.sh's password sees the
    rooms' retained configs and sets a style that the prompter keeps and the display echoes."""
    env, port = stack.env, int(stack.env["VOXFRAME_MQTT_HOST_PORT"])
    anonymous = MqttClient(port)
    try:
        assert anonymous.answered.wait(10) and anonymous.refusal, "Mosquitto let an anonymous client in"
    finally:
        anonymous.close()
    home = MqttClient(port, "homeassistant", env["VOXFRAME_MQTT_HOMEASSISTANT_PASSWORD"])
    try:
        assert home.answered.wait(10) and home.refusal is None, home.refusal
        topics = ha.Topics(env["VOXFRAME_NAMESPACE"], "homeassistant")
        home.client.subscribe([("homeassistant/#", 1), (f"{topics.base}/#", 1)])
        wanted = [topics.config("select", "living-room", "style"), topics.config("button", "living-room", "paint_now"),
                  topics.config("sensor", None, "transcriber_backlog")]
        wait_for(lambda: all(t in home.messages for t in wanted) and home.messages.get(topics.status) == b"online",
                 timeout=60, interval=0.5, message="the living room's device announced, the display online")
        style = json.loads(home.messages[wanted[0]])
        home.client.publish(style["command_topic"], "pencil sketch", qos=1).wait_for_publish(10)
        wait_for(lambda: prompter_state(stack).get("style") == "pencil sketch", timeout=30, interval=1,
                 message="the prompter to take Home Assistant's style")
        wait_for(lambda: json.loads(home.messages.get(topics.state("living-room"), b"{}")).get("style")
                 == "pencil sketch", timeout=15, interval=0.5, message="the style echoed to Home Assistant")
    finally:
        home.close()


def test_2_a_real_mic_is_heard_and_the_demo_mic_is_gone(stack: Stack, tmp_path: Path) -> None:
    mic = VirtualMic(tmp_path / "xdg" / "pulse")
    home = tmp_path / "home"
    (home / ".config" / "pulse").mkdir(parents=True)
    (home / ".config" / "pulse" / "cookie").write_bytes(os.urandom(256))  # anonymous auth: any cookie will do
    mic.start()
    try:
        mic.plug()
        mic._pactl("set-default-source", mic.name)
        stack.files.append(OVERRIDES / "mic-pulse.yml")
        stack.extra_env = {"XDG_RUNTIME_DIR": str(tmp_path / "xdg"), "HOME": str(home),
                           "PULSE_UID": str(os.getuid()), "PULSE_GID": str(os.getgid())}
        stack.up()
        assert running(stack, "capture") == [], "the demo mic still runs beside the real one"
        assert len(running(stack, "capture-mic")) == 1
        line = speak("The lighthouse keeper painted the old boat red and blue.", "en-us")
        silence = np.zeros(16000, dtype=np.int16)

        def heard() -> list[dict]:
            if mic.idle():
                mic.play(np.concatenate([line, silence]))
            return [t for t in stack.api("GET", "/api/rooms/living-room/transcripts") if t["source"] == "desktop-mic"]

        transcripts = wait_for(heard, timeout=120, interval=1, message="a transcript from the PulseAudio mic")
        assert any("lighthouse" in t["text"].lower() or "boat" in t["text"].lower() for t in transcripts), transcripts
    finally:
        mic.close()


def test_3_the_second_rooms_frames_get_only_its_pictures(stack: Stack) -> None:
    stack.files[1:] = [OVERRIDES / "second-room.yml"]
    stack.extra_env = {}
    stack.up("--remove-orphans")
    assert running(stack, "capture-mic") == [] and len(running(stack, "capture-kitchen")) == 1
    kitchen = stack.frame_images("kitchen", seconds=240)
    assert kitchen and {i["room"] for i in kitchen} == {"kitchen"}
    living = stack.api("GET", "/api/rooms/living-room/images", params={"limit": 100})
    assert not {i["id"] for i in kitchen} & {i["id"] for i in living}


def test_4_recreate_and_scale_keep_settings_and_gallery_and_leave_no_queue_without_a_consumer(stack: Stack) -> None:
    stack.files[1:] = []  # the kitchen's demo mic goes: three transcribers are load enough for two cores
    stack.up("--remove-orphans")
    stack.api("POST", "/api/rooms/living-room/controls", json={"command": "set_style", "value": "oil painting"})
    before = wait_for(lambda: (s := prompter_state(stack)).get("style") == "oil painting" and s,
                      timeout=30, interval=1, message="the prompter to save the room's style")
    gallery = {i["id"] for i in stack.api("GET", "/api/rooms/living-room/images", params={"limit": 100})}
    prompts = [p["id"] for p in stack.api("GET", "/api/rooms/living-room/prompts")]

    workers = [s for s in stack.services() if s.split("-")[0] in WORKERS]
    stack.up("--force-recreate", "--no-deps", "--scale", "transcriber=3", services=workers)
    assert len(running(stack, "transcriber")) == 3
    stack.up("--scale", "transcriber=1")
    assert len(running(stack, "transcriber")) == 1

    after = prompter_state(stack)
    assert after.get("style") == "oil painting" and after.keys() == before.keys(), after
    assert stack.newer_prompt("living-room", prompts, timeout=120)["style"] == "oil painting"
    assert gallery <= {i["id"] for i in stack.api("GET", "/api/rooms/living-room/images", params={"limit": 200})}

    def consumed() -> list[tuple[str, int]]:
        queues = [(q["name"], q["consumers"]) for q in stack.queues()]
        print(f"\nqueues after recreate and scale: {queues}")
        ns = stack.env["VOXFRAME_NAMESPACE"]
        idle = [(n, c) for n, c in queues if c == 0 and n.removeprefix(f"{ns}.") not in HOLDING]
        assert len([n for n, _ in queues if n.startswith(f"{ns}.display.")]) == 1, queues
        return idle

    assert consumed() == []


def test_5_down_and_up_keep_what_the_docs_promise_and_down_v_removes_everything(stack: Stack) -> None:
    gallery = {i["id"] for i in stack.api("GET", "/api/rooms/living-room/images", params={"limit": 200})}
    stack.compose("down", "--timeout", "10")
    assert stack.resources()["container"] == []
    stack.up()
    assert gallery <= {i["id"] for i in stack.api("GET", "/api/rooms/living-room/images", params={"limit": 200})}
    assert prompter_state(stack).get("style") == "oil painting"
    stack.compose("down", "-v", "--remove-orphans", "--timeout", "10")
    assert stack.resources() == {"container": [], "volume": [], "network": []}
