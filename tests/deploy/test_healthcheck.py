"""The image's healthcheck against a real worker's /healthz, connected to (then cut off from) the real broker."""

from __future__ import annotations

import importlib.util
import os
import socket
import sys
import time
from collections.abc import Iterator
from types import ModuleType

import pytest

from shared.bus import Bus
from shared.config import BusSettings
from shared.metrics import IDLE_SECONDS, serve_metrics
from tests.deploy.conftest import ROOT, run
from tests.support import free_port, wait_for

SCRIPT = ROOT / "deploy" / "docker" / "healthcheck.py"


@pytest.fixture(scope="module")
def healthcheck() -> ModuleType:
    spec = importlib.util.spec_from_file_location("voxframe_healthcheck", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def worker(bus_settings: BusSettings) -> Iterator[tuple[Bus, int]]:
    bus = Bus("deploytest", bus_settings)
    bus.start()
    bus.wait_connected(10)
    server = serve_metrics("deploytest", 0, ready=bus.health, host="127.0.0.1")
    yield bus, server.server_address[1]
    server.shutdown()
    bus.stop(10)


def check(**env: str) -> int:
    return run(sys.executable, str(SCRIPT), env={**os.environ, **env}, timeout=20).returncode


def test_healthy_while_the_worker_is_connected_and_unhealthy_once_it_is_not(worker: tuple[Bus, int]) -> None:
    bus, port = worker
    assert check(VOXFRAME_METRICS_PORT=str(port)) == 0
    bus.stop(10)
    wait_for(lambda: not bus.connected, 10, message="the bus to disconnect")
    assert check(VOXFRAME_METRICS_PORT=str(port)) == 1


def test_silent_connections_are_dropped_and_other_methods_refused_while_health_answers(
        worker: tuple[Bus, int]) -> None:
    """A connection holds a thread of the worker: one that sends nothing, or half a request, must let it go (they
    were held for good: 300 idle connections were 300 threads of a generator), and a POST is the client's 405."""
    _, port = worker
    silent = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(20)]
    silent[0].sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # the headers never end
    assert check(VOXFRAME_METRICS_PORT=str(port)) == 0  # a prober is still answered meanwhile
    deadline = time.monotonic() + IDLE_SECONDS + 10
    for conn in silent:
        with conn:
            conn.settimeout(max(0.1, deadline - time.monotonic()))
            assert conn.recv(100) == b"", "the server kept a silent connection open"
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
        answer = conn.makefile("rb").read()
    assert answer.startswith(b"HTTP/1.0 405") and b"Allow: GET" in answer, answer[:80]


def test_unhealthy_when_nothing_listens() -> None:
    assert check(VOXFRAME_HEALTHCHECK_URL=f"http://127.0.0.1:{free_port()}/healthz") == 1


def test_port_comes_from_the_environment_or_the_stage_on_the_command_line(healthcheck: ModuleType) -> None:
    url = healthcheck.health_url
    argv = ["/opt/voxframe/bin/python", "/opt/voxframe/bin/voxframe", "transcriber", "--debug"]
    assert url({}, argv) == "http://127.0.0.1:9102/healthz"
    assert url({"VOXFRAME_METRICS_PORT": "9999"}, argv) == "http://127.0.0.1:9999/healthz"
    assert url({}, ["voxframe", "display"]) == "http://127.0.0.1:8080/healthz"
    assert url({"VOXFRAME_DISPLAY_PORT": "8081", "VOXFRAME_METRICS_PORT": "1"}, ["voxframe", "display"]).endswith(
        ":8081/healthz")
    assert url({"VOXFRAME_HEALTHCHECK_URL": "http://x/h"}, argv) == "http://x/h"
    with pytest.raises(SystemExit, match="VOXFRAME_HEALTHCHECK_URL"):
        url({}, ["/sbin/init"])
