"""The bus every worker uses: typed publishing with confirms, typed handlers with retries, dead letters and dedup.

Threads: the broker connection lives on one I/O thread (pika is not thread-safe); handlers and timers run,
one at a time, on a work thread, so heartbeats flow however long a handler takes and a service's own state
needs no locks. Other threads hand publishes and acks to the I/O thread through a queue.
"""

from __future__ import annotations

import collections
import itertools
import logging
import queue
import signal
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from shared import metrics
from shared.bus._link import WAIT_SLICE_SECONDS, Link
from shared.bus._wire import (
    Delivery,
    Handler,
    Outputs,
    Request,
    Subscription,
    dead_letter_request,
    publish_request,
)
from shared.bus.errors import BusStopped, MessageTooLarge, PublishRefused, Unprocessable, WorkerDied
from shared.bus.topology import QueueSpec, Topology
from shared.config import BusSettings
from shared.errors import describe_validation_error
from shared.logs import trace_id
from shared.messages import MESSAGE_TYPES, Envelope
from shared.retry import Backoff, Interrupted, Retry
from shared.settings_cli import load_settings

_LOGGER = logging.getLogger(__name__)

Timer = Callable[[], Outputs]

REASON_HEADER = "x-voxframe-reason"

# After a delivery is acked, how long lower-priority work waits for the broker to deliver the next message of
# the queue just served: with prefetch 1 that message is sent only once the ack arrives, by which time a
# lower-priority one is already here (an ack's round trip on a loaded host; costs nothing if one comes sooner).
PRIORITY_GRACE_SECONDS = 0.1
TIMER_FAILURES_UNHEALTHY = 5  # a timer (a worker's loop) that raised this often in a row fails /healthz
UNKNOWN_KIND = "unknown"  # the metric label and dead-letter key of a message whose AMQP type is none of ours


@dataclass
class _TimerEntry:
    every_seconds: float
    fn: Timer
    due: float
    failures: int = 0  # calls in a row that raised
    error: str = ""  # the last one's exception


class Bus:
    """Connect, declare the topology, consume and publish typed messages; reconnect by itself."""

    def __init__(self, stage: str, settings: BusSettings | None = None, topology: Topology | None = None) -> None:
        self.stage = stage
        self.settings = settings or load_settings(BusSettings)
        self.topology = topology or Topology.from_settings(self.settings)
        self._subscriptions: list[Subscription] = []
        self._timers: list[_TimerEntry] = []
        self._work: queue.PriorityQueue[tuple[int, int, Delivery]] = queue.PriorityQueue()
        self._arrivals = itertools.count()
        self._served: tuple[int, float] | None = None  # priority of the delivery last finished, and when
        self._seen: collections.OrderedDict[str, None] = collections.OrderedDict()
        self._deferred: dict[str, Delivery] = {}  # dedup key -> the delivery its deferred ack will ack
        self._stopping = threading.Event()
        self._stopped = threading.Event()
        self._link = Link(stage, self.settings, self.topology, self._subscriptions, self._enqueue, self._stopping)
        self._fatal: BaseException | None = None
        self._on_failure: Callable[[BaseException], None] | None = None
        self._local = threading.local()
        self._worker: threading.Thread | None = None
        self._io: threading.Thread | None = None

    @property
    def stopping(self) -> threading.Event:
        """Set once shutdown begins: a handler's own waits (retries) watch it, so they end at once."""
        return self._stopping

    # ---- configuration (before start) -------------------------------------------------------------

    def consume(self, spec: QueueSpec, handlers: Mapping[type[Envelope], Handler], prefetch: int | None = None,
                priority: int = 0) -> None:
        """Deliver messages from `spec` to the handler for their type; a handler's return value is published
        (and confirmed) before the input is acknowledged. Of several queues, the lowest `priority` is served
        first (live audio before uploads), in arrival order within one; after each delivery its queue keeps the
        turn for PRIORITY_GRACE_SECONDS, while a prefetch-1 consumer's next message is still on its way."""
        table = {cls.KIND: (cls, fn) for cls, fn in handlers.items()}
        self._subscriptions.append(Subscription(spec, table, prefetch or self.settings.prefetch, priority=priority))

    def every(self, seconds: float, fn: Timer) -> None:
        """Call `fn` every `seconds` on the work thread (between handlers); its return value is published."""
        self._timers.append(_TimerEntry(seconds, fn, time.monotonic() + seconds))

    # ---- publishing (any thread) ----------------------------------------------------------------------

    def publish(self, *messages: Envelope, timeout: float | None = None) -> None:
        """Publish and wait for the broker's confirms; survives reconnects. Raises BusStopped on shutdown,
        MessageTooLarge before sending anything the broker would refuse, PublishRefused on a nack, and
        TimeoutError when `timeout` passed first: then the messages not yet confirmed were withdrawn, never sent."""
        requests = [self._request(m) for m in messages]
        self._link.submit(*requests)
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            for request, message in zip(requests, messages, strict=True):
                self._wait(request, deadline)
                metrics.PUBLISHED.labels(self.stage, message.KIND).inc()
        except BaseException:
            for request in requests:
                request.withdraw()  # those behind the failed one were not sent: they never will be
            raise

    def publish_nowait(self, message: Envelope) -> None:
        """Queue a message without waiting; while the broker is away the oldest are dropped past a bound.

        Every message is either confirmed, or dropped and counted (`voxframe_bus_outbox_dropped_total`)."""
        request = self._request(message)
        request.on_done = self._count_outbox_failure
        if self._link.post(request, self.settings.outbox_max) is not None:
            metrics.OUTBOX_DROPPED.labels(self.stage).inc()

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

    def _request(self, message: Envelope) -> Request:
        request = publish_request(message, self.topology.exchange)
        limit = self.settings.max_message_bytes
        if len(request.body) > limit:
            raise MessageTooLarge(f"a {message.KIND} message of {len(request.body)} bytes is over the broker's "
                                  f"limit of {limit} bytes (VOXFRAME_MAX_MESSAGE_BYTES)")
        return request

    def _count_outbox_failure(self, request: Request) -> None:
        if request.error is not None:
            metrics.OUTBOX_DROPPED.labels(self.stage).inc()
            _LOGGER.warning("%s: %s", self.stage, request.error)

    # ---- running ------------------------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._link.connected.is_set()

    @property
    def failed(self) -> BaseException | None:
        """Why the bus gave up (the work thread died, or a fatal broker error), or None while it works."""
        return self._fatal

    def health(self) -> dict[str, object] | None:
        """None when ready, else why not (for `/healthz`)."""
        if self._fatal is not None:
            return {"reason": str(self._fatal)}
        if self._worker is not None and not self._worker.is_alive() and not self._stopping.is_set():
            return {"reason": "the work thread is not running"}
        failing = [t for t in self._timers if t.failures >= TIMER_FAILURES_UNHEALTHY]
        if failing:
            return {"reason": f"{_timer_name(failing[0])} failed {failing[0].failures} times in a row: "
                              f"{failing[0].error}"[:1000]}
        if self.connected:
            return None
        return {"reason": self._link.waiting or "not connected to the broker"}

    def run(self, install_signal_handlers: bool = True) -> None:
        """Run until SIGTERM/SIGINT or stop(); the message in hand is finished first.

        Raises WorkerDied if the work thread died, so the process exits non-zero and gets restarted."""
        if install_signal_handlers:
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: self.stop())
        self._worker = threading.Thread(target=self._work_main, name=f"{self.stage}-work", daemon=True)
        self._worker.start()
        try:
            self._link.run(finishing=self._finishing)
        finally:
            self._stopping.set()
            self._stopped.set()
        if isinstance(self._fatal, WorkerDied):
            raise self._fatal

    def start(self, on_failure: Callable[[BaseException], None] | None = None) -> None:
        """Run in a background thread (for services whose main thread serves something else); `on_failure`
        is called (on that thread) if the bus gives up, so the service can stop and exit non-zero."""
        self._on_failure = on_failure
        self._io = threading.Thread(target=self._run_background, name=f"{self.stage}-bus", daemon=True)
        self._io.start()

    def wait_connected(self, timeout: float) -> None:
        """Block until connected; raise the fatal error if the bus gave up, TimeoutError on timeout."""
        deadline = time.monotonic() + timeout
        while not self._link.connected.wait(WAIT_SLICE_SECONDS):
            if self._fatal is not None:
                raise self._fatal
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.stage}: not connected to the broker after {timeout:.0f} s")

    def stop(self, timeout: float | None = None) -> None:
        self._stopping.set()
        self._link.wake()
        if timeout is not None and threading.current_thread() is not self._io:
            self._stopped.wait(timeout)

    def _run_background(self) -> None:
        try:
            self.run(install_signal_handlers=False)
        except BaseException as exc:  # noqa: BLE001 (surfaced by wait_connected(), health() and on_failure)
            self._fatal = exc
            _LOGGER.error("%s: bus stopped: %s", self.stage, exc)
            if self._on_failure is not None:
                self._on_failure(exc)

    def _finishing(self) -> bool:
        """At shutdown: true while the work thread is still finishing the message in hand (it then skips the
        prefetched rest, which the broker redelivers, and exits)."""
        return self._worker is not None and self._worker.is_alive()

    # ---- work thread --------------------------------------------------------------------------------------

    def _work_main(self) -> None:
        """The work thread: a failure around one message costs that message, never the thread; should the
        thread die anyway, the bus stops so the worker exits instead of idling 'healthy'."""
        try:
            self._work_loop()
        except BaseException as exc:
            self._fatal = WorkerDied(f"{self.stage}: the work thread died: {type(exc).__name__}: {exc}")
            _LOGGER.critical("%s", self._fatal, exc_info=exc)
            self._stopping.set()
            self._link.wake()

    def _enqueue(self, delivery: Delivery) -> None:
        self._work.put((delivery.subscription.priority, next(self._arrivals), delivery))

    def _work_loop(self) -> None:
        while True:
            delivery: Delivery | None
            try:
                delivery = self._next_delivery()
            except queue.Empty:
                if self._stopping.is_set():
                    return
                delivery = None
            if self._stopping.is_set():
                continue  # not started: left unacked, the broker redelivers it
            try:
                if delivery is not None:
                    self._handle_safely(delivery)
                    self._served = (delivery.subscription.priority, time.monotonic())
                self._run_due_timers()
            except BusStopped:
                continue

    def _next_delivery(self) -> Delivery:
        """The waiting delivery of the lowest priority number; one of a higher number than the delivery just
        finished first waits out PRIORITY_GRACE_SECONDS since, in case that queue's next message is on its way."""
        item = self._work.get(timeout=self._until_next_timer())
        served, self._served = self._served, None
        if served is None or item[0] <= served[0]:
            return item[2]
        left = served[1] + PRIORITY_GRACE_SECONDS - time.monotonic()
        if left <= 0:
            return item[2]
        self._work.put(item)  # same arrival number: it keeps its place
        self._stopping.wait(left)
        return self._work.get()[2]

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
                    timer.failures = 0
                except BusStopped:
                    raise
                except Exception as exc:
                    timer.failures, timer.error = timer.failures + 1, f"{type(exc).__name__}: {exc}"
                    _LOGGER.exception("%s: %s failed", self.stage, _timer_name(timer))

    def _handle_safely(self, delivery: Delivery) -> None:
        """Whatever fails around a message (dead-lettering refused, a bug in the bus) requeues it after a pause
        rather than losing it or the work thread."""
        try:
            self._handle(delivery)
        except BusStopped:
            raise
        except Exception:
            kind = _kind_of(delivery)
            _LOGGER.exception("%s: could not finish a %s message; requeueing it", self.stage, kind)
            metrics.REQUEUED.labels(self.stage, kind).inc()
            self._stopping.wait(self.settings.retry_backoff_seconds)
            self._link.submit(Request(ack_tag=delivery.tag, generation=delivery.generation, requeue=True))

    def _handle(self, delivery: Delivery) -> None:
        kind = _kind_of(delivery)
        entry = delivery.subscription.handlers.get(kind)
        if entry is None:
            given = (delivery.properties.type or UNKNOWN_KIND)[:100]
            self._dead_letter(delivery, kind, "unexpected_type",
                              f"no handler for message type {given!r} on {delivery.subscription.spec.name or 'queue'}")
            return
        cls, handler = entry
        try:
            message = cls.from_json(delivery.body)
        except ValidationError as exc:
            self._dead_letter(delivery, kind, "invalid", describe_validation_error(exc))
            return
        except Exception as exc:  # noqa: BLE001 (parsing depends on the body alone: whatever it raises, the body is bad)
            # A validator tripping on what pydantic does not wrap (a timestamp at the calendar's edge overflows
            # turned to UTC; a naive time compared with an aware one) was requeued every half second, forever.
            self._dead_letter(delivery, kind, "invalid", f"{type(exc).__name__}: {exc}")
            return
        key = _dedup_key(delivery, message)
        held = self._deferred.get(key)
        if held is not None:
            metrics.DUPLICATES.labels(self.stage, kind).inc()
            if held.generation == delivery.generation:
                self._queue_ack(delivery)  # a second copy on the same connection: the held ack is for the first
            else:
                self._deferred[key] = delivery  # redelivered after a reconnect: the held ack now owns this one
            return
        if key in self._seen:
            metrics.DUPLICATES.labels(self.stage, kind).inc()
            self._queue_ack(delivery)
            return
        token = trace_id.set(str(message.trace_id))
        try:
            outputs = self._call_with_retries(handler, message, delivery, kind)
            if outputs is _DEAD or not self._deliver_outputs(outputs, delivery, kind):
                self._deferred.pop(key, None)
                return
            age = (time.time() - message.origin_at.timestamp())
            metrics.WORK_AGE_SECONDS.labels(self.stage, kind).observe(max(0.0, age))
            metrics.CONSUMED.labels(self.stage, kind).inc()
            self._remember(key)
            if not self._local.deferred:
                self._queue_ack(delivery)
        finally:
            trace_id.reset(token)

    def _call_with_retries(self, handler: Handler, message: Envelope, delivery: Delivery, kind: str) -> Any:
        """The handler's outputs, tried again on errors with backoff; `_DEAD` once it was dead-lettered."""
        attempts = self.settings.max_attempts
        retry = Retry(_handler_may_recover,
                      Backoff(self.settings.retry_backoff_seconds, jitter=False), attempts, stop=self._stopping,
                      on_retry=lambda exc, tried, delay: _LOGGER.warning(
                          "%s: %s %s failed (try %d/%d, again in %.1f s): %r", self.stage, kind, message.id, tried,
                          attempts, delay, exc))
        try:
            return retry(self._call_once, handler, message, delivery, kind)
        except BusStopped:
            raise
        except Interrupted as exc:  # shutdown cut a retry's wait, the bus's or the handler's own: stays unacked
            raise BusStopped(str(exc)) from exc
        except Unprocessable as exc:
            self._dead_letter(delivery, kind, "unprocessable", str(exc))
        except Exception as exc:
            _LOGGER.exception("%s: %s %s failed %d times, dead-lettering", self.stage, kind, message.id, attempts)
            self._dead_letter(delivery, kind, "handler_error", f"{type(exc).__name__}: {exc}")
        return _DEAD

    def _call_once(self, handler: Handler, message: Envelope, delivery: Delivery, kind: str) -> Any:
        self._local.delivery, self._local.key, self._local.deferred = delivery, _dedup_key(delivery, message), False
        started = time.perf_counter()
        try:
            return handler(message)
        except BusStopped:
            raise
        except Exception:
            metrics.FAILED.labels(self.stage, kind).inc()
            raise
        finally:
            metrics.HANDLING_SECONDS.labels(self.stage, kind).observe(time.perf_counter() - started)

    def _publish_outputs(self, outputs: Outputs) -> None:
        if outputs is None:
            return
        self.publish(*_as_list(outputs))

    def _deliver_outputs(self, outputs: Outputs, delivery: Delivery, kind: str) -> bool:
        """Publish a handler's outputs, retrying nacks; false if the input was dead-lettered instead."""
        retry = Retry(PublishRefused, Backoff(self.settings.retry_backoff_seconds, jitter=False),
                      self.settings.max_attempts, stop=self._stopping,
                      on_retry=lambda exc, tried, delay: _LOGGER.warning(
                          "%s: %s (try %d/%d, again in %.1f s)", self.stage, exc, tried, self.settings.max_attempts,
                          delay))
        for message in _as_list(outputs):
            try:
                retry(self.publish, message)
            except Unprocessable as exc:  # MessageTooLarge: this output can never be published
                self._dead_letter(delivery, kind, "unprocessable", str(exc))
                return False
            except PublishRefused as exc:
                self._dead_letter(delivery, kind, "publish_refused", str(exc))
                return False
            except Interrupted as exc:
                raise BusStopped(str(exc)) from exc
        return True

    def _dead_letter(self, delivery: Delivery, kind: str, reason: str, detail: str) -> None:
        request = dead_letter_request(delivery, self.topology.dead_letter_exchange, kind, {
            REASON_HEADER: f"{reason}: {detail}"[:4000], "x-voxframe-stage": self.stage,
            "x-voxframe-queue": delivery.subscription.spec.name})
        self._link.submit(request)
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

    def _queue_ack(self, delivery: Delivery) -> None:
        self._link.submit(Request(ack_tag=delivery.tag, generation=delivery.generation))

    def _wait(self, request: Request, deadline: float | None) -> None:
        """Until the broker confirms. Past the deadline the request is withdrawn if it has not been sent yet;
        one already on its way is waited for, so the caller always learns what really happened."""
        while not request.done.wait(WAIT_SLICE_SECONDS):
            if self._stopping.is_set() and (not self.connected or self._stopped.is_set()) and request.withdraw():
                raise BusStopped(f"{self.stage}: stopping before the broker confirmed")
            if deadline is not None and time.monotonic() > deadline and request.withdraw():
                raise TimeoutError(f"{self.stage}: the broker did not confirm in time; the message was not sent")
        if request.error is not None:
            raise request.error


def _kind_of(delivery: Delivery) -> str:
    """The delivery's AMQP type when it names one of our messages, else `UNKNOWN_KIND`. The publisher writes the
    type, and it becomes a metric label and the dead letter's routing key `dead.<kind>`: taken as sent, every new
    type was a series for good (2,000 made the prompter's /metrics 1.2 MB), and one over 250 bytes made a routing
    key AMQP cannot carry, which dropped the connection at each redelivery: a stage poisoned by one message."""
    kind = delivery.properties.type
    return kind if kind in MESSAGE_TYPES else UNKNOWN_KIND


def _timer_name(timer: _TimerEntry) -> str:
    return f"timer {getattr(timer.fn, '__name__', timer.fn)}"


def _as_list(outputs: Outputs) -> list[Envelope]:
    """What a handler or timer returned, as the messages to publish."""
    return [] if outputs is None else [outputs] if isinstance(outputs, Envelope) else list(outputs)


_DEAD: Any = object()


def _handler_may_recover(exc: BaseException) -> bool:
    """Worth another try: any error but the input's own fault and a shutdown (the bus's, or one that cut a wait
    in the handler's own retries)."""
    return isinstance(exc, Exception) and not isinstance(exc, BusStopped | Unprocessable | Interrupted)


def _dedup_key(delivery: Delivery, message: Envelope) -> str:
    """Dedup is per queue: a copy again on the same queue is a redelivery, but one message bound to two of a
    process's queues (a display's own queue and the jobs queue both take a job's image) is work for each."""
    return f"{delivery.subscription.spec.name}/{message.id}"
