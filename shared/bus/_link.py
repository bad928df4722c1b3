"""The bus's I/O thread: one broker connection, re-opened with backoff, through which every publish and ack goes.

pika is not thread-safe, so other threads never touch the connection: they queue `Request`s here, and the loop
drains them between `process_data_events` calls (woken at once by `add_callback_threadsafe`).
"""

from __future__ import annotations

import collections
import contextlib
import functools
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import pika
import pika.exceptions
from pika.adapters.blocking_connection import BlockingChannel
from pika.spec import Basic

from shared import metrics
from shared.bus._declare import Declarer
from shared.bus._wire import Delivery, Request, Subscription
from shared.bus.connection import RECONNECT, Nodes, connect, parameters, where
from shared.bus.errors import BusConfigError, PublishRefused, TopologyMissing, Unprocessable
from shared.bus.topology import Topology
from shared.config import BusSettings
from shared.retry import Interrupted, Retry

_LOGGER = logging.getLogger(__name__)

WAIT_SLICE_SECONDS = 0.1


class _Lost(Exception):
    """The connection was lost (or the topology is not there yet): reconnect after a backoff."""


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
        self.waiting: str | None = None  # what the topology lacks that this user may not declare, while it does
        self.requests: collections.deque[Request] = collections.deque()  # waited on: publishes with confirms, acks
        self.outbox: collections.deque[Request] = collections.deque()  # fire-and-forget, bounded by post()
        self._queues_lock = threading.Lock()  # other threads add and drop while the I/O thread takes
        self._nodes = Nodes(parameters(settings.amqp_url, stage, settings.heartbeat_seconds))
        self._connection: pika.BlockingConnection | None = None
        self._publisher: BlockingChannel | None = None  # publishes, with confirms; renewed after a nack
        self._generation = 0
        self._deadline: float | None = None  # the first connect's; outages after it are waited out forever
        self._reconnect = Retry(_Lost, RECONNECT, stop=stopping)

    def submit(self, *requests: Request) -> None:
        with self._queues_lock:
            self.requests.extend(requests)
        self.wake()

    def post(self, request: Request, bound: int) -> Request | None:
        """Queue a fire-and-forget publish; past `bound` waiting ones, the oldest is dropped and returned.

        A request being sent is no longer in the outbox, so a drop never hits one already on its way.
        """
        with self._queues_lock:
            dropped = self.outbox.popleft() if len(self.outbox) >= bound else None
            if dropped is not None:
                dropped.withdraw()
            self.outbox.append(request)
        self.wake()
        return dropped

    def wake(self) -> None:
        connection = self._connection
        if connection is not None:  # reconnecting, it may fail: the loop drains the queue once connected
            with contextlib.suppress(pika.exceptions.AMQPError, RuntimeError, AttributeError):
                connection.add_callback_threadsafe(lambda: None)

    def run(self, finishing: Callable[[], bool]) -> None:
        """Connect (waiting for the broker up to the connect timeout, later forever) and serve until stopped.

        `finishing()` is true while the work thread still has a message in hand at shutdown.
        """
        self._deadline = time.monotonic() + self.settings.connect_timeout_seconds
        with contextlib.suppress(Interrupted):
            self._reconnect(self._connection_once, finishing)

    def _connection_once(self, finishing: Callable[[], bool]) -> None:
        """One connection, served until stopped (returns) or lost (`_Lost`, to reconnect after a backoff)."""
        connection = connect(self._nodes, self.stopping, self._deadline)
        if connection is None:
            return
        self._deadline = None  # once we have been up, outages are waited out forever
        try:
            self._session(connection, finishing)
        except TopologyMissing as exc:
            self._wait_for_topology(str(exc))
            raise _Lost() from exc
        except pika.exceptions.ChannelClosedByBroker as exc:
            if exc.reply_code in (403, 404, 406) and not _refused_size(exc):
                raise BusConfigError(_explain_channel_error(exc)) from exc
            self._lost(exc)
            raise _Lost() from exc
        except (pika.exceptions.AMQPError, OSError) as exc:
            self._lost(exc)
            raise _Lost() from exc
        finally:
            self.connected.clear()
            metrics.CONNECTED.labels(self.stage).set(0)
            self._connection = None
            self._generation += 1
            if connection.is_open:
                with contextlib.suppress(pika.exceptions.AMQPError, OSError):
                    connection.close()

    def _wait_for_topology(self, missing: str) -> None:
        if missing != self.waiting:
            _LOGGER.warning("%s: %s", self.stage, missing)
        self.waiting = missing

    def _lost(self, exc: BaseException) -> None:
        if self.stopping.is_set():
            return
        metrics.RECONNECTS.labels(self.stage).inc()
        _LOGGER.warning("%s: broker connection lost (%r); reconnecting", self.stage, exc)

    def _on_message(self, sub: Subscription, generation: int, _channel: BlockingChannel,
                    method: Basic.Deliver, props: pika.BasicProperties, body: bytes) -> None:
        assert method.delivery_tag is not None, "a broker's Basic.Deliver always carries its delivery tag"
        self.deliver(Delivery(sub, generation, method.delivery_tag, props, body))

    def _session(self, connection: pika.BlockingConnection, finishing: Callable[[], bool]) -> None:
        declarer = Declarer(connection)
        names = declarer.topology(self.topology, [sub.spec for sub in self.subscriptions])
        self.waiting = None
        channel = declarer.channel  # deliveries and their acks
        self._publisher = _confirming(connection)
        generation = self._generation
        for sub, name in zip(self.subscriptions, names, strict=True):
            sub.queue_name = name
            channel.basic_qos(prefetch_count=sub.prefetch)
            channel.basic_consume(sub.queue_name,
                                  on_message_callback=functools.partial(self._on_message, sub, generation))
        self._connection = connection
        self.connected.set()
        metrics.CONNECTED.labels(self.stage).set(1)
        node = getattr(getattr(connection, "_impl", None), "params", None)  # which of the nodes answered
        _LOGGER.info("%s: connected to the broker at %s, consuming %s", self.stage, where(node) if node else "?",
                     ", ".join(s.spec.name or "(exclusive)" for s in self.subscriptions) or "nothing")
        healthy_since = time.monotonic()
        while not self.stopping.is_set():
            self._drain(channel, generation)
            connection.process_data_events(time_limit=0.25)
            if self._reconnect.tries and time.monotonic() - healthy_since > 10:
                self._reconnect.healthy()
        # Shutdown: no new deliveries; the message in hand finishes (its publishes and ack still flow); close.
        for tag in list(channel.consumer_tags):
            channel.basic_cancel(tag)
        while finishing():
            self._drain(channel, generation)
            connection.process_data_events(time_limit=WAIT_SLICE_SECONDS)
        self._drain(channel, generation)
        connection.close()
        _LOGGER.info("%s: closed cleanly", self.stage)

    def _drain(self, channel: Any, generation: int) -> None:
        for pending in (self.requests, self.outbox):
            while (request := self._take(pending)) is not None:
                try:
                    self._send(channel, request, generation)
                except BaseException:
                    if not request.done.is_set():  # the connection failed under it: it goes on the next one
                        with self._queues_lock:
                            request.unclaim()
                            pending.appendleft(request)
                    raise
                request.done.set()
                if request.on_done is not None:
                    request.on_done(request)

    def _renew_publisher(self) -> None:
        """After a nack the next publishes go on a fresh channel. A RabbitMQ 3.10 channel keeps the quorum queue
        leader it was opened with: opened just after that leader's node was lost (before the new leader is recorded),
        it refuses every publish to the queue until the old node returns, while a new channel asks the record again
        (seen in the cluster test: nacks for minutes, with a leader elected on the two nodes left)."""
        assert self._publisher is not None
        stale, self._publisher = self._publisher, _confirming(self._publisher.connection)
        with contextlib.suppress(pika.exceptions.AMQPError):
            stale.close()

    def _take(self, pending: collections.deque[Request]) -> Request | None:
        with self._queues_lock:
            while pending:
                request = pending.popleft()
                if request.claim():
                    return request
        return None

    def _send(self, channel: Any, request: Request, generation: int) -> None:
        if request.properties is None:
            if request.generation == generation:
                if request.requeue:
                    channel.basic_nack(request.ack_tag, requeue=True)
                else:
                    channel.basic_ack(request.ack_tag)
            return  # an ack from an older connection is void: the broker redelivers, and dedup skips it
        assert self._publisher is not None, "publishes are sent only inside a session"
        try:
            self._publisher.basic_publish(request.exchange, request.routing_key, request.body, request.properties)
        except pika.exceptions.NackError as exc:
            request.error = PublishRefused(
                f"the broker refused a {request.properties.type} message for {request.routing_key!r} (nack): a queue "
                "bound to it is full and refuses publishes, or the broker could not store it")
            request.error.__cause__ = exc
            self._renew_publisher()
        except pika.exceptions.ChannelClosedByBroker as exc:
            if not _refused_size(exc):
                raise
            # The broker's max_message_size is below VOXFRAME_MAX_MESSAGE_BYTES: this message can never go.
            request.error = Unprocessable(f"the broker refused a {len(request.body)}-byte message: {exc.reply_text} "
                                          "(set VOXFRAME_MAX_MESSAGE_BYTES to the broker's max_message_size)")
            request.done.set()
            raise


def _confirming(connection: pika.BlockingConnection) -> BlockingChannel:
    channel = connection.channel()
    channel.confirm_delivery()
    return channel


def _refused_size(exc: pika.exceptions.ChannelClosedByBroker) -> bool:
    """RabbitMQ closes the channel with 406 "message size N is larger than configured max size M"."""
    return exc.reply_code == 406 and "larger than configured max size" in str(exc.reply_text)


def _explain_channel_error(exc: pika.exceptions.ChannelClosedByBroker) -> str:
    if exc.reply_code == 406:
        return (f"the broker refused our topology ({exc.reply_text}); a queue exists with other limits: delete it "
                "or choose another VOXFRAME_NAMESPACE")
    return f"the broker refused access ({exc.reply_code} {exc.reply_text}); check the user's permissions"
