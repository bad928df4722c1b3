"""Sockets open on a pairing's right (a paired frame's captions, its mic) close when the pairing is revoked, on
every display: the one that took the revocation closes its own at once, and each display checks the pairings of
its open sockets against the shared database every few seconds, so one revoked elsewhere goes within seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Callable, Iterator

from services.display.web.pairing import Pairings

_LOGGER = logging.getLogger(__name__)

CHECK_SECONDS = 2.0


class PairedSockets:
    """Who to tell when a pairing goes; lives on the event loop."""

    def __init__(self, pairings: Pairings, check_seconds: float = CHECK_SECONDS) -> None:
        self.pairings = pairings
        self.check_seconds = check_seconds
        self._open: dict[str, set[Callable[[], None]]] = defaultdict(set)

    @contextlib.contextmanager
    def hold(self, pairing_id: str, close: Callable[[], None]) -> Iterator[None]:
        """While inside, `close` is called if `pairing_id` is revoked."""
        self._open[pairing_id].add(close)
        try:
            yield
        finally:
            self._open[pairing_id].discard(close)
            if not self._open[pairing_id]:
                del self._open[pairing_id]

    def revoke(self, pairing_id: str) -> None:
        """Close every socket open on this pairing."""
        for close in list(self._open.get(pairing_id, ())):
            close()

    async def watch(self) -> None:
        """Every few seconds: close the sockets of pairings no longer in the database (revoked anywhere)."""
        while True:
            await asyncio.sleep(self.check_seconds)
            held = set(self._open)
            if not held:
                continue
            try:
                gone = held - await asyncio.to_thread(self.pairings.existing, held)
            except Exception:  # the database away for a moment: the next round checks again
                _LOGGER.warning("Could not check the open sockets' pairings", exc_info=True)
                continue
            for pairing_id in gone:
                _LOGGER.info("Frame pairing %s was revoked: closing its sockets", pairing_id)
                self.revoke(pairing_id)
