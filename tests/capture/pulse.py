"""A private PulseAudio daemon with a pipe-source microphone the test writes sound into."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from shared.audio import SAMPLE_RATE_HZ
from tests.support import wait_for

_CHUNK_SAMPLES = 320  # 20 ms


class VirtualMic:
    """`module-pipe-source` (16 kHz s16le mono) fed in real time (or `speed` times faster): silence, or what
    `play()` queued.

    A writer must keep feeding the pipe while a stream is open (a mic that stops sending looks unplugged).
    `unplug()` unloads the module, as pulling a USB mic out removes its source.
    """

    def __init__(self, directory: Path, name: str = "vfmic") -> None:
        self.directory = directory
        self.name = name
        self.env = {"PULSE_SERVER": f"unix:{directory}/native", "PULSE_SOURCE": name,
                    "PULSE_RUNTIME_PATH": str(directory), "XDG_RUNTIME_DIR": str(directory)}
        self._daemon: subprocess.Popen[bytes] | None = None
        self._module = ""
        self._writer: threading.Thread | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._pending = np.zeros(0, dtype=np.int16)
        self.written = 0  # samples written into the pipe so far
        self.speed = 1.0  # how many times faster than real time the pipe is fed

    def start(self) -> None:
        pulseaudio = shutil.which("pulseaudio")
        assert pulseaudio is not None
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        with (self.directory / "pulseaudio.log").open("wb") as log:  # the daemon keeps its own copy of the file
            self._daemon = subprocess.Popen(
                [pulseaudio, "-n", "--daemonize=no", "--exit-idle-time=-1", "--system=false", "--use-pid-file=false",
                 "--disallow-exit", "--log-target=stderr",
                 "-L", f"module-native-protocol-unix socket={self.directory}/native auth-anonymous=1",
                 "-L", "module-null-sink"],
                env={**os.environ, **self.env, "HOME": str(self.directory)}, stdout=log, stderr=log)
        wait_for(lambda: self._pactl("info", check=False).returncode == 0, timeout=15,
                 message="the PulseAudio daemon")

    def plug(self) -> None:
        pipe = self.directory / f"{self.name}.pipe"
        self._module = self._pactl("load-module", "module-pipe-source", f"source_name={self.name}", f"file={pipe}",
                                   "format=s16le", f"rate={SAMPLE_RATE_HZ}", "channels=1").stdout.strip()
        self._stop.clear()
        self._writer = threading.Thread(target=self._feed, args=(pipe,), daemon=True)
        self._writer.start()

    def unplug(self) -> None:
        self._stop.set()
        if self._writer is not None:
            self._writer.join(5)
        self._pactl("unload-module", self._module)

    def play(self, samples: np.ndarray) -> int:
        """Queue `samples` after what is queued; returns the stream offset where they will start."""
        with self._lock:
            start = self.written + len(self._pending)
            self._pending = np.concatenate([self._pending, samples.astype(np.int16)])
            return start

    def idle(self) -> bool:
        with self._lock:
            return len(self._pending) == 0

    @contextmanager
    def frozen(self) -> Iterator[None]:
        """The sound server stops answering, as a hung pulseaudio does (SIGSTOP); thawed on the way out."""
        assert self._daemon is not None
        self._daemon.send_signal(signal.SIGSTOP)
        try:
            yield
        finally:
            self._daemon.send_signal(signal.SIGCONT)

    def close(self) -> None:
        self._stop.set()
        if self._daemon is not None:
            self._daemon.terminate()
            self._daemon.wait(10)

    def _feed(self, pipe: Path) -> None:
        fd = os.open(pipe, os.O_WRONLY)
        started, sent, speed = time.monotonic(), 0, self.speed
        try:
            while not self._stop.is_set():
                with self._lock:
                    chunk = self._pending[:_CHUNK_SAMPLES]
                    self._pending = self._pending[len(chunk):]
                chunk = np.concatenate([chunk, np.zeros(_CHUNK_SAMPLES - len(chunk), dtype=np.int16)])
                os.write(fd, chunk.astype("<i2").tobytes())
                with self._lock:
                    self.written += len(chunk)
                sent += len(chunk)
                if self.speed != speed:  # a new pace counts from here
                    started, sent, speed = time.monotonic(), 0, self.speed
                delay = started + sent / (SAMPLE_RATE_HZ * speed) - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
        except BrokenPipeError:
            pass  # unplugged under us
        finally:
            os.close(fd)

    def _pactl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["pactl", *args], env={**os.environ, **self.env}, capture_output=True, text=True,
                              check=check, timeout=10)
