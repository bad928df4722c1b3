"""Browser tabs as mics of their rooms: each live tab's `LiveMic` (the capture's segmenter, mute and status),
arbitrated with the room's other mics (`shared.audio.outbox`), its segments published like a capture's.

The registry answers the bus (Controls and other mics' notices, on the work thread) and feeds each tab's audio in
a worker thread (`hear`), one block at a time per tab, so the event loop never runs the VAD. Those threads are
the mics' own: a storm of renders or database reads cannot hold a tab's audio up.

Mute switches outlive a tab's socket and the display: they are kept in the database (`switches.py`), and a tab
that (re)joins starts as they say. A muted tablet that loses its Wi-Fi for a moment, or whose display restarted,
comes back muted, not listening; a tab that joins a room muted as a whole is muted too.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import numpy as np
from prometheus_client import Counter

from services.display.mics.switches import NEVER, MuteSwitches, Switch
from services.display.web.limits import SocketBudget
from shared.audio import Segmenter
from shared.audio.arbiter import Arbiter
from shared.audio.mic import LiveMic
from shared.audio.outbox import ArbitratedOutbox, OutboxCounters, SegmentOutbox
from shared.bus import Bus
from shared.messages import Command, Control, EndReason, Heard, MicStatus

BUFFER_SECONDS = 600.0  # speech of all browser mics held while the broker is away; oldest dropped past it
THREADS = 4  # each tab's blocks go in one at a time: these serve many tabs, on threads no render or read takes

T = TypeVar("T")

COUNTERS = OutboxCounters(
    published=Counter("voxframe_display_mic_segments_published_total",
                      "Speech segments from browser mics the broker confirmed"),
    published_seconds=Counter("voxframe_display_mic_audio_published_seconds_total",
                              "Audio seconds from browser mics the broker confirmed"),
    dropped=Counter("voxframe_display_mic_segments_dropped_total",
                    "Oldest browser-mic segments dropped because the broker was away too long"),
    arbitrated=Counter("voxframe_display_mic_segments_arbitrated_total",
                       "Browser-mic segments left to another mic of the room that heard them better", ["room"]),
)


class BrowserMic(LiveMic):
    """One tab's mic; `on_mute()` (called on the bus thread) tells its socket that the mute switch moved."""

    def __init__(self, room: str, name: str, device: str, door: Callable[[Arbiter], ArbitratedOutbox],
                 on_mute: Callable[[], None], switch: Switch = NEVER, session: str = "",
                 on_replaced: Callable[[], None] = lambda: None) -> None:
        super().__init__(room, name, Segmenter(), kind="browser", device=device)
        super().on_control(Control(room=room, source="display", mic=name, created_at=switch.set_at,
                                   command=Command.MUTE if switch.muted else Command.UNMUTE))  # from its first block
        self.outbox = door(Arbiter(room, name))
        self.session = session  # the page's own id ("" if it sent none): its reconnection may take the name over
        self._on_mute = on_mute
        self.replaced = on_replaced  # ends this tab's socket: the same page is back on another one

    def take(self, samples: np.ndarray, captured_at: float) -> None:
        """Worker thread: one block of the tab's audio in, its finished segments on their way."""
        self.outbox.put(self.hear(samples, captured_at))

    def finish(self) -> None:
        """Worker thread: the tab went away; the utterance in progress is sent, nothing stays held."""
        self.outbox.put(self.end_stream(EndReason.DEVICE_LOST))
        self.outbox.release(everything=True)

    def on_control(self, control: Control) -> None:
        before = self.muted
        super().on_control(control)
        if self.muted != before:
            self._on_mute()


class BrowserMics:
    """The browser mics this display serves, by room and name (a name is live once per room)."""

    def __init__(self, bus: Bus, budget: SocketBudget, switches: MuteSwitches) -> None:
        self._bus = bus
        self._switches = switches
        self.budget = budget  # tabs live at once, in total and per address (event loop only)
        self._publisher = SegmentOutbox(bus, BUFFER_SECONDS, COUNTERS)
        self._lock = threading.Lock()
        self._mics: dict[tuple[str, str], BrowserMic] = {}
        self._pool = ThreadPoolExecutor(THREADS, thread_name_prefix="display-mic")
        bus.every(1.0, self._publish_statuses)
        bus.every(0.05, self._release)

    def start(self) -> None:
        """Start publishing (a thread of its own, until the bus stops)."""
        threading.Thread(target=self._publisher.run, args=(threading.Event(),), name="display-mic-publish",
                         daemon=True).start()

    async def run(self, work: Callable[..., T], *args: object) -> T:
        """`work(*args)` on the mics' own threads (joining, hearing, leaving), awaited from the event loop."""
        return await asyncio.get_running_loop().run_in_executor(self._pool, work, *args)

    def join(self, room: str, name: str, device: str, on_mute: Callable[[], None], session: str = "",
             on_replaced: Callable[[], None] = lambda: None) -> tuple[BrowserMic | None, bool]:
        """The new tab's mic, or None when a mic of that name is live in the room already; and whether that one
        is being ended because it is the same page's (`session`) old socket, so the name is free in a moment."""
        with self._lock:
            live = self._mics.get((room, name))
            if live is not None:
                if session and live.session == session:
                    live.replaced()
                    return None, True
                return None, False
            mic = BrowserMic(room, name, device, self._door, on_mute, self._switches.wanted(room, name),
                             session=session, on_replaced=on_replaced)
            self._mics[(room, name)] = mic
            return mic, False

    def leave(self, mic: BrowserMic) -> None:
        with self._lock:
            if self._mics.get((mic.room, mic.mic)) is mic:
                del self._mics[(mic.room, mic.mic)]

    def _door(self, arbiter: Arbiter) -> ArbitratedOutbox:
        return ArbitratedOutbox(arbiter, self._bus, self._publisher, COUNTERS)

    def _live(self, room: str | None = None) -> list[BrowserMic]:
        with self._lock:
            return [m for m in self._mics.values() if room is None or m.room == room]

    # ---- bus work thread ---------------------------------------------------------------------------------

    def on_control(self, control: Control) -> None:
        """Bus work thread, or a tab's own switch (`mic_socket`): the room's mics obey it, and a mute switch is
        kept for the mics that (re)join later."""
        self._switches.on_control(control)
        for mic in self._live(control.room):
            mic.on_control(control)

    def on_heard(self, heard: Heard) -> None:
        for mic in self._live(heard.room):
            mic.outbox.arbiter.on_heard(heard)

    def on_status(self, status: MicStatus) -> None:
        """Every mic's status (from the display queue): who else listens in the room."""
        for mic in self._live(status.room):
            mic.outbox.arbiter.on_status(status)

    def _publish_statuses(self) -> None:
        if self._bus.connected:
            for mic in self._live():
                self._bus.publish_nowait(mic.status())

    def _release(self) -> None:
        for mic in self._live():
            mic.outbox.release()
