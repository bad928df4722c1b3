"""One run of the real docker-compose.yml on the real Docker engine: its .env, its compose calls, its ports.

The images come from deploy/testing/build-images.sh (Debian stand-ins for the third-party images, the project's
own Dockerfile on a debootstrapped Python base). Every host port is a free loopback port of this run, so the
machine's own RabbitMQ (5672, 25672) and PostgreSQL (5432) are never in the way, and nothing listens beyond
127.0.0.1.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
import uuid
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import requests
from paho.mqtt.enums import CallbackAPIVersion
from websockets.sync.client import connect

from tests.support import free_port, wait_for

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
OVERRIDES = ROOT / "deploy" / "compose"
BUILD_IMAGES = ROOT / "deploy" / "testing" / "build-images.sh"
NOT_RUN = {"grafana"}  # no Debian package, so no stand-in: its provisioning is checked in tests/deploy
LOOPBACK = "127.0.0.1"


def sh(*args: str, timeout: float = 600, env: dict[str, str] | None = None) -> str:
    """Run a command; its stdout, or an AssertionError with what it said."""
    result = subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=env, check=False)
    assert result.returncode == 0, f"{' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def docker_answers() -> str | None:
    """None when `docker` and `docker compose` answer, else why not."""
    for args in (("docker", "info", "--format", "{{.ServerVersion}}"), ("docker", "compose", "version")):
        try:
            result = subprocess.run(args, capture_output=True, text=True, timeout=30, check=False)
        except FileNotFoundError:
            return "docker is not installed (make test-compose installs docker.io)"
        if result.returncode != 0:
            return f"{' '.join(args)}: {result.stderr.strip()} (make test-compose starts dockerd)"
    return None


def build_images() -> dict[str, str]:
    """The images, each by its ID (the build is cached: quick when nothing changed).

    Not by the names the build script prints: every run on this engine shares them, and a run from another tree that
    builds while this one runs moved `voxframe:local` under it, so that step 4's recreate started that tree's code
    (a display that could not find its database's newest migration)."""
    out = sh("bash", str(BUILD_IMAGES), timeout=1800)
    names = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    return {key: sh("docker", "image", "inspect", "--format", "{{.Id}}", name).strip() for key, name in names.items()}


def seconds(check: dict[str, Any]) -> str:
    """How long one of Docker's health checks ran, from its RFC 3339 nanosecond times."""
    start, end = (datetime.fromisoformat(check[key][:26].rstrip("Z")) for key in ("Start", "End"))
    return f"{(end - start).total_seconds():.1f} s"


class Stack:
    """A compose project of its own (`-p`), from the repository's compose file and an .env in `directory`."""

    def __init__(self, directory: Path, project: str) -> None:
        self.directory = directory
        self.project = project
        self.env_file = directory / ".env"
        self.files: list[Path] = [COMPOSE_FILE]
        self.extra_env: dict[str, str] = {}

    def write_env(self, images: dict[str, str]) -> None:
        """`init-env.sh` as a user runs it, then this run's images and free loopback ports in its place."""
        sh("sh", str(ROOT / "deploy" / "docker" / "init-env.sh"), str(self.env_file))
        wanted = {**images, "VOXFRAME_DISPLAY_BIND": LOOPBACK, "VOXFRAME_AMQP_BIND": LOOPBACK, "GRAFANA_BIND": LOOPBACK,
                  "VOXFRAME_MQTT_BIND": LOOPBACK}
        for key in ("VOXFRAME_DISPLAY_HOST_PORT", "VOXFRAME_AMQP_HOST_PORT", "RABBITMQ_MANAGEMENT_HOST_PORT",
                    "PROMETHEUS_HOST_PORT", "GRAFANA_HOST_PORT", "VOXFRAME_MQTT_HOST_PORT"):
            wanted[key] = str(free_port())
        lines = self.env_file.read_text().splitlines()
        kept = [line for line in lines if line.split("=", 1)[0] not in wanted]
        self.env_file.write_text("\n".join([*kept, *(f"{k}={v}" for k, v in wanted.items())]) + "\n")

    @property
    def env(self) -> dict[str, str]:
        return dict(line.split("=", 1) for line in self.env_file.read_text().splitlines()
                    if "=" in line and not line.startswith("#"))

    def compose(self, *args: str, timeout: float = 600) -> str:
        files = [arg for f in self.files for arg in ("-f", str(f))]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("COMPOSE_", "VOXFRAME_"))}
        env["DOCKER_CONFIG"] = os.environ.get("DOCKER_CONFIG", str(Path.home() / ".docker"))  # the compose plugin
        return sh("docker", "compose", "--project-directory", str(ROOT), "-p", self.project,
                  "--env-file", str(self.env_file), *files, *args, timeout=timeout, env={**env, **self.extra_env})

    def services(self) -> list[str]:
        return [s for s in self.compose("config", "--services").split() if s not in NOT_RUN]

    def up(self, *args: str, services: list[str] | None = None) -> float:
        """`up -d` of `services` (default: every one that runs here), waiting until each is healthy; the seconds
        it took."""
        started = time.monotonic()
        try:
            self.compose("up", "-d", "--wait", "--wait-timeout", "300", *args, *(services or self.services()))
        except AssertionError as exc:  # compose gives up at the first unhealthy check and says no more
            raise AssertionError(f"{exc}\n{self.health_report()}") from None
        return time.monotonic() - started

    def health_report(self) -> str:
        """Each container that is not running and healthy: its state, its last health checks (when, how long, what
        they said) and its last log lines; and the machine's load, so that a slow machine and a broken service read
        differently."""
        lines = [f"load average {' '.join(Path('/proc/loadavg').read_text().split()[:3])}"]
        for container in self.containers():
            if (container["State"], container["Health"]) in (("running", "healthy"), ("running", "")):
                continue
            state = json.loads(sh("docker", "inspect", "--format", "{{json .State}}", container["Name"]))
            health = state.get("Health") or {}
            lines.append(f"{container['Name']}: {state['Status']} since {state['StartedAt']}, health "
                         f"{container['Health'] or 'none'} ({health.get('FailingStreak', 0)} "
                         "failing in a row)")
            lines += [f"  check {check['Start']} exit {check['ExitCode']} after {seconds(check)}: "
                      f"{check['Output'].strip()[:300]}" for check in health.get("Log") or []]
            logs = subprocess.run(("docker", "logs", "--tail", "15", "--timestamps", container["Name"]),
                                  capture_output=True, text=True, timeout=60, check=False)
            lines += [f"  | {line}" for line in (logs.stdout + logs.stderr).splitlines()]
        return "\n".join(lines)

    def containers(self) -> list[dict[str, Any]]:
        out = self.compose("ps", "--all", "--format", "json")
        # One JSON object per line (compose >= 2.21), or one array (older).
        return [c for line in out.splitlines() if line.strip() for c in
                (json.loads(line) if line.lstrip().startswith("[") else [json.loads(line)])]

    def resources(self) -> dict[str, list[str]]:
        """Containers, volumes and networks Docker still holds for this project."""
        label = f"label=com.docker.compose.project={self.project}"
        return {kind: sh("docker", kind, "ls", "-q", "--filter", label, *(["--all"] if kind == "container" else []))
                .split() for kind in ("container", "volume", "network")}

    # The published ports, on loopback.
    def url(self, key: str) -> str:
        return f"http://{LOOPBACK}:{self.env[key]}"

    @property
    def display(self) -> str:
        return self.url("VOXFRAME_DISPLAY_HOST_PORT")

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        token = self.env.get("VOXFRAME_DISPLAY_TOKEN", "")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = requests.request(method, f"{self.display}{path}", headers=headers, timeout=10, **kwargs)
        assert response.status_code < 300, f"{method} {path}: {response.status_code} {response.text}"
        return response.json()

    def queues(self) -> list[dict[str, Any]]:
        env = self.env
        url = f"{self.url('RABBITMQ_MANAGEMENT_HOST_PORT')}/api/queues/{env['VOXFRAME_RABBITMQ_VHOST']}"
        response = requests.get(url, auth=(env["RABBITMQ_ADMIN_USER"], env["RABBITMQ_ADMIN_PASSWORD"]), timeout=10)
        response.raise_for_status()
        return list(response.json())

    def targets(self) -> list[dict[str, Any]]:
        response = requests.get(f"{self.url('PROMETHEUS_HOST_PORT')}/api/v1/targets", timeout=10)
        response.raise_for_status()
        return list(response.json()["data"]["activeTargets"])

    def pair_frame(self, room: str) -> str:
        """Pair a frame as the dashboard does (token), open its one-time link as the frame would (its page posts
        it back); its cookie."""
        link = self.api("POST", "/api/pairings", json={"name": "hall", "room": room})["link"]
        response = requests.post(f"{self.display}{link}", allow_redirects=False, timeout=10)  # the link's page posts
        assert response.status_code == 303, f"{link}: {response.status_code} {response.text}"
        return f"voxframe_frame={response.cookies['voxframe_frame']}"

    def query(self, promql: str) -> list[dict[str, Any]]:
        response = requests.get(f"{self.url('PROMETHEUS_HOST_PORT')}/api/v1/query", params={"query": promql},
                                timeout=10)
        response.raise_for_status()
        return list(response.json()["data"]["result"])

    def frame_images(self, room: str, seconds: float, until: int = 1, cookie: str = "") -> list[dict[str, Any]]:
        """The pictures a frame of `room` is sent (its hello's, then live ones) until `until` arrived, within
        `seconds`; fails the test at the deadline. `cookie`: a paired frame's."""
        deadline = time.monotonic() + seconds
        url = f"ws://{LOOPBACK}:{self.env['VOXFRAME_DISPLAY_HOST_PORT']}/ws/frame/{room}"
        images: list[dict[str, Any]] = []
        with connect(url, open_timeout=10, additional_headers={"Cookie": cookie} if cookie else None) as frame:
            while len(images) < until:
                left = deadline - time.monotonic()
                assert left > 0, f"the {room} frame got {len(images)} of {until} pictures in {seconds:.0f} s"
                try:
                    event = json.loads(frame.recv(left))
                except TimeoutError:
                    continue
                images += event.get("images", []) if event["type"] == "hello" else \
                    [event["image"]] if event["type"] == "image" else []
        return images

    def newer_prompt(self, room: str, after: Iterable[str], timeout: float) -> dict[str, Any]:
        """A prompt of `room` not among `after`, asking the prompter to paint now every few seconds."""
        seen = set(after)

        def fresh() -> dict[str, Any] | None:
            self.api("POST", f"/api/rooms/{room}/controls", json={"command": "paint_now"})
            return next((p for p in self.api("GET", f"/api/rooms/{room}/prompts") if p["id"] not in seen), None)

        return wait_for(fresh, timeout=timeout, interval=5, message=f"a new prompt for {room}")  # type: ignore[return-value]


class MqttClient:
    """A real MQTT client on the stack's Mosquitto, connecting as Home Assistant would: the broker's answer, and the
    last payload of every topic it subscribed to."""

    def __init__(self, port: int, username: str | None = None, password: str | None = None) -> None:
        self.answered = threading.Event()
        self.refusal: str | None = None
        self.messages: dict[str, bytes] = {}
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"compose-test-{uuid.uuid4().hex[:6]}")
        if username is not None:
            self.client.username_pw_set(username, password)
        self.client.on_connect = self._connected
        self.client.on_message = lambda _c, _u, message: self.messages.__setitem__(message.topic, message.payload)
        self.client.connect(LOOPBACK, port)
        self.client.loop_start()

    def _connected(self, _client: mqtt.Client, _userdata: object, _flags: object, reason: Any,
                   _properties: object) -> None:
        self.refusal = str(reason) if reason.is_failure else None
        self.answered.set()

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()
