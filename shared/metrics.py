"""Metrics every worker shares, and the small HTTP server that serves `/metrics` and `/healthz`."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, Info, generate_latest

from shared import __version__
from shared.errors import ConfigError

_LOGGER = logging.getLogger(__name__)

# Up to two minutes: a cold diffusion model on CPU is the slowest thing we time.
SECONDS_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120)

BUILD = Info("voxframe_build", "Voxframe version and the stage this process runs")
CONSUMED = Counter("voxframe_messages_consumed_total", "Messages handled", ["stage", "type"])
PUBLISHED = Counter("voxframe_messages_published_total", "Messages published and confirmed", ["stage", "type"])
FAILED = Counter("voxframe_messages_failed_total", "Handler attempts that raised", ["stage", "type"])
DEAD_LETTERED = Counter(
    "voxframe_messages_dead_lettered_total", "Messages sent to the dead-letter queue", ["stage", "type", "reason"]
)
REQUEUED = Counter(
    "voxframe_messages_requeued_total", "Messages returned to their queue because the bus could not finish them",
    ["stage", "type"],
)
DUPLICATES = Counter("voxframe_messages_duplicate_total", "Redeliveries skipped by message id", ["stage", "type"])
HANDLING_SECONDS = Histogram(
    "voxframe_handling_seconds", "Time a handler took", ["stage", "type"], buckets=SECONDS_BUCKETS
)
WORK_AGE_SECONDS = Histogram(
    "voxframe_work_age_seconds", "Age of the work since its speech ended, when a stage finished it",
    ["stage", "type"], buckets=SECONDS_BUCKETS,
)
RECONNECTS = Counter("voxframe_bus_reconnects_total", "Broker connections lost and re-opened", ["stage"])
CONNECTED = Gauge("voxframe_bus_connected", "1 while connected to the broker", ["stage"])
OUTBOX_DROPPED = Counter(
    "voxframe_bus_outbox_dropped_total", "Fire-and-forget messages dropped: outbox full while the broker was away, "
    "or refused by the broker", ["stage"]
)


IDLE_SECONDS = 10.0  # a scrape or a probe sends its request at once; a connection silent this long is dropped


class _Handler(BaseHTTPRequestHandler):
    ready: Callable[[], dict[str, object] | None]
    # Each connection holds a thread: without a timeout, one that sends nothing (or half a request) held it for
    # good, so a port scan or a broken prober could pile up threads until the worker could start none of its own.
    timeout = IDLE_SECONDS

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            self._send(200, generate_latest(), CONTENT_TYPE_LATEST)
        elif path == "/healthz":
            problem = self.ready()
            body = json.dumps({"status": "ok"} if problem is None else {"status": "unavailable", **problem})
            self._send(200 if problem is None else 503, body.encode(), "application/json")
        else:
            self._send(404, b"not found\n", "text/plain")

    def _refuse_method(self) -> None:
        """Read-only endpoints: any other method is the client's mistake (405), not something unimplemented (501)."""
        self.close_connection = True  # its body, if any, is not read
        self._send(405, b"only GET\n", "text/plain", {"Allow": "GET"})

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _refuse_method

    def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        _LOGGER.debug("metrics http: " + format, *args)


def serve_metrics(stage: str, port: int, ready: Callable[[], dict[str, object] | None],
                  host: str) -> ThreadingHTTPServer:
    """Serve `/metrics` and `/healthz` (`ready()` returns None when healthy, else why not) in a thread.

    Port 0 picks a free port; read it from `server.server_address[1]`.
    """
    BUILD.info({"version": __version__, "stage": stage})
    handler = type("MetricsHandler", (_Handler,), {"ready": staticmethod(ready)})
    try:
        server = ThreadingHTTPServer((host, port), handler)
    except OSError as exc:
        raise ConfigError(f"cannot serve metrics on {host}:{port} ({exc.strerror}); "
                          "pick another --metrics-port") from exc
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="metrics-http", daemon=True).start()
    _LOGGER.info("Metrics on http://%s:%d/metrics", host, server.server_address[1])
    return server
