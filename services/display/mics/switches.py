"""The mute switches: what each room and each mic should be, kept in the display's database (`mute_switches`), so
that a switch outlives every process that obeys it.

Every mic obeys switches as they come (`shared.audio.mic.LiveMic`), but a mic that (re)starts, a tab that
reconnects, or a display that restarts missed the ones before. So the display keeps the last switch of each room
and of each mic (the later of the two is the mic's), a browser tab joins as they say, and each mic's status is
compared with them: a mic that obeys an older switch, or none (a capture started with `--start-muted`), is told
its switch again, at most every RESEND_SECONDS; a mic that obeys a newer one than the display kept (a switch sent
while the display was down) is believed, and its switch kept. Runs on the bus work thread and the mics' threads.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime

from services.display.gallery.db import Database
from shared.bus import Bus
from shared.messages import Command, Control, MicStatus

_LOGGER = logging.getLogger(__name__)

RESEND_SECONDS = 2.0  # a mic that still disagrees after being told is told again this often
_ROOM = ""  # the mic column of a switch for the whole room


@dataclass(frozen=True)
class Switch:
    muted: bool
    set_at: datetime  # the switch's own time: its Control's created_at


NEVER = Switch(False, datetime.fromtimestamp(0, UTC))  # a room never switched listens; any switch is later


class MuteSwitches:
    """The last mute switch of every room and mic, and the mics told to obey them."""

    def __init__(self, db: Database, bus: Bus) -> None:
        self._db, self._bus = db, bus
        self._lock = threading.Lock()
        with db.connection() as conn:
            self._switches = {(r[0], r[1]): Switch(bool(r[2]), datetime.fromtimestamp(r[3], UTC))
                              for r in conn.execute("SELECT room, mic, muted, set_at FROM mute_switches")}
        self._told: dict[tuple[str, str], float] = {}  # (room, mic): when it was last told its switch (monotonic)

    def wanted(self, room: str, mic: str) -> Switch:
        """The switch `mic` of `room` should obey: the later of the room's and its own (NEVER: listen)."""
        with self._lock:
            switches = [s for s in (self._switches.get((room, _ROOM)), self._switches.get((room, mic))) if s]
        return max(switches, key=lambda s: s.set_at, default=NEVER)

    def on_control(self, control: Control) -> None:
        """A mute or unmute (from the bus, or a browser tab's own switch) is kept, unless a later one is."""
        if control.command not in (Command.MUTE, Command.UNMUTE):
            return
        self._keep(control.room, control.mic or _ROOM, Switch(control.command is Command.MUTE, control.created_at))

    def _keep(self, room: str, mic: str, switch: Switch) -> None:
        with self._lock:
            kept = self._switches.get((room, mic))
            if kept is not None and kept.set_at >= switch.set_at:
                return
            self._switches[(room, mic)] = switch
        with self._db.connection() as conn:
            conn.execute("INSERT INTO mute_switches VALUES (?, ?, ?, ?) ON CONFLICT (room, mic) DO UPDATE "
                         "SET muted = excluded.muted, set_at = excluded.set_at WHERE mute_switches.set_at < "
                         "excluded.set_at", (room, mic, switch.muted, switch.set_at.timestamp()))

    def on_status(self, status: MicStatus, now: float) -> None:
        """Reconcile one mic (`now`: monotonic seconds): tell it its switch, or keep the newer one it obeys."""
        wanted = self.wanted(status.room, status.source)
        if status.muted == wanted.muted and (status.switched_at is not None or wanted is NEVER):
            return  # as it should be (a mic not yet told a switch there is is told, so a late older one loses)
        if status.switched_at is not None and status.switched_at > wanted.set_at:
            _LOGGER.info("Mic %s/%s obeys a later switch than kept (%s); keeping it", status.room, status.source,
                         "muted" if status.muted else "listening")
            self._keep(status.room, status.source, Switch(status.muted, status.switched_at))
            return
        key = (status.room, status.source)
        with self._lock:
            if now - self._told.get(key, -RESEND_SECONDS) < RESEND_SECONDS:
                return
            self._told[key] = now
        _LOGGER.info("Mic %s/%s is %s; telling it its switch: %s", status.room, status.source,
                     "muted" if status.muted else "listening", "muted" if wanted.muted else "listening")
        self._bus.publish_nowait(Control(room=status.room, source="display", mic=status.source,
                                         command=Command.MUTE if wanted.muted else Command.UNMUTE,
                                         created_at=wanted.set_at))
