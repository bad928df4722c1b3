"""The bus every worker uses: typed publishing with confirms, typed handlers with retries, dead letters and dedup.

Threads: the broker connection lives on one I/O thread (pika is not thread-safe); handlers and timers run,
one at a time, on a work thread, so heartbeats flow however long a handler takes and a service's own state
needs no locks. Other threads hand publishes and acks to the I/O thread through a queue.
"""

from __future__ import annotations

import collections
import logging
import queue
import signal
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pika
import pika.exceptions
from pydantic import ValidationError

from shared import metrics
from shared.bus.connection import Backoff, connect, parameters
from shared.bus.errors import BusConfigError, BusStopped, Unprocessable
from shared.bus.topology import QueueSpec, Topology
from shared.config import BusSettings
from shared.logs import trace_id
from shared.messages import Envelope

_LOGGER = logging.getLogger(__name__)

Outputs = Envelope | Iterable[Envelope] | None
Handler = Callable[[Any], Outputs]
Timer = Callable[[], Outputs]

REASON_HEADER = "x-voxframe-reason"
_TRANSIENT = {"status"}  # message kinds not worth persisting to disk
_WAIT_SLICE_SECONDS = 0.1


@dataclass
class _Subscription:
    spec: QueueSpec
    handlers: dict[str, tuple[type[Envelope], Handler]]
    prefetch: int
    queue_name: str = ""


@dataclass
class _Delivery:
    subscription: _Subscription
    generation: int
    tag: int
    properties: pika.BasicProperties
    body: bytes


@dataclass
class _Request:
    """Work for the I/O thread: a publish (exchange set) or an ack (tag set)."""

    exchange: str = ""
    routing_key: str = ""
    body: bytes = b""
    properties: pika.BasicProperties | None = None
    ack_tag: int = 0
    generation: int = 0
    done: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None


@dataclass
class _TimerEntry:
    every_seconds: float
    fn: Timer
    due: float


class Bus:
    """Connect, declare the topology, consume and publish typed messages; reconnect by itself."""

    def __init__(self, stage: str, settings: BusSettings | None = None, topology: Topology | None = None) -> None:
        self.stage = stage
        self.settings = settings or BusSettings()
        self.topology = topology or Topology.from_settings(self.settings)
        self._params = parameters(self.settings.amqp_url, stage, self.settings.heartbeat_seconds)
        self._subscriptions: list[_Subscription] = []
        self._timers: list[_TimerEntry] = []
        self._work: queue.Queue[_Delivery | None] = queue.Queue()
        self._requests: collections.deque[_Request] = collections.deque()
        self._outbox: collections.deque[_Request] = collections.deque()
        self._seen: collections.OrderedDict[str, None] = collections.OrderedDict()
        self._deferred: dict[str, _Delivery] = {}  # message id -> the delivery its deferred ack will ack
        self._stopping = threading.Event()
        self._connected = threading.Event()
        self._stopped = threading.Event()
        self._connection: pika.BlockingConnection | None = None
        self._generation = 0
        self._fatal: BaseException | None = None
        self._local = threading.local()
        self._worker: threading.Thread | None = None
        self._io: threading.Thread | None = None

    # ---- configuration (before start) -------------------------------------------------------------

    def consume(self, spec: QueueSpec, handlers: Mapping[type[Envelope], Handler], prefetch: int | None = None) -> None:
        """Deliver messages from `spec` to the handler for their type; a handler's return value is published
        (and confirmed) before the input is acknowledged."""
        table = {cls.KIND: (cls, fn) for cls, fn in handlers.items()}
        self._subscriptions.append(_Subscription(spec, table, prefetch or self.settings.prefetch))

    def every(self, seconds: float, fn: Timer) -> None:
        """Call `fn` every `seconds` on the work thread (between handlers); its return value is published."""
        self._timers.append(_TimerEntry(seconds, fn, time.monotonic() + seconds))

    # ---- publishing (any thread) ----------------------------------------------------------------------

    def publish(self, *messages: Envelope, timeout: float | None = None) -> None:
        """Publish and wait for the broker's confirms; survives reconnects. Raises BusStopped on shutdown."""
        requests = [self._publish_request(m) for m in messages]
        self._requests.extend(requests)
        self._wake()
        deadline = None if timeout is None else time.monotonic() + timeout
        for request, message in zip(requests, messages, strict=True):
            self._wait(request, deadline)
            metrics.PUBLISHED.labels(self.stage, message.KIND).inc()

    def publish_nowait(self, message: Envelope) -> None:
        """Queue a message without waiting; while the broker is away the oldest are dropped past a bound."""
        if len(self._outbox) >= self.settings.outbox_max:
            self._outbox.popleft()
            metrics.OUTBOX_DROPPED.labels(self.stage).inc()
        self._outbox.append(self._publish_request(message))
        self._wake()

    def defer_ack(self) -> Callable[[], None]:
        """Inside a handler: keep the input unacknowledged until the returned callable is called.

        For state built from many messages (the prompter's window): if the process dies first, the broker
        redelivers them to the replica that takes over.
        """
        key: str = self._local.key
        self._deferred[key] = self._local.delivery
        self._local.deferred = True
        return lambda: self._ack_deferred(key)

    def _ack_deferred(self, key: str) -> None:
        delivery = self._deferred.pop(key, None)
        if delivery is not None:
            self._queue_ack(delivery)

    # ---- running ------------------------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def health(self) -> dict[str, object] | None:
        """None when ready, else why not (for `/healthz`)."""
        return None if self.connected else {"reason": "not connected to the broker"}

    def run(self, install_signal_handlers: bool = True) -> None:
        """Run until SIGTERM/SIGINT or stop(); the message in hand is finished first."""
        if install_signal_handlers:
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: self.stop())
        self._worker = threading.Thread(target=self._work_loop, name=f"{self.stage}-work", daemon=True)
        self._worker.start()
        try:
            self._io_loop()
        finally:
            self._stopping.set()
            self._stopped.set()

    def start(self) -> None:
        """Run in a background thread (for services whose main thread serves something else)."""
        self._io = threading.Thread(target=self._run_background, name=f"{self.stage}-bus", daemon=True)
        self._io.start()

    def wait_connected(self, timeout: float) -> None:
        """Block until connected; raise the fatal error if the bus gave up, TimeoutError on timeout."""
        deadline = time.monotonic() + timeout
        while not self._connected.wait(_WAIT_SLICE_SECONDS):
            if self._fatal is not None:
                raise self._fatal
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.stage}: not connected to the broker after {timeout:.0f} s")

    def stop(self, timeout: float | None = None) -> None:
        self._stopping.set()
        self._wake()
        if timeout is not None and threading.current_thread() is not self._io:
            self._stopped.wait(timeout)

    def _run_background(self) -> None:
        try:
            self.run(install_signal_handlers=False)
        except BaseException as exc:  # noqa: BLE001 (surfaced by wait_connected())
            self._fatal = exc
            _LOGGER.error("%s: bus stopped: %s", self.stage, exc)

    # ---- I/O thread -----------------------------------------------------------------------------------------

    def _io_loop(self) -> None:
        backoff = Backoff()
        deadline: float | None = time.monotonic() + self.settings.connect_timeout_seconds
        while not self._stopping.is_set():
            connection = connect(self._params, self._stopping, deadline, backoff)
            if connection is None:
                break
            deadline = None  # once we have been up, outages are waited out forever
            try:
                self._session(connection, backoff)
            except BusConfigError:
                raise
            except pika.exceptions.ChannelClosedByBroker as exc:
                if exc.reply_code in (403, 404, 406):
                    raise BusConfigError(_explain_channel_error(exc)) from exc
                self._lost(exc)
            except (pika.exceptions.AMQPError, OSError) as exc:
                self._lost(exc)
            finally:
                self._connected.clear()
                metrics.CONNECTED.labels(self.stage).set(0)
                self._connection = None
                self._generation += 1
                if connection.is_open:
                    try:
                        connection.close()
                    except (pika.exceptions.AMQPError, OSError):
                        pass
            if not self._stopping.is_set():
                self._stopping.wait(backoff.next_delay())

    def _lost(self, exc: BaseException) -> None:
        if self._stopping.is_set():
            return
        metrics.RECONNECTS.labels(self.stage).inc()
        _LOGGER.warning("%s: broker connection lost (%r); reconnecting", self.stage, exc)

    def _session(self, connection: pika.BlockingConnection, backoff: Backoff) -> None:
        channel = connection.channel()
        channel.confirm_delivery()
        self._declare(channel)
        generation = self._generation
        for sub in self._subscriptions:
            channel.basic_qos(prefetch_count=sub.prefetch)
            channel.basic_consume(
                sub.queue_name,
                on_message_callback=lambda _ch, method, props, body, sub=sub: self._work.put(
                    _Delivery(sub, generation, method.delivery_tag, props, body)
                ),
            )
        self._connection = connection
        self._connected.set()
        metrics.CONNECTED.labels(self.stage).set(1)
        _LOGGER.info("%s: connected to the broker, consuming %s", self.stage,
                     ", ".join(s.spec.name or "(exclusive)" for s in self._subscriptions) or "nothing")
        healthy_since = time.monotonic()
        while not self._stopping.is_set():
            self._drain(channel, generation)
            connection.process_data_events(time_limit=0.25)
            if backoff.attempt and time.monotonic() - healthy_since > 10:
                backoff.reset()
        self._shutdown(connection, channel, generation)

    def _shutdown(self, connection: pika.BlockingConnection, channel: Any, generation: int) -> None:
        """Stop new deliveries, let the handler finish (its publishes and ack still flow), then close."""
        for tag in list(channel.consumer_tags):
            channel.basic_cancel(tag)
        self._work.put(None)
        while self._worker is not None and self._worker.is_alive():
            self._drain(channel, generation)
            connection.process_data_events(time_limit=_WAIT_SLICE_SECONDS)
        self._drain(channel, generation)
        connection.close()
        _LOGGER.info("%s: closed cleanly", self.stage)

    def _declare(self, channel: Any) -> None:
        t = self.topology
        channel.exchange_declare(t.exchange, exchange_type="topic", durable=True)
        channel.exchange_declare(t.dead_letter_exchange, exchange_type="topic", durable=True)
        for spec in t.stage_queues():
            self._declare_queue(channel, spec, t.dead_letter_exchange if spec in (t.dead, t.dropped) else t.exchange)
        for sub in self._subscriptions:
            sub.queue_name = self._declare_queue(channel, sub.spec, t.exchange)

    @staticmethod
    def _declare_queue(channel: Any, spec: QueueSpec, exchange: str) -> str:
        result = channel.queue_declare(spec.name, durable=spec.durable, exclusive=spec.exclusive,
                                       auto_delete=False, arguments=spec.arguments or None)
        name: str = result.method.queue
        for key in spec.bindings:
            channel.queue_bind(name, exchange, routing_key=key)
        return name

    def _drain(self, channel: Any, generation: int) -> None:
        for pending in (self._requests, self._outbox):
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

    def _wake(self) -> None:
        connection = self._connection
        if connection is not None:
            try:
                connection.add_callback_threadsafe(lambda: None)
            except (pika.exceptions.AMQPError, RuntimeError, AttributeError):
                pass  # reconnecting: the loop drains the queue once connected

    # ---- work thread --------------------------------------------------------------------------------------

    def _work_loop(self) -> None:
        while True:
            try:
                item = self._work.get(timeout=self._until_next_timer())
            except queue.Empty:
                item = None if self._stopping.is_set() else _NO_ITEM
            if item is None:
                return
            if self._stopping.is_set():
                continue  # not started: left unacked, the broker redelivers it
            try:
                if item is not _NO_ITEM:
                    self._handle(item)
                self._run_due_timers()
            except BusStopped:
                continue

    def _until_next_timer(self) -> float:
        if not self._timers:
            return 0.5
        return max(0.0, min(0.5, min(t.due for t in self._timers) - time.monotonic()))

    def _run_due_timers(self) -> None:
        now = time.monotonic()
        for timer in self._timers:
            if timer.due <= now:
                timer.due = now + timer.every_seconds
                try:
                    self._publish_outputs(timer.fn())
                except BusStopped:
                    raise
                except Exception:
                    _LOGGER.exception("%s: timer %s failed", self.stage, getattr(timer.fn, "__name__", timer.fn))

    def _handle(self, delivery: _Delivery) -> None:
        kind = delivery.properties.type or "unknown"
        entry = delivery.subscription.handlers.get(kind)
        if entry is None:
            self._dead_letter(delivery, kind, "unexpected_type",
                              f"no handler for message type {kind!r} on {delivery.subscription.spec.name or 'queue'}")
            return
        cls, handler = entry
        try:
            message = cls.from_json(delivery.body)
        except ValidationError as exc:
            self._dead_letter(delivery, kind, "invalid", _summarise(exc))
            return
        key = str(message.id)
        if key in self._deferred:
            # Redelivered after a reconnect while its ack is still held: the pending ack now owns this delivery.
            self._deferred[key] = delivery
            metrics.DUPLICATES.labels(self.stage, kind).inc()
            return
        if key in self._seen:
            metrics.DUPLICATES.labels(self.stage, kind).inc()
            self._queue_ack(delivery)
            return
        token = trace_id.set(str(message.trace_id))
        try:
            outputs = self._call_with_retries(handler, message, delivery, kind)
            if outputs is _DEAD:
                return
            self._publish_outputs(outputs)
            age = (time.time() - message.origin_at.timestamp())
            metrics.WORK_AGE_SECONDS.labels(self.stage, kind).observe(max(0.0, age))
            metrics.CONSUMED.labels(self.stage, kind).inc()
            self._remember(key)
            if not self._local.deferred:
                self._queue_ack(delivery)
        finally:
            trace_id.reset(token)

    def _call_with_retries(self, handler: Handler, message: Envelope, delivery: _Delivery, kind: str) -> Any:
        attempts = self.settings.max_attempts
        for attempt in range(1, attempts + 1):
            self._local.delivery, self._local.key, self._local.deferred = delivery, str(message.id), False
            started = time.perf_counter()
            try:
                return handler(message)
            except BusStopped:
                raise
            except Unprocessable as exc:
                metrics.FAILED.labels(self.stage, kind).inc()
                self._dead_letter(delivery, kind, "unprocessable", str(exc))
                return _DEAD
            except Exception as exc:
                metrics.FAILED.labels(self.stage, kind).inc()
                if attempt == attempts:
                    _LOGGER.error("%s: %s %s failed %d times, dead-lettering: %r",
                                  self.stage, kind, message.id, attempts, exc)
                    self._dead_letter(delivery, kind, "handler_error", f"{type(exc).__name__}: {exc}")
                    return _DEAD
                delay = self.settings.retry_backoff_seconds * 2 ** (attempt - 1)
                _LOGGER.warning("%s: %s %s failed (try %d/%d, again in %.1f s): %r",
                                self.stage, kind, message.id, attempt, attempts, delay, exc)
                if self._stopping.wait(delay):
                    raise BusStopped() from exc
            finally:
                metrics.HANDLING_SECONDS.labels(self.stage, kind).observe(time.perf_counter() - started)
        raise AssertionError("unreachable")

    def _publish_outputs(self, outputs: Outputs) -> None:
        if outputs is None:
            return
        self.publish(*([outputs] if isinstance(outputs, Envelope) else list(outputs)))

    def _dead_letter(self, delivery: _Delivery, kind: str, reason: str, detail: str) -> None:
        props = delivery.properties
        headers = dict(props.headers or {})
        headers.update({REASON_HEADER: f"{reason}: {detail}"[:4000], "x-voxframe-stage": self.stage,
                        "x-voxframe-queue": delivery.subscription.spec.name})
        request = _Request(self.topology.dead_letter_exchange, f"dead.{kind}", delivery.body,
                           pika.BasicProperties(content_type=props.content_type, type=props.type,
                                                message_id=props.message_id, headers=headers, delivery_mode=2))
        self._requests.append(request)
        self._wake()
        self._wait(request, None)
        metrics.DEAD_LETTERED.labels(self.stage, kind, reason).inc()
        _LOGGER.warning("%s: dead-lettered a %s message: %s: %s", self.stage, kind, reason, detail[:300])
        self._queue_ack(delivery)

    def _remember(self, key: str) -> None:
        if self.settings.dedup_ids:
            self._seen[key] = None
            while len(self._seen) > self.settings.dedup_ids:
                self._seen.popitem(last=False)

    # ---- helpers ----------------------------------------------------------------------------------------------

    def _publish_request(self, message: Envelope) -> _Request:
        props = pika.BasicProperties(
            content_type="application/json",
            type=message.KIND,
            message_id=str(message.id),
            timestamp=int(message.created_at.timestamp()),
            headers={"schema_version": message.schema_version, "trace_id": str(message.trace_id)},
            delivery_mode=1 if message.KIND in _TRANSIENT else 2,
        )
        return _Request(self.topology.exchange, message.routing_key, message.to_json(), props)

    def _queue_ack(self, delivery: _Delivery) -> None:
        self._requests.append(_Request(ack_tag=delivery.tag, generation=delivery.generation))
        self._wake()

    def _wait(self, request: _Request, deadline: float | None) -> None:
        while not request.done.wait(_WAIT_SLICE_SECONDS):
            if self._stopping.is_set() and (not self.connected or self._stopped.is_set()):
                raise BusStopped(f"{self.stage}: stopping before the broker confirmed")
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"{self.stage}: broker did not confirm in time")
        if request.error is not None:
            raise request.error


_NO_ITEM: Any = object()
_DEAD: Any = object()


def _summarise(exc: ValidationError) -> str:
    parts = [f"{'.'.join(str(p) for p in e['loc']) or '(message)'}: {e['msg']}" for e in exc.errors()[:5]]
    return f"{exc.error_count()} validation error(s): " + "; ".join(parts)


def _explain_channel_error(exc: pika.exceptions.ChannelClosedByBroker) -> str:
    if exc.reply_code == 406:
        return (f"the broker refused our topology ({exc.reply_text}); a queue exists with other limits: delete it "
                "or choose another VOXFRAME_NAMESPACE")
    return f"the broker refused access ({exc.reply_code} {exc.reply_text}); check the user's permissions"
