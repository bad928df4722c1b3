"""The bus's I/O thread: one broker connection, re-opened with backoff, through which every publish and ack goes.

pika is not thread-safe, so other threads never touch the connection: they queue `Request`s here, and the loop
drains them between `process_data_events` calls (woken at once by `add_callback_threadsafe`).
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import pika
import pika.exceptions

from shared import metrics
from shared.bus._wire import Delivery, Request, Subscription
from shared.bus.connection import Backoff, connect, parameters
from shared.bus.errors import BusConfigError
from shared.bus.topology import QueueSpec, Topology
from shared.config import BusSettings

_LOGGER = logging.getLogger(__name__)

WAIT_SLICE_SECONDS = 0.1


class Link:
    """Owns the connection; `run()` loops until `stopping` is set, then lets `finishing()` complete and closes."""

    def __init__(self, stage: str, settings: BusSettings, topology: Topology, subscriptions: list[Subscription],
                 deliver: Callable[[Delivery], None], stopping: threading.Event) -> None:
        self.stage = stage
        self.settings = settings
        self.topology = topology
        self.subscriptions = subscriptions
        self.deliver = deliver
        self.stopping = stopping
        self.connected = threading.Event()
        self.requests: collections.deque[Request] = collections.deque()  # waited on: publishes with confirms, acks
        self.outbox: collections.deque[Request] = collections.deque()  # fire-and-forget, bounded by the caller
        self._params = parameters(settings.amqp_url, stage, settings.heartbeat_seconds)
        self._connection: pika.BlockingConnection | None = None
        self._generation = 0

    def submit(self, *requests: Request) -> None:
        self.requests.extend(requests)
        self.wake()

    def wake(self) -> None:
        connection = self._connection
        if connection is not None:
            try:
                connection.add_callback_threadsafe(lambda: None)
            except (pika.exceptions.AMQPError, RuntimeError, AttributeError):
                pass  # reconnecting: the loop drains the queue once connected

    def run(self, finishing: Callable[[], bool]) -> None:
        """Connect (waiting for the broker up to the connect timeout, later forever) and serve until stopped.

        `finishing()` is true while the work thread still has a message in hand at shutdown.
        """
        backoff = Backoff()
        deadline: float | None = time.monotonic() + self.settings.connect_timeout_seconds
        while not self.stopping.is_set():
            connection = connect(self._params, self.stopping, deadline, backoff)
            if connection is None:
                break
            deadline = None  # once we have been up, outages are waited out forever
            try:
                self._session(connection, backoff, finishing)
            except pika.exceptions.ChannelClosedByBroker as exc:
                if exc.reply_code in (403, 404, 406):
                    raise BusConfigError(_explain_channel_error(exc)) from exc
                self._lost(exc)
            except (pika.exceptions.AMQPError, OSError) as exc:
                self._lost(exc)
            finally:
                self.connected.clear()
                metrics.CONNECTED.labels(self.stage).set(0)
                self._connection = None
                self._generation += 1
                if connection.is_open:
                    try:
                        connection.close()
                    except (pika.exceptions.AMQPError, OSError):
                        pass
            if not self.stopping.is_set():
                self.stopping.wait(backoff.next_delay())

    def _lost(self, exc: BaseException) -> None:
        if self.stopping.is_set():
            return
        metrics.RECONNECTS.labels(self.stage).inc()
        _LOGGER.warning("%s: broker connection lost (%r); reconnecting", self.stage, exc)

    def _session(self, connection: pika.BlockingConnection, backoff: Backoff, finishing: Callable[[], bool]) -> None:
        channel = connection.channel()
        channel.confirm_delivery()
        self._declare(channel)
        generation = self._generation
        for sub in self.subscriptions:
            channel.basic_qos(prefetch_count=sub.prefetch)
            channel.basic_consume(
                sub.queue_name,
                on_message_callback=lambda _ch, method, props, body, sub=sub: self.deliver(
                    Delivery(sub, generation, method.delivery_tag, props, body)
                ),
            )
        self._connection = connection
        self.connected.set()
        metrics.CONNECTED.labels(self.stage).set(1)
        _LOGGER.info("%s: connected to the broker, consuming %s", self.stage,
                     ", ".join(s.spec.name or "(exclusive)" for s in self.subscriptions) or "nothing")
        healthy_since = time.monotonic()
        while not self.stopping.is_set():
            self._drain(channel, generation)
            connection.process_data_events(time_limit=0.25)
            if backoff.attempt and time.monotonic() - healthy_since > 10:
                backoff.reset()
        # Shutdown: no new deliveries; the message in hand finishes (its publishes and ack still flow); close.
        for tag in list(channel.consumer_tags):
            channel.basic_cancel(tag)
        while finishing():
            self._drain(channel, generation)
            connection.process_data_events(time_limit=WAIT_SLICE_SECONDS)
        self._drain(channel, generation)
        connection.close()
        _LOGGER.info("%s: closed cleanly", self.stage)

    def _declare(self, channel: Any) -> None:
        """Every worker declares the whole topology (idempotent), so nothing is ever published into the void."""
        t = self.topology
        channel.exchange_declare(t.exchange, exchange_type="topic", durable=True)
        channel.exchange_declare(t.dead_letter_exchange, exchange_type="topic", durable=True)
        for spec in t.stage_queues():
            _declare_queue(channel, spec, t.dead_letter_exchange if spec in (t.dead, t.dropped) else t.exchange)
        for sub in self.subscriptions:
            sub.queue_name = _declare_queue(channel, sub.spec, t.exchange)

    def _drain(self, channel: Any, generation: int) -> None:
        for pending in (self.requests, self.outbox):
            while pending:
                request = pending[0]
                if request.properties is not None:
                    try:
                        channel.basic_publish(request.exchange, request.routing_key, request.body, request.properties)
                    except pika.exceptions.NackError as exc:
                        request.error = exc
                elif request.generation == generation:
                    channel.basic_ack(request.ack_tag)
                # An ack from an older connection is void: the broker redelivers, and dedup skips it.
                pending.popleft()
                request.done.set()


def _declare_queue(channel: Any, spec: QueueSpec, exchange: str) -> str:
    result = channel.queue_declare(spec.name, durable=spec.durable, exclusive=spec.exclusive,
                                   auto_delete=False, arguments=spec.arguments or None)
    name: str = result.method.queue
    for key in spec.bindings:
        channel.queue_bind(name, exchange, routing_key=key)
    return name


def _explain_channel_error(exc: pika.exceptions.ChannelClosedByBroker) -> str:
    if exc.reply_code == 406:
        return (f"the broker refused our topology ({exc.reply_text}); a queue exists with other limits: delete it "
                "or choose another VOXFRAME_NAMESPACE")
    return f"the broker refused access ({exc.reply_code} {exc.reply_text}); check the user's permissions"
