"""Database reads on behalf of a request: anonymous ones on a few threads of their own, beyond a queue refused.

Anyone on the LAN may list rooms, page a gallery or fetch an original, and each costs database reads on a thread.
Authorised requests (the token, or a frame paired for the room) keep the default pool; requests without either
share `THREADS` thread(s) with at most `QUEUE` more waiting, and beyond that get 503 with Retry-After, so a flood
of anonymous reads costs the display a fixed share and never queues ahead of an authorised API call. One thread:
with two, their Python work (rows to models to JSON) took the GIL from authorised requests twice as often
(`test_starvation.py`'s flood: authorised p99 0.97 s with two, 0.6 s with one, 1.6 s on the default pool).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection

from services.display import metrics
from services.display.web.access import Access

T = TypeVar("T")
THREADS = 1
QUEUE = 16
RETRY_AFTER_SECONDS = 5


class ReadersBusy(HTTPException):
    """Every anonymous reader is taken and the queue is full: 503, try again shortly."""

    def __init__(self) -> None:
        super().__init__(503, "the display is busy with requests without the access token; try again shortly",
                         headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


class Readers:
    """Runs a request's blocking reads: on the default pool when it is entitled, else on the anonymous threads."""

    def __init__(self, access: Access, threads: int = THREADS, queue: int = QUEUE) -> None:
        self.access = access
        self.room = threads + queue
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="display-anonymous-read")
        self._lock = threading.Lock()
        self._taken = 0

    async def entitled(self, conn: HTTPConnection, room: str | None) -> bool:
        """The token came, or a frame cookie granting `room` (any room for None). The cookie's check is itself one
        indexed read, on the default pool, made only when a cookie came."""
        if self.access.permits(conn):
            return True
        if not self.access.has_frame_cookie(conn):
            return False
        grant = await asyncio.to_thread(self.access.paired_frame, conn)
        return grant is not None and room in (None, grant.room)

    async def read(self, entitled: bool, read: Callable[..., T], *args: object) -> T:
        """`read(*args)`: on the default pool for an entitled request, else on the anonymous threads."""
        return await (asyncio.to_thread(read, *args) if entitled else self.anonymous(read, *args))

    async def anonymous(self, read: Callable[..., T], *args: object) -> T:
        """`read(*args)` on the anonymous threads; ReadersBusy when they and their queue are full."""
        with self._lock:
            if self._taken >= self.room:
                metrics.ANONYMOUS_READS_REFUSED.inc()
                raise ReadersBusy
            self._taken += 1
        done: Future[T] = self._pool.submit(read, *args)
        done.add_done_callback(self._release)  # counted until the thread is done, even if the client hung up
        return await asyncio.wrap_future(done)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _release(self, _done: Future[T]) -> None:
        with self._lock:
            self._taken -= 1
