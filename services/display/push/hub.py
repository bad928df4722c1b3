"""Websocket fan-out: every client gets its own small queue and sender, so one slow screen delays no other."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from starlette.websockets import WebSocket, WebSocketDisconnect

from services.display import metrics
from services.display.web.limits import SocketBudget
from services.display.web.readers import ReadersBusy

_LOGGER = logging.getLogger(__name__)

DASHBOARD = "dashboard"  # the topic of every event


def room_topic(room: str, captions: bool = True) -> str:
    """A room's frames: those allowed the conversation's words, or those that get the pictures alone."""
    return f"room:{room}" if captions else f"pictures:{room}"


def job_topic(job_id: str) -> str:
    return f"job:{job_id}"


QUEUE_SIZE = 32  # events a client may fall behind before its oldest are dropped
_POLICY_VIOLATION = 1008
_TRY_AGAIN_LATER = 1013


@dataclass(eq=False)
class _Client:
    kind: str
    websocket: WebSocket
    tag: str | None = None
    queue: asyncio.Queue[tuple[str, float] | None] = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))

    def offer(self, item: tuple[str, float] | None) -> None:
        """An event to send, or None: close the socket (its right to what it gets was withdrawn)."""
        if self.queue.full():
            self.queue.get_nowait()
            metrics.PUSH_DROPPED.labels(self.kind).inc()
        self.queue.put_nowait(item)


class Hub:
    """Topics (`room:<room>`, `pictures:<room>`, `dashboard`, `job:<id>`) to connected clients; lives on the
    event loop. Sockets beyond the budget (in total, per address) are closed at once with the reason."""

    def __init__(self, budget: SocketBudget) -> None:
        self._topics: dict[str, set[_Client]] = defaultdict(set)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._budget = budget

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def notify(self, topics: Iterable[str], event: dict[str, object]) -> None:
        """From any thread: serialise once, then hand to the loop to fan out."""
        if self._loop is None or self._loop.is_closed():
            return
        text = json.dumps(event, separators=(",", ":"))
        arrived = time.perf_counter()
        for topic in topics:
            self._loop.call_soon_threadsafe(self.publish, topic, text, arrived)

    def publish(self, topic: str, text: str, arrived: float) -> None:
        for client in self._topics.get(topic, ()):
            client.offer((text, arrived))

    def close_tagged(self, tag: str) -> None:
        """Close every socket served with `tag` (a revoked frame pairing); they reconnect with what is left."""
        for clients in self._topics.values():
            for client in clients:
                if client.tag == tag:
                    client.offer(None)

    async def serve(self, websocket: WebSocket, topic: str, kind: str,
                    hello: Callable[[], Awaitable[dict[str, object]]], tag: str | None = None,
                    entitled: bool = True) -> None:
        """Accept, send `hello()`, then forward the topic's events until the client goes away; `entitled`:
        the client came with the token or a pairing (anonymous ones cannot take the sockets kept for these).

        The client is registered before `hello()` runs, so nothing published meanwhile is missed (it may
        arrive twice: clients drop repeats by id).
        """
        address = websocket.client.host if websocket.client else ""
        refusal = self._budget.admit(address, entitled)
        if refusal is not None:
            await websocket.accept()  # accepted only to say why: a refused handshake carries no reason
            await websocket.close(_TRY_AGAIN_LATER, reason=refusal)
            return
        try:
            await websocket.accept()
            await self._serve(websocket, topic, _Client(kind, websocket, tag), hello)
        finally:
            self._budget.leave(address, entitled)

    async def _serve(self, websocket: WebSocket, topic: str, client: _Client,
                     hello: Callable[[], Awaitable[dict[str, object]]]) -> None:
        kind = client.kind
        self._topics[topic].add(client)
        metrics.CLIENTS.labels(kind).inc()
        try:
            await websocket.send_text(json.dumps(await hello(), separators=(",", ":")))
            sender = asyncio.create_task(self._send(client))
            listener = asyncio.create_task(self._listen(websocket))
            done, pending = await asyncio.wait({sender, listener}, return_when=asyncio.FIRST_COMPLETED)
            for task in pending:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            for task in done:
                if not task.cancelled() and task.exception() is not None:
                    _LOGGER.debug("%s websocket closed: %r", kind, task.exception())
        except ReadersBusy as exc:  # an anonymous frame's hello found the anonymous readers full
            with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
                await websocket.close(_TRY_AGAIN_LATER, reason=str(exc.detail)[:120])
        except (WebSocketDisconnect, RuntimeError, OSError):
            pass  # gone before the hello: nothing to clean but the registration
        finally:
            self._topics[topic].discard(client)
            if not self._topics[topic]:
                del self._topics[topic]
            metrics.CLIENTS.labels(kind).dec()

    @staticmethod
    async def _send(client: _Client) -> None:
        histogram = metrics.PUSH_SECONDS.labels(client.kind)
        while True:
            item = await client.queue.get()
            if item is None:
                await client.websocket.close(_POLICY_VIOLATION, reason="access withdrawn")
                return
            text, arrived = item
            await client.websocket.send_text(text)
            histogram.observe(time.perf_counter() - arrived)

    @staticmethod
    async def _listen(websocket: WebSocket) -> None:
        """Read (and ignore) what the client sends, to notice when it goes away."""
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return

