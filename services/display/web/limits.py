"""How much one client may take: bytes of a body read into memory and how slowly (`shared.http_limits.capped`),
uploads decoded at once, open websockets.

Each limit refuses at once (413, 429, a close with a reason) rather than queueing: a wall display must stay
responsive to its frames whatever one sender does.
"""

from __future__ import annotations

import functools
from collections import Counter
from dataclasses import dataclass

from starlette.exceptions import HTTPException
from starlette.requests import Request

from shared.http_limits import capped

CONTROL_MAX_BYTES = 4096  # a dashboard command is ~100 bytes of JSON


@dataclass(frozen=True)
class SmallBodies:
    """How a small body (a control, a pairing, a webhook, a frame's log) is read: whole, at most `limit` bytes (413),
    pausing no longer than `seconds` and then coming at the pace `capped` keeps (408). Without the pace, a client
    dripping a control a byte every few seconds held its handler and connection for as long as it liked."""

    seconds: float

    async def read(self, request: Request, limit: int, too_large: str) -> bytes:
        return await capped(request, limit, HTTPException(413, too_large), self.seconds,
                            functools.partial(HTTPException, 408)).body()


class Slots:
    """A fixed number of things at once (uploads being read and decoded); lives on the event loop."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.taken = 0

    def take(self) -> bool:
        if self.taken >= self.size:
            return False
        self.taken += 1
        return True

    def give_back(self) -> None:
        self.taken -= 1


class SocketBudget:
    """Websockets open at once, in total and per client address; lives on the event loop.

    Sockets without the right to more than pictures (no token, no pairing) take at most `anonymous` of the
    total, so the rest stays for the dashboard and paired frames; per address, each kind is counted apart, so
    anonymous sockets from a shared address (a proxy) cannot lock out a paired frame behind it either."""

    def __init__(self, total: int, per_address: int, anonymous: int | None = None) -> None:
        self.total = total
        self.per_address = per_address
        self.anonymous = total if anonymous is None else min(anonymous, total)
        self._open: Counter[tuple[bool, str]] = Counter()

    def admit(self, address: str, entitled: bool = True) -> str | None:
        """Count the socket in and return None, or return why it is refused (the close reason)."""
        if self._open.total() >= self.total:
            return f"this display has its limit of {self.total} live connections; try again later"
        if not entitled and sum(n for (e, _), n in self._open.items() if not e) >= self.anonymous:
            return (f"this display has its limit of {self.anonymous} live connections without the token or a "
                    "pairing; try again later")
        if self._open[(entitled, address)] >= self.per_address:
            return f"your address has {self.per_address} live connections, the most allowed"
        self._open[(entitled, address)] += 1
        return None

    def leave(self, address: str, entitled: bool = True) -> None:
        self._open[(entitled, address)] -= 1
        if self._open[(entitled, address)] <= 0:
            del self._open[(entitled, address)]
