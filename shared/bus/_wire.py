"""What travels between the bus's threads and the broker: subscriptions, deliveries and requests."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import pika

from shared.bus.topology import QueueSpec
from shared.messages import Envelope

Outputs = Envelope | Iterable[Envelope] | None
Handler = Callable[[Any], Outputs]

_TRANSIENT = {"status", "heard"}  # message kinds not worth persisting to disk


@dataclass
class Subscription:
    spec: QueueSpec
    handlers: dict[str, tuple[type[Envelope], Handler]]
    prefetch: int
    queue_name: str = ""  # the declared name (server-named for exclusive queues)
    priority: int = 0  # lower first: a delivery waits while one of a lower number is waiting too


@dataclass
class Delivery:
    """A message as received; `generation` names the connection whose channel can ack it."""

    subscription: Subscription
    generation: int
    tag: int
    properties: pika.BasicProperties
    body: bytes


@dataclass
class Request:
    """Work for the I/O thread: a publish (properties set) or an ack (tag set; `requeue` makes it a nack).

    Exactly one side decides its fate: the I/O thread `claim()`s it to send it, or its caller `withdraw()`s it
    (a publish it gave up waiting for), so a request the caller was told failed is never sent afterwards.
    """

    exchange: str = ""
    routing_key: str = ""
    body: bytes = b""
    properties: pika.BasicProperties | None = None
    ack_tag: int = 0
    generation: int = 0
    requeue: bool = False
    on_done: Callable[[Request], None] | None = None  # called on the I/O thread once sent (or refused)
    done: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None
    _state: str = "pending"  # pending -> sending -> (done) | pending -> withdrawn
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def claim(self) -> bool:
        """For the I/O thread: take it for sending; false if its caller withdrew it."""
        with self._lock:
            if self._state != "pending":
                return False
            self._state = "sending"
            return True

    def unclaim(self) -> None:
        """For the I/O thread: the connection failed mid-send, so it waits for the next one."""
        with self._lock:
            if self._state == "sending":
                self._state = "pending"

    def withdraw(self) -> bool:
        """For its caller: true if it will never be sent; false if it is already on its way to the broker."""
        with self._lock:
            if self._state == "pending":
                self._state = "withdrawn"
                return True
            return self._state == "withdrawn"


def publish_request(message: Envelope, exchange: str) -> Request:
    props = pika.BasicProperties(
        content_type="application/json",
        type=message.KIND,
        message_id=str(message.id),
        timestamp=int(message.created_at.timestamp()),
        headers={"schema_version": message.schema_version, "trace_id": str(message.trace_id)},
        delivery_mode=1 if message.KIND in _TRANSIENT else 2,
    )
    return Request(exchange, message.routing_key, message.to_json(), props)


def dead_letter_request(delivery: Delivery, exchange: str, kind: str, headers: dict[str, str]) -> Request:
    """The original body and properties, re-routed as `dead.<kind>` with the reason headers added."""
    props = delivery.properties
    return Request(exchange, f"dead.{kind}", delivery.body,
                   pika.BasicProperties(content_type=props.content_type, type=props.type, message_id=props.message_id,
                                        headers={**(props.headers or {}), **headers}, delivery_mode=2))
