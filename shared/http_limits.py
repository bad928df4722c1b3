"""What one HTTP client may hold on a server of ours (the display, gpu-server), however slowly it sends.

uvicorn gives a request's headers no deadline: its keep-alive timer runs only between requests and any byte stops
it, so a client that trickles a header byte a second (slowloris) held its connection, and the memory and file
descriptor behind it, for as long as it liked; a few thousand such clients take every descriptor. A body is the
endpoint's to read, through `capped`: a size cap, and a pace it must keep.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import h11
from starlette.requests import Request
from starlette.types import Message, Receive
from uvicorn.protocols.http.h11_impl import H11Protocol

_LOGGER = logging.getLogger(__name__)

# A body's slowest pace, on average, once its first `seconds` are up: 32 kbit/s, under any link a phone or
# browser at home uploads over; a body that keeps coming at it gets one more second per 4 KiB come.
MIN_BODY_BYTES_PER_SECOND = 4096


def capped(request: Request, limit: int, too_large: Exception, seconds: float,
           stalled: Callable[[str], Exception]) -> Request:
    """The request, whose body raises `too_large` past `limit` bytes: at once when Content-Length says so, else
    while it streams in (chunked bodies), before more than one chunk past the limit is held.

    It raises `stalled(why)` when no bytes come for `seconds` (a sender gone without a FIN, a phone off its Wi-Fi,
    would hold what it took for good) or when, after the first `seconds`, fewer than MIN_BODY_BYTES_PER_SECOND have
    come on average (a byte just inside each pause would hold it as long: a 50 MB upload's slot for years, a
    100-byte control's handler as long). One rule for a 100-byte control and a 50 MB upload, where a total deadline
    short enough for the one would cut the other off on a slow link, and a pause limit alone would not end a drip:
    every body a server of ours reads comes through here."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    loop = asyncio.get_running_loop()
    started, seen = loop.time(), 0

    async def receive_within_limits() -> Message:
        nonlocal seen
        wait = min(seconds, started + seconds + seen / MIN_BODY_BYTES_PER_SECOND - loop.time())
        try:
            if wait <= 0:
                raise TimeoutError
            async with asyncio.timeout(wait):
                message = await request.receive()
        except TimeoutError:
            raise stalled(f"the body stopped arriving for {seconds:g} s, or came slower than "
                          f"{MIN_BODY_BYTES_PER_SECOND} bytes a second") from None
        seen += len(message.get("body", b""))
        if seen > limit:
            raise too_large
        return message

    receive: Receive = receive_within_limits
    return Request(request.scope, receive)


_TIMEOUT_BODY = b"the request's headers did not arrive in time\n"


def header_deadline(seconds: float) -> type[asyncio.Protocol]:
    """uvicorn's HTTP/1.1 protocol (`uvicorn.Config(http=...)`), in which a request's headers must all arrive
    within `seconds` of the connection opening or the previous answer; else 408 and the connection is closed.
    So must the rest of a body already answered (401, 408, 413 before it was read): uvicorn reads and drops it,
    and each byte restarts its keep-alive timer, so a client dripping it held the connection for good. A body
    being read is the endpoint's to pace (`capped`), and a websocket once upgraded is no longer HTTP."""

    class HeaderDeadline(H11Protocol):
        _timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._start_clock()

        def connection_lost(self, exc: Exception | None) -> None:
            self._stop_clock()
            super().connection_lost(exc)

        def handle_events(self) -> None:
            super().handle_events()
            if not self._waiting_on_them():  # a whole request line and headers came (or an error)
                self._stop_clock()

        def on_response_complete(self) -> None:
            if not self.transport.is_closing():  # the clock starts before the next cycle's events (pipelined
                self._start_clock()  # ones among them) may stop it at once
            super().on_response_complete()

        def _waiting_on_them(self) -> bool:
            """For a request's headers, or for the rest of a body nobody will read (it was answered)."""
            them, us = self.conn.their_state, self.conn.our_state
            return them is h11.IDLE or (them is h11.SEND_BODY and us is h11.DONE)

        def _start_clock(self) -> None:
            self._stop_clock()
            self._timer = self.loop.call_later(seconds, self._too_late)

        def _stop_clock(self) -> None:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

        def _too_late(self) -> None:
            self._timer = None
            if self.transport.is_closing() or not self._waiting_on_them():
                return
            _LOGGER.info("%s: %s not all in within %g s; closed",
                         f"{self.client[0]}:{self.client[1]}" if self.client else "a client",
                         "request headers" if self.conn.their_state is h11.IDLE else "an answered body", seconds)
            if self.conn.our_state is h11.IDLE:  # h11 lets a server answer before a request came, for this
                self.transport.write(self.conn.send(h11.Response(status_code=408, headers=[
                    ("content-type", "text/plain; charset=utf-8"), ("content-length", str(len(_TIMEOUT_BODY))),
                    ("connection", "close")])) or b"")
                self.transport.write(self.conn.send(h11.Data(data=_TIMEOUT_BODY)) or b"")
                self.transport.write(self.conn.send(h11.EndOfMessage()) or b"")
            self.transport.close()

    return HeaderDeadline
