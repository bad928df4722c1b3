"""Opening a broker connection: clear fatal errors for misconfiguration, backoff with jitter for outages."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time

import pika
import pika.exceptions

from shared import retry
from shared.bus.errors import BusConfigError

_LOGGER = logging.getLogger(__name__)

RECONNECT = retry.Backoff(0.2, max_seconds=5.0)  # waits between tries to reach the broker

_FATAL = (
    pika.exceptions.ProbableAuthenticationError,
    pika.exceptions.AuthenticationError,
    pika.exceptions.ProbableAccessDeniedError,
)


def parameters(urls: str, worker: str, heartbeat_seconds: int) -> list[pika.URLParameters]:
    """Parse the URL, or the comma-separated URLs of a cluster's nodes, once; each connection is named so
    operators (and tests) can find it in the broker."""
    return [_parameters(url.strip(), worker, heartbeat_seconds) for url in urls.split(",") if url.strip()] or [
        _parameters(urls, worker, heartbeat_seconds)]


def _parameters(url: str, worker: str, heartbeat_seconds: int) -> pika.URLParameters:
    if not url.startswith(("amqp://", "amqps://")):
        raise BusConfigError(f"VOXFRAME_AMQP_URL must start with amqp:// or amqps://, got {_redact(url)!r}")
    try:
        params = pika.URLParameters(url)
    except Exception as exc:  # pika raises several types for malformed URLs
        raise BusConfigError(f"cannot parse VOXFRAME_AMQP_URL {_redact(url)!r}: {exc}") from exc
    params.heartbeat = heartbeat_seconds
    params.blocked_connection_timeout = 300
    params.connection_attempts = 1
    params.socket_timeout = 5
    params.client_properties = {"connection_name": connection_name(worker)}
    return params


def connection_name(worker: str) -> str:
    return f"voxframe-{worker}@{socket.gethostname()}:{os.getpid()}"


def _redact(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        rest = "***@" + rest.split("@", 1)[1]
    return scheme + sep + rest


class Nodes:
    """The broker's addresses, tried in turn: after a node is lost, the next one is tried first."""

    def __init__(self, params: list[pika.URLParameters]) -> None:
        self.params = params
        self._next = 0

    def rotation(self) -> list[pika.URLParameters]:
        order = self.params[self._next:] + self.params[:self._next]
        self._next = (self._next + 1) % len(self.params)
        return order


def where(params: pika.URLParameters) -> str:
    return f"{params.host}:{params.port}{params.virtual_host and '/' + params.virtual_host}"


def connect(nodes: Nodes, stop: threading.Event, deadline: float | None) -> pika.BlockingConnection | None:
    """Connect to any answering node, retrying outages until `deadline` (monotonic; None = forever).
    None if stopped meanwhile."""
    if stop.is_set():
        return None
    addresses = ", ".join(where(p) for p in nodes.params)
    budget = None if deadline is None else max(0.0, deadline - time.monotonic())

    def unreachable(exc: BaseException, tries: int, _delay: float) -> None:
        if tries == 1:
            _LOGGER.warning("Broker at %s not reachable (%r); retrying with backoff", addresses, exc.__cause__)

    policy = retry.Retry(_Unreachable, RECONNECT, within_seconds=budget, stop=stop, on_retry=unreachable)
    try:
        return policy(_any_node, nodes)
    except retry.Interrupted:
        return None
    except _Unreachable as exc:
        raise BusConfigError(f"broker at {addresses} not reachable: {exc.__cause__!r}") from exc.__cause__


class _Unreachable(Exception):
    """No node answered this round; the last failure is the cause."""


def _any_node(nodes: Nodes) -> pika.BlockingConnection:
    failure: BaseException | None = None
    for params in nodes.rotation():
        try:
            return pika.BlockingConnection(params)
        except _FATAL as exc:
            raise BusConfigError(f"broker at {where(params)} refused the credentials or vhost: {exc!r}") from exc
        except (pika.exceptions.AMQPError, OSError) as exc:
            failure = exc
    raise _Unreachable() from failure


def check_broker(url: str, stage: str, timeout_seconds: float) -> None:
    """Connect once and close: lets a service that serves something else fail fast, before it starts serving."""
    connection = connect(Nodes(parameters(url, stage, 0)), threading.Event(), time.monotonic() + timeout_seconds)
    if connection is not None:
        connection.close()
