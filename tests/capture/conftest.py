"""Running the real `voxframe capture` process against the test's private broker namespace."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from shared.config import BusSettings
from shared.messages import MESSAGE_TYPES, Envelope
from tests.capture.pulse import VirtualMic
from tests.support import Broker, logged_metrics_port, wait_for


class CaptureProcess:
    """`voxframe capture ...` as a child process; its log goes to a file the test can read."""

    def __init__(self, args: list[str], settings: BusSettings, log: Path, env: dict[str, str] | None = None) -> None:
        self.log = log
        environment = {**os.environ, **(env or {}), "VOXFRAME_AMQP_URL": settings.amqp_url,
                       "VOXFRAME_NAMESPACE": settings.namespace, "VOXFRAME_CONNECT_TIMEOUT_SECONDS": "10"}
        with log.open("wb") as out:
            self.process = subprocess.Popen([sys.executable, "-m", "shared.cli", "capture", "--metrics-port", "0",
                                             *args], env=environment, stdout=out, stderr=subprocess.STDOUT)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def metric(self, spec: str) -> float:
        """A sample from the process's own /metrics (0 if not exported yet): `name` or `name{label="value",...}`,
        matching a sample that has at least those labels (every capture sample also names its room and mic)."""
        return next((value for labels, value in self.samples(spec.split("{")[0])
                     if dict(re.findall(r'(\w+)="([^"]*)"', spec)).items() <= labels.items()), 0.0)

    def samples(self, name: str) -> list[tuple[dict[str, str], float]]:
        text = requests.get(f"http://127.0.0.1:{self.port()}/metrics", timeout=5).text
        return [(s.labels, s.value) for family in text_string_to_metric_families(text) for s in family.samples
                if s.name == name]

    def healthy(self) -> bool:
        """Whether its /healthz answers 200."""
        return requests.get(f"http://127.0.0.1:{self.port()}/healthz", timeout=5).status_code == 200

    def port(self) -> int:
        """Where its /metrics and /healthz answer."""
        return logged_metrics_port(self.output)

    def wait(self, timeout: float) -> int:
        return self.process.wait(timeout)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(30)


@pytest.fixture
def start_capture(bus_settings: BusSettings, tmp_path: Path) -> Iterator:
    started: list[CaptureProcess] = []

    def start(*args: str, env: dict[str, str] | None = None) -> CaptureProcess:
        proc = CaptureProcess(list(args), bus_settings, tmp_path / f"capture-{len(started)}.log", env)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.process.poll() is None:
            proc.process.kill()
            proc.process.wait(10)


@pytest.fixture
def mic(tmp_path: Path) -> Iterator[VirtualMic]:
    """A private PulseAudio daemon with one plugged pipe-source microphone."""
    virtual = VirtualMic(tmp_path / "pulse")
    virtual.start()
    virtual.plug()
    yield virtual
    virtual.close()


# `voxframe capture` on a VirtualMic: its 16 kHz mono as it is, room den, mic desk
PULSE_MIC_ARGS = ("--device", "pulse", "--input-rate-hz", "16000", "--input-channels", "1", "--room", "den",
                  "--mic", "desk")


def listening(start_capture, mic: VirtualMic) -> CaptureProcess:  # type: ignore[no-untyped-def]
    """`voxframe capture` on `mic`, once the mic is open."""
    return opened(start_capture(*PULSE_MIC_ARGS, env=mic.env))


def opened(capture: CaptureProcess) -> CaptureProcess:
    """`capture` once its mic is open (a loaded machine may take a while to start the process)."""
    capture.port()  # started: a loaded machine may take a while
    wait_for(lambda: capture.metric("voxframe_capture_device_up") == 1, timeout=20, message="the mic to open")
    return capture


def messages(broker: Broker, queue: str) -> list[Envelope]:
    """Everything waiting in a tap queue, decoded into typed messages."""
    return [MESSAGE_TYPES[props.type].from_json(body) for props, body in broker.drain(queue)]
