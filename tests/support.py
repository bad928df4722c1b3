"""Helpers for tests: waiting on conditions with deadlines, raw access to the real broker, a PostgreSQL database."""

from __future__ import annotations

import fcntl
import functools
import os
import random
import re
import selectors
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

import pika
import pika.exceptions
from starlette.routing import BaseRoute

from shared.bus import Topology
from shared.bus.teardown import delete_namespace
from shared.config import BusSettings

AMQP_URL = os.environ.get("VOXFRAME_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
POSTGRES_URL = os.environ.get("VOXFRAME_TEST_POSTGRES_URL", "postgresql://postgres:postgres@127.0.0.1:5432/")
REAL_AUDIO = Path(__file__).resolve().parents[1].parent / "shared" / "audio" / "real"
PORT_SPAN = 12_000  # free_port picks among this many ports under the kernel's ephemeral range


@contextmanager
def postgres_database() -> Iterator[str]:
    """A new, empty database on the real PostgreSQL (its URL), dropped afterwards. Unreachable: the test is
    skipped saying why, which CI counts as a failure (tests/ci_skips.py); `make test` starts the server."""
    import psycopg

    name = f"vftest_{uuid.uuid4().hex[:8]}"
    try:
        admin = psycopg.connect(POSTGRES_URL + "postgres", autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        import pytest

        pytest.skip(f"PostgreSQL is not reachable at {POSTGRES_URL} (VOXFRAME_TEST_POSTGRES_URL): {exc}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield POSTGRES_URL + name
    finally:
        with psycopg.connect(POSTGRES_URL + "postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')



def package_venv(venv: Path, package: str, install_timeout: float) -> Path:
    """A venv of its own for a peer that pins what ours cannot hold (the Wyoming satellite, Home Assistant): made on
    first use, installed once per `package` (one or more requirements, space-separated; a stamp file remembers
    which), under a lock so two test runs in one checkout do not build it at once. Returns its interpreter."""
    python, stamp = venv / "bin" / "python", venv / ".installed"
    with open(f"{venv}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (stamp.exists() and stamp.read_text() == package and python.exists()):
            subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True, timeout=120)
            subprocess.run([str(python), "-m", "pip", "install", "-q", *package.split()], check=True,
                           timeout=install_timeout)
            stamp.write_text(package)
    return python


def trickle_headers(port: int, give_up_seconds: float, host: str = "127.0.0.1") -> tuple[float, bytes, bool]:
    """A slowloris: a request's headers sent a byte a second and never finished, until the server closes the
    connection or `give_up_seconds` pass. How long it held on, what it answered, and whether it closed."""
    request = b"GET / HTTP/1.1\r\nHost: " + host.encode() + b"\r\nX-Slow: " + b"a" * 10_000
    answer, started = b"", time.monotonic()
    with socket.create_connection((host, port), timeout=5) as conn, selectors.DefaultSelector() as waiting:
        waiting.register(conn, selectors.EVENT_READ)
        for second, byte in enumerate(request, start=1):
            try:
                conn.sendall(bytes([byte]))
                while waiting.select(timeout=max(0.0, started + second - time.monotonic())):  # until the next one
                    if not (chunk := conn.recv(4096)):
                        return time.monotonic() - started, answer, True
                    answer += chunk
            except (BrokenPipeError, ConnectionResetError):
                return time.monotonic() - started, answer, True
            if time.monotonic() - started > give_up_seconds:
                break
    return time.monotonic() - started, answer, False


def free_port() -> int:
    """A TCP port free a moment ago on 127.0.0.1 (for a server under test to bind), below the kernel's ephemeral
    range: a port from `bind(0)` is one of those the kernel gives outgoing connections, and one did take it between
    here and the server's bind (a display under test died on EADDRINUSE in a CI dry run)."""
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    for port in random.sample(range(max(1024, low - PORT_SPAN), low), 100):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:  # another test's server has it
                continue
            return port
    raise AssertionError(f"no free port below {low} on 127.0.0.1 in 100 tries")


# How long a worker process under test may take to start (import, load its model, reach the broker): on an idle
# 2-core machine about 5 s; at load 10 (benchmarks beside the suite) 30 s was not always enough. Only a failing
# start waits this long.
PROCESS_START_SECONDS = 60.0


def logged_metrics_port(output: Callable[[], str]) -> int:
    """The port a worker process under test serves /metrics and /healthz on, once its log (`output()`) names it
    (shared/metrics.py logs "Metrics on http://HOST:PORT/metrics" when the server is up)."""
    found = wait_for(lambda: re.search(r"Metrics on http://[^:]+:(\d+)/metrics", output()),
                     timeout=PROCESS_START_SECONDS, message="the metrics server")
    return int(found.group(1))  # type: ignore[attr-defined]


def wait_for(condition: Callable[[], object], timeout: float = 10.0, interval: float = 0.02,
             message: str = "condition") -> object:
    """Poll `condition` until it returns something truthy; fail the test at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.1f} s waiting for {message}")
        time.sleep(interval)


def stays(condition: Callable[[], object], seconds: float, interval: float = 0.1,
          message: str = "condition") -> None:
    """`condition` holds all through `seconds`: a bounded look for something that must NOT happen (a stall
    declared, a repeat acted on); fails the test the moment it does."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not condition():
            raise AssertionError(f"{message} stopped holding after {seconds - (deadline - time.monotonic()):.1f} s")
        time.sleep(interval)


class Broker:
    """Raw pika access for tests: inspect queues, publish bytes a worker never would, clean up."""

    def __init__(self, settings: BusSettings) -> None:
        self.settings = settings
        self.topology = Topology.from_settings(settings)
        self.connection = pika.BlockingConnection(pika.URLParameters(settings.amqp_url))
        self.channel = self.connection.channel()
        self.extra_queues: set[str] = set()

    def depth(self, queue: str) -> int:
        return int(self.channel.queue_declare(queue, passive=True).method.message_count)

    def get(self, queue: str) -> tuple[pika.BasicProperties, bytes] | None:
        method, props, body = self.channel.basic_get(queue, auto_ack=True)
        return None if method is None else (props, body)

    def drain(self, queue: str) -> list[tuple[pika.BasicProperties, bytes]]:
        out = []
        while (item := self.get(queue)) is not None:
            out.append(item)
        return out

    def publish_raw(self, routing_key: str, body: bytes, message_type: str, **props: object) -> None:
        self.channel.basic_publish(
            self.topology.exchange, routing_key, body,
            pika.BasicProperties(type=message_type, content_type="application/json", **props),
        )

    def tap(self, *bindings: str) -> str:
        """A test-owned queue bound to `bindings`, to watch what workers publish."""
        name = f"{self.settings.namespace}.tap.{uuid.uuid4().hex[:6]}"
        self.channel.queue_declare(name, durable=True)
        for key in bindings:
            self.channel.queue_bind(name, self.topology.exchange, routing_key=key)
        self.extra_queues.add(name)
        return name

    def cleanup(self) -> None:
        try:
            self.connection.process_data_events(0)
        except pika.exceptions.AMQPError:  # the test restarted the broker under us
            self.connection = pika.BlockingConnection(pika.URLParameters(self.settings.amqp_url))
            self.channel = self.connection.channel()
        delete_namespace(self.channel, self.topology, self.extra_queues)
        self.connection.close()


def sweep_namespace(amqp_url: str, prefix: str) -> list[str]:
    """Delete every queue and exchange whose name starts with `prefix`; returns what was deleted.

    Listing needs `rabbitmqctl` on this host (the management API is not enabled on Debian's broker); without it,
    the per-test cleanup of known names is all there is.
    """
    deleted: list[str] = []
    names = {}
    for kind in ("queues", "exchanges"):
        try:
            listing = subprocess.run(["rabbitmqctl", "-q", f"list_{kind}", "name"], capture_output=True, text=True,
                                     timeout=60, check=True).stdout
        except (OSError, subprocess.SubprocessError):
            return deleted
        names[kind] = [n for n in listing.split() if n.startswith(prefix)]
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    channel = connection.channel()
    for name in names["queues"]:
        channel.queue_delete(name)
        deleted.append(name)
    for name in names["exchanges"]:
        channel.exchange_delete(name)
        deleted.append(name)
    connection.close()
    return deleted


class PausableProxy:
    """A TCP proxy in front of the broker whose forwarding can be paused: a network that stalls without
    closing, so a test can hold a publish in flight or keep its confirm from arriving, deterministically."""

    def __init__(self, target_port: int = 5672) -> None:
        self.target = ("127.0.0.1", target_port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.flowing = threading.Event()
        self.flowing.set()
        self._closed = threading.Event()
        self._clients: list[socket.socket] = []
        threading.Thread(target=self._accept, name="proxy-accept", daemon=True).start()

    def held_from_clients(self) -> bool:
        """While paused: whether a client has sent bytes the broker has not seen."""
        clients = [c for c in self._clients if c.fileno() >= 0]
        with selectors.DefaultSelector() as sel:
            for c in clients:
                sel.register(c, selectors.EVENT_READ)
            return bool(clients) and bool(sel.select(timeout=0))

    def url(self, settings_url: str) -> str:
        return settings_url.replace("127.0.0.1:5672", f"127.0.0.1:{self.port}")

    def pause(self) -> None:
        self.flowing.clear()

    def resume(self) -> None:
        self.flowing.set()

    def close(self) -> None:
        self._closed.set()
        self.flowing.set()
        self.listener.close()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self._clients.append(client)
            threading.Thread(target=self._pump, args=(client, upstream), name="proxy-pump", daemon=True).start()

    def _pump(self, a: socket.socket, b: socket.socket) -> None:
        peer = {a: b, b: a}
        with selectors.DefaultSelector() as sel:
            sel.register(a, selectors.EVENT_READ)
            sel.register(b, selectors.EVENT_READ)
            while not self._closed.is_set():
                self.flowing.wait()
                for key, _ in sel.select(timeout=0.1):
                    data = key.fileobj.recv(65536)  # type: ignore[union-attr]
                    if not data:
                        a.close()
                        b.close()
                        return
                    peer[key.fileobj].sendall(data)  # type: ignore[index]
        a.close()
        b.close()


def display_routes(data_dir: Path, *modules: ModuleType) -> list[BaseRoute]:
    """The routes a display serves, from its app as made (not started: no broker is touched); only those whose
    endpoints the named modules define, when any are named."""
    from services.display.app import create_app
    from services.display.settings import DisplaySettings

    app = create_app(DisplaySettings(data_dir=data_dir), BusSettings(namespace=f"routes{uuid.uuid4().hex[:6]}"), 0)
    names = {module.__name__ for module in modules}
    return [route for route in app.routes if not names or _endpoint_module(route) in names]


def _endpoint_module(route: BaseRoute) -> str | None:
    endpoint = getattr(route, "endpoint", None)
    while isinstance(endpoint, functools.partial):
        endpoint = endpoint.func
    return getattr(endpoint, "__module__", None)
