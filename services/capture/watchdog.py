"""Notices a capture loop stuck inside its source and gets the process restarted.

A source yields a block or raises SourceError within its stall check, but not from inside a C call that never
returns: PortAudio's `abort()` and `close()` through ALSA's PulseAudio plugin wait for a sound server that stopped
answering (a frozen pulseaudio held them for about a minute), and Python cannot cancel that call. So the capture
loop reports progress here, and a loop silent for STALLS_STUCK stall checks fails `/healthz` and
`voxframe_capture_device_up`, then after as long again exits the process, so the launcher or Docker restarts it
with a fresh PortAudio.
"""

from __future__ import annotations

import logging
import os
import sys
import time

from services.capture.metrics import DEVICE_UP
from services.capture.sources import AudioSource

_LOGGER = logging.getLogger(__name__)

STALLS_STUCK = 3  # a loop silent this many of its source's stall checks is stuck; twice as long, the process exits
EXIT_STUCK = os.EX_SOFTWARE  # 70: the exit code of a capture that was stuck


class Watchdog:
    """The capture loop `beat()`s at each block and each attempt to open its source, and `rest()`s while it waits
    on purpose (a backoff, a shutdown); `watch()` (a thread of its own) acts when the beats stop."""

    def __init__(self, source: AudioSource) -> None:
        self.stuck_seconds = None if source.stall_seconds is None else STALLS_STUCK * source.stall_seconds
        self.source = source
        self._beat_at: float | None = None  # monotonic; None while resting

    def beat(self) -> None:
        self._beat_at = time.monotonic()

    def rest(self) -> None:
        self._beat_at = None

    def silent_seconds(self) -> float:
        beat_at = self._beat_at
        return 0.0 if beat_at is None else time.monotonic() - beat_at

    def health(self) -> dict[str, object] | None:
        """None unless stuck, else why (for `/healthz`)."""
        silent = self.silent_seconds()
        if self.stuck_seconds is None or silent < self.stuck_seconds:
            return None
        return {"reason": f"no audio and no attempt to reopen {self.source.name} for {silent:.0f} s: "
                          "stuck inside the audio library"}

    def watch(self, check_seconds: float = 0.5) -> None:
        """Log once and hold the device down while stuck; exit the process once stuck twice as long."""
        if self.stuck_seconds is None:
            return
        stuck = False
        while True:
            time.sleep(check_seconds)
            silent = self.silent_seconds()
            if silent >= 2 * self.stuck_seconds:
                _LOGGER.critical("Capture still stuck inside %s after %.0f s; exiting (%d) so a restart gets a "
                                 "fresh audio library", self.source.name, silent, EXIT_STUCK)
                _exit(EXIT_STUCK)
            if silent >= self.stuck_seconds:
                DEVICE_UP.set(0)
                if not stuck:
                    _LOGGER.error("No audio and no attempt to reopen %s for %.0f s: stuck inside the audio library "
                                  "(a sound server that stopped answering?); /healthz fails, and the process exits "
                                  "in %.0f s unless audio comes back", self.source.name, silent,
                                  2 * self.stuck_seconds - silent)
            elif stuck:
                _LOGGER.info("Capture loop moving again")
            stuck = silent >= self.stuck_seconds


def _exit(code: int) -> None:
    """Exit now with the log flushed: the thread stuck in C would hold up an orderly exit for ever."""
    for handler in logging.getLogger().handlers:
        handler.flush()
    sys.stderr.flush()
    os._exit(code)
