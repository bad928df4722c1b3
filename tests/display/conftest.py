"""Fixtures for the display: the real `voxframe display` process on a free port, images to publish, Chromium."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
from PIL import Image, ImageDraw

from shared.config import BusSettings
from shared.messages import Envelope, GeneratedImage, Keyword
from tests.support import PROCESS_START_SECONDS, Broker, free_port, wait_for

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"



@dataclass
class DisplayProcess:
    """`voxframe display` as a subprocess; `restart()` keeps its port, data dir and queue."""

    settings: BusSettings
    data_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    host: str = "127.0.0.1"
    args: tuple[str, ...] = ()
    port: int = field(default_factory=free_port)
    display_id: str = field(default_factory=lambda: f"t{uuid.uuid4().hex[:8]}")
    process: subprocess.Popen[bytes] | None = None
    log: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> DisplayProcess:
        env = {**os.environ, "VOXFRAME_NAMESPACE": self.settings.namespace, "VOXFRAME_AMQP_URL": self.settings.amqp_url,
               "VOXFRAME_CONNECT_TIMEOUT_SECONDS": "10", **self.env}
        self.log = self.data_dir / f"display-{self.port}.log"
        with self.log.open("ab") as log:  # the child writes to its own copy of the file
            self.process = subprocess.Popen(
                [sys.executable, "-m", "shared.cli", "display", "--host", self.host, "--port", str(self.port),
                 "--display-id", self.display_id, "--data-dir", str(self.data_dir), *self.args],
                cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
        wait_for(self._healthy, timeout=PROCESS_START_SECONDS, interval=0.1,
                 message=f"display on {self.url} to be healthy")
        return self

    def _healthy(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise AssertionError(f"display exited with {self.process.returncode}:\n{self.log.read_text()[-3000:]}")
        try:
            return requests.get(f"{self.url}/healthz", timeout=1).status_code == 200
        except (requests.ConnectionError, requests.Timeout):  # not listening yet, or busy starting
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None

    def restart(self) -> DisplayProcess:
        self.stop()
        return self.start()


@pytest.fixture
def display_factory(broker: Broker, tmp_path: Path) -> Iterator[Callable[..., DisplayProcess]]:
    """Start displays on the test's namespace (extra CLI flags, `host=`, VOXFRAME_* env); queues deleted after."""
    started: list[DisplayProcess] = []

    def start(*args: str, host: str = "127.0.0.1", port: int | None = None, **env: str) -> DisplayProcess:
        display = DisplayProcess(broker.settings, tmp_path / f"data{len(started)}", env=env, host=host, args=args,
                                 port=port or free_port())
        display.data_dir.mkdir()
        started.append(display)
        broker.extra_queues.add(broker.topology.display(display.display_id).name)
        return display.start()

    yield start
    for display in started:
        display.stop()


@pytest.fixture
def display(display_factory: Callable[..., DisplayProcess]) -> DisplayProcess:
    return display_factory()


def publish(broker: Broker, *messages: Envelope) -> None:
    """Publish as a worker would: the message's JSON with its kind and id, on the real exchange."""
    for message in messages:
        broker.publish_raw(message.routing_key, message.to_json(), message.KIND, message_id=str(message.id))


def png(color: tuple[int, int, int], size: tuple[int, int] = (320, 180)) -> bytes:
    """A solid picture with a lighter band, so a screenshot can tell it apart from any other."""
    image = Image.new("RGB", size, color)
    ImageDraw.Draw(image).rectangle((0, size[1] * 3 // 4, size[0], size[1]),
                                    fill=tuple(min(255, c + 60) for c in color))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def make_image(room: str = "living-room", color: tuple[int, int, int] = (200, 40, 40),
               size: tuple[int, int] = (320, 180), **fields: object) -> GeneratedImage:
    """A GeneratedImage as the generator would publish it (fields override the defaults)."""
    defaults: dict[str, object] = {
        "room": room, "source": "mic-1", "image": png(color, size), "mime_type": "image/png", "width": size[0],
        "height": size[1], "backend": "poster", "prompt_id": str(uuid.uuid4()),
        "prompt_text": "a watercolor painting of a lighthouse at dusk", "style": "watercolor",
        "keywords": (Keyword(text="lighthouse", score=0.9), Keyword(text="dusk", score=0.5)),
        "excerpt": "we watched the lighthouse at dusk", "generation_seconds": 0.2,
    }
    return GeneratedImage(**{**defaults, **fields})


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield chromium
        chromium.close()
