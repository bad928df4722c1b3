"""What one HTTP client may hold on a server of ours (the display, gpu-server), however slowly it sends.

uvicorn gives a request's headers no deadline: its keep-alive timer runs only between requests and any byte stops
it, so a client that trickles a header byte a second (slowloris) held its connection, and the memory and file
descriptor behind it, for as long as it liked; a few thousand such clients take every descriptor. A body is the
endpoint's to read, through `capped`: a size cap, and a pace it must keep.
"""

from __future__ import annotations

import asyncio
import logging

import h11
from starlette.requests import Request
from starlette.types import Message, Receive
from uvicorn.protocols.http.h11_impl import H11Protocol

_LOGGER = logging.getLogger(__name__)

# A body's slowest pace, on average, once its first `seconds` are up: 32 kbit/s, under any link a phone or
# browser at home uploads over; a body that keeps coming at it gets one more second per 4 KiB come.
MIN_BODY_BYTES_PER_SECOND = 4096


def capped(request: Request, limit: int, too_large: Exception, seconds: float | None = None,
           stalled: Exception | None = None) -> Request:
    """The request, whose body raises `too_large` past `limit` bytes: at once when Content-Length says so, else
    while it streams in (chunked bodies), before more than one chunk past the limit is held.

    With `seconds`, it raises `stalled` when no bytes come for that long (a sender gone without a FIN, a phone off
    its Wi-Fi, would hold what it took for good) or when, after the first `seconds`, fewer than
    MIN_BODY_BYTES_PER_SECOND have come on average (a byte just inside each pause would hold it as long: a 50 MB
    upload's slot for years). One rule for a 64 KiB prompt and a 50 MB upload, where a total deadline short
    enough for the one would cut the other off on a slow link, and a pause limit alone would not end a drip."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    loop = asyncio.get_running_loop()
    started, seen = loop.time(), 0

    async def receive_within_limits() -> Message:
        nonlocal seen
        wait = None if seconds is None else min(seconds, started + seconds + seen / MIN_BODY_BYTES_PER_SECOND
                                                - loop.time())
        try:
            if wait is not None and wait <= 0:
                raise TimeoutError
            async with asyncio.timeout(wait):
                message = await request.receive()
        except TimeoutError:
            raise stalled or TimeoutError(f"the body stopped arriving for {seconds:g} s or came slower than "
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
    Only the headers: a body's pace is the endpoint's to judge, and a websocket once upgraded is no longer HTTP."""

    class HeaderDeadline(H11Protocol):
        _header_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._await_headers()

        def connection_lost(self, exc: Exception | None) -> None:
            self._headers_came()
            super().connection_lost(exc)

        def handle_events(self) -> None:
            super().handle_events()
            if self.conn.their_state is not h11.IDLE:  # a whole request line and headers came (or an error)
                self._headers_came()

        def on_response_complete(self) -> None:
            if not self.transport.is_closing():  # the next request's headers have the same time (armed first:
                self._await_headers()  # the next cycle's events, pipelined ones among them, may stop it at once)
            super().on_response_complete()

        def _await_headers(self) -> None:
            self._headers_came()
            self._header_timer = self.loop.call_later(seconds, self._headers_late)

        def _headers_came(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _headers_late(self) -> None:
            self._header_timer = None
            if self.transport.is_closing() or self.conn.their_state is not h11.IDLE:
                return
            _LOGGER.info("%s: request headers not all in within %g s; answered 408, closed",
                         f"{self.client[0]}:{self.client[1]}" if self.client else "a client", seconds)
            if self.conn.our_state is h11.IDLE:  # h11 lets a server answer before a request came, for this
                self.transport.write(self.conn.send(h11.Response(status_code=408, headers=[
                    ("content-type", "text/plain; charset=utf-8"), ("content-length", str(len(_TIMEOUT_BODY))),
                    ("connection", "close")])) or b"")
                self.transport.write(self.conn.send(h11.Data(data=_TIMEOUT_BODY)) or b"")
                self.transport.write(self.conn.send(h11.EndOfMessage()) or b"")
            self.transport.close()

    return HeaderDeadline
