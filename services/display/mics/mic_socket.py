"""`/ws/mic/{room}?name=NAME&session=ID`: a browser tab's audio in, its mute switch out.

The tab sends binary frames of 16 kHz mono s16le (~100 ms each) and may send `{"type": "mute", "muted": bool}`;
the display sends `hello` ({room, mic, muted}) and `{"type": "muted", "muted": bool}` whenever the switch moves
(the dashboard's or the tab's own). Whatever else arrives closes the socket with a code and a reason the page
shows: text that is no mute command (1003), an odd byte count (1007), a frame over a second (1009; frames far
larger are refused by the server before they are read), audio faster than real time (1008). Frames are fed one
at a time, so a tab holds at most the server's few frames in flight: never-ending speech is cut by the segmenter
(max length), never buffered.

A name is live once per room, but the page that holds it may take it over from its own old socket: it sends an id
of its own (`session`, random per page), and a reconnection with that id ends the old socket at once. A network
that went (a phone that changed networks, a laptop that slept) leaves that socket open on the server until its
pings go unanswered, 40 s, during which the page was refused its name and the room heard nothing from it.

A tab's rate is judged by its own sample clock: the audio it has sent against the time since it connected. A
server that stalls (a busy machine, a paused process) reads the frames that waited in the socket all at once,
which is no fault of the tab: the stream is fed at most `BACKLOG_SECONDS` ahead of arrival (a token bucket) and
the rest of such a burst is dropped and counted, never held, and the socket stays open.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from prometheus_client import Counter
from starlette.routing import BaseRoute, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from services.display import metrics
from services.display.mics.browser import BrowserMic, BrowserMics
from services.display.views import NAME
from services.display.web.access import Access
from services.display.web.revocation import PairedSockets
from shared.audio import SAMPLE_RATE_HZ
from shared.json_limits import parse_json
from shared.messages import Command, Control

_LOGGER = logging.getLogger(__name__)

BYTES_PER_SECOND = 2 * SAMPLE_RATE_HZ
MAX_FRAME_BYTES = BYTES_PER_SECOND  # one second; the page sends 100 ms
RATE_MARGIN = 1.25  # audio may arrive this much faster than real time, on average
BURST_SECONDS = 3.0  # ahead of that, on the tab's own clock (its audio sent vs. the time it has been open)
BACKLOG_SECONDS = 5.0  # audio fed at once after a stall (a token bucket); the rest of the burst is dropped
RESYNC_SECONDS = 1.0  # a stream this far from arrival time is re-anchored to it (the tab paused, a stall)
SESSION = re.compile(r"[A-Za-z0-9-]{16,64}")  # a page's own id (crypto.randomUUID); anything else: no takeover
TAKEOVER_SECONDS = 5.0  # how long a reconnection waits for its old socket to let the name go

NORMAL, UNSUPPORTED, INVALID, POLICY, TOO_BIG, TRY_LATER = 1000, 1003, 1007, 1008, 1009, 1013

CLOSES = Counter("voxframe_display_mic_closes_total", "Browser-mic sockets the display closed, by reason",
                 ["reason"])
BACKLOG_DROPPED = Counter("voxframe_display_mic_backlog_dropped_seconds_total",
                          "Browser-mic audio that waited out a server stall beyond what is fed at once, dropped")


class TokenBucket:
    """Bytes allowed at `rate` per second on average, `burst` at once."""

    def __init__(self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.burst, self._clock = rate, burst, clock
        self._tokens, self._at = burst, clock()

    def take(self, amount: int) -> bool:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now
        if amount > self._tokens:
            return False
        self._tokens -= amount
        return True


@dataclass(frozen=True)
class MicDesk:
    """What the mic socket needs: who may speak in a room, the browser mics, and the pairings' open sockets."""

    access: Access
    browser_mics: BrowserMics
    paired: PairedSockets


class _Refused(Exception):
    def __init__(self, code: int, label: str, reason: str) -> None:
        super().__init__(reason)
        self.code, self.label, self.reason = code, label, reason


async def mic_socket(mics: MicDesk, websocket: WebSocket) -> None:
    room, name = websocket.path_params["room"], websocket.query_params.get("name", "")
    # The token, or the cookie of a frame paired for this room: audio steers the room (spoken commands too).
    token = mics.access.permits(websocket)
    grant = None if token else await asyncio.to_thread(mics.access.room_grant, websocket, room)
    if not (token or grant) or not mics.access.same_origin(websocket):
        await websocket.close(POLICY)
        return
    address = websocket.client.host if websocket.client else ""
    await websocket.accept()  # accepted before any refusal, which a refused handshake could not explain
    if not NAME.match(room) or not NAME.match(name):
        await _close(websocket, POLICY, "bad_name", "room and ?name= must be 1-64 letters, digits, - or _")
        return
    refusal = mics.browser_mics.budget.admit(address)
    if refusal is not None:
        await _close(websocket, TRY_LATER, "busy", refusal)
        return
    session = websocket.query_params.get("session", "")
    loop, switched, withdrawn = asyncio.get_running_loop(), asyncio.Event(), asyncio.Event()
    replaced = asyncio.Event()
    try:
        mic = await _join(mics.browser_mics, room, name, f"browser tab at {address}",
                          session if SESSION.fullmatch(session) else "",
                          lambda: loop.call_soon_threadsafe(switched.set),
                          lambda: loop.call_soon_threadsafe(replaced.set))
        if mic is None:
            await _close(websocket, POLICY, "name_taken", f"a mic named {name!r} is live in room {room!r} already; "
                                                          "open this page with another ?name=")
            return
        metrics.CLIENTS.labels("mic").inc()
        try:
            with mics.paired.hold(grant.pairing_id, withdrawn.set) if grant else contextlib.nullcontext():
                await _serve(websocket, mic, switched, withdrawn, replaced, mics.browser_mics)
        finally:
            metrics.CLIENTS.labels("mic").dec()
            mics.browser_mics.leave(mic)
            await mics.browser_mics.run(mic.finish)
    finally:
        mics.browser_mics.budget.leave(address)


async def _join(mics: BrowserMics, room: str, name: str, device: str, session: str, on_mute: Callable[[], object],
                on_replaced: Callable[[], object]) -> BrowserMic | None:
    """The tab's mic; None if the name is live on another page's socket (or its own old one will not let go)."""
    deadline = time.monotonic() + TAKEOVER_SECONDS
    while True:
        mic, ending = await mics.run(mics.join, room, name, device, on_mute, session, on_replaced)
        if mic is not None or not ending or time.monotonic() > deadline:
            return mic
        await asyncio.sleep(0.05)  # the old socket closes, leaves and sends its utterance in progress


async def _serve(websocket: WebSocket, mic: BrowserMic, switched: asyncio.Event, withdrawn: asyncio.Event,
                 replaced: asyncio.Event, mics: BrowserMics) -> None:
    _LOGGER.info("Browser mic %s/%s connected (%s)", mic.room, mic.mic, mic.device)
    await websocket.send_text(json.dumps({"type": "hello", "room": mic.room, "mic": mic.mic, "muted": mic.muted}))
    tasks = {asyncio.create_task(_receive(websocket, mic, mics)),
             asyncio.create_task(_tell_switches(websocket, mic, switched)),
             asyncio.create_task(_until_withdrawn(withdrawn)), asyncio.create_task(_until_replaced(replaced))}
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            exc = task.exception()
            if isinstance(exc, _Refused):
                _LOGGER.info("Browser mic %s/%s closed: %s", mic.room, mic.mic, exc.reason)
                await _close(websocket, exc.code, exc.label, exc.reason)
            elif exc is not None and not isinstance(exc, (WebSocketDisconnect, RuntimeError, OSError)):
                raise exc
    finally:
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
    _LOGGER.info("Browser mic %s/%s gone", mic.room, mic.mic)


async def _receive(websocket: WebSocket, mic: BrowserMic, mics: BrowserMics) -> None:
    clock = _SampleClock()
    backlog = TokenBucket(RATE_MARGIN * BYTES_PER_SECOND, BACKLOG_SECONDS * BYTES_PER_SECOND)
    next_at: float | None = None  # capture time of the next sample, if the stream runs on
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        data = message.get("bytes")
        if data is None:
            _switch(mic, mics, message.get("text") or "")
            continue
        _check(data, clock)
        now, seconds = time.time(), len(data) / BYTES_PER_SECOND
        if next_at is None or abs(next_at - (now - seconds)) > RESYNC_SECONDS:
            next_at = now - seconds
        if backlog.take(len(data)):
            await mics.run(mic.take, np.frombuffer(data, dtype="<i2").astype(np.int16), next_at)
        else:
            BACKLOG_DROPPED.inc(seconds)
        next_at += seconds


class _SampleClock:
    """A tab's own clock: the audio it has sent, against the time since it connected."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._opened = clock()
        self._sent = 0.0

    def ahead(self, data: bytes) -> bool:
        """Count `data` in; whether the tab has now sent more than real time allows (with the margins)."""
        self._sent += len(data) / BYTES_PER_SECOND
        return self._sent > RATE_MARGIN * (self._clock() - self._opened) + BURST_SECONDS


def _check(data: bytes, clock: _SampleClock) -> None:
    if not data or len(data) % 2:
        raise _Refused(INVALID, "odd_bytes", f"a frame of {len(data)} bytes is no whole number of 16-bit samples")
    if len(data) > MAX_FRAME_BYTES:
        raise _Refused(TOO_BIG, "too_big", f"a frame of {len(data)} bytes is over {MAX_FRAME_BYTES} (one second)")
    if clock.ahead(data):
        raise _Refused(POLICY, "too_fast", "audio is arriving faster than real time; send 16 kHz as it is heard")


def _switch(mic: BrowserMic, mics: BrowserMics, text: str) -> None:
    """The tab's own mute switch (remembered like the dashboard's); anything else in text is garbage."""
    try:
        command = parse_json(text)  # json.loads raised RecursionError on deep nesting: the socket dropped, no reason
    except ValueError:
        command = None
    if not isinstance(command, dict) or command.get("type") != "mute" or not isinstance(command.get("muted"), bool):
        raise _Refused(UNSUPPORTED, "garbage", 'expected binary 16 kHz s16le audio or {"type": "mute", "muted": …}')
    mics.on_control(Control(room=mic.room, source=mic.mic, mic=mic.mic,
                            command=Command.MUTE if command["muted"] else Command.UNMUTE))


async def _tell_switches(websocket: WebSocket, mic: BrowserMic, switched: asyncio.Event) -> None:
    while True:
        await switched.wait()
        switched.clear()
        await websocket.send_text(json.dumps({"type": "muted", "muted": mic.muted}))


async def _until_withdrawn(withdrawn: asyncio.Event) -> None:
    """Ends the mic when the pairing it came in on is revoked (on any display)."""
    await withdrawn.wait()
    raise _Refused(POLICY, "revoked", "access withdrawn: this frame's pairing was revoked")


async def _until_replaced(replaced: asyncio.Event) -> None:
    """Ends the mic when its page came back on another socket (this one's network is gone)."""
    await replaced.wait()
    raise _Refused(NORMAL, "replaced", "this page reconnected on another socket")


async def _close(websocket: WebSocket, code: int, label: str, reason: str) -> None:
    CLOSES.labels(label).inc()
    with contextlib.suppress(RuntimeError, OSError, WebSocketDisconnect):
        await websocket.close(code, reason=reason)


def routes(mics: MicDesk) -> list[BaseRoute]:
    return [WebSocketRoute("/ws/mic/{room}", functools.partial(mic_socket, mics))]
