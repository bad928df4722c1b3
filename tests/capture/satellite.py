"""The real `wyoming-satellite` from PyPI, in a venv of its own (it pins its own `wyoming`), playing a recording.

The venv is made on first use in `.venv-wyoming/` (gitignored, like its `.lock`) with pip, so a fresh machine
needs only PyPI.
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

from tests.support import package_venv, wait_for

PACKAGE = "wyoming-satellite==1.0.0"
VENV = Path(__file__).resolve().parents[2] / ".venv-wyoming"


def satellite_python() -> Path:
    """The satellite venv's interpreter."""
    return package_venv(VENV, PACKAGE, install_timeout=600)


class Satellite:
    """One `wyoming_satellite` process on 127.0.0.1:`port` whose mic is ffmpeg replaying `recording` in real
    time; when ffmpeg ends, the satellite restarts it (after its 3 s mic reconnect pause), so it loops.
    With `zeroconf_name` it announces itself on the LAN under that name, at 127.0.0.1."""

    def __init__(self, python: Path, recording: Path, port: int, log_dir: Path,
                 zeroconf_name: str | None = None) -> None:
        self.python, self.recording, self.port, self.log_dir = python, recording, port, log_dir
        self.zeroconf = (["--zeroconf-name", zeroconf_name, "--zeroconf-host", "127.0.0.1"] if zeroconf_name
                         else ["--no-zeroconf"])
        self.uri = f"tcp://127.0.0.1:{port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        log = self.log_dir / f"satellite.{self.starts}.log"
        mic = f"ffmpeg -v error -re -i {self.recording} -f s16le -ar 16000 -ac 1 -"
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [str(self.python), "-m", "wyoming_satellite", "--uri", self.uri, "--name", "voxframe-test",
                 *self.zeroconf, "--mic-command", mic], stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True)  # its own group: a kill takes its ffmpeg too
        wait_for(lambda: "Ready" in log.read_text() or self.process.poll() is not None, timeout=30,
                 message="the satellite to listen")
        assert self.process.poll() is None, log.read_text()

    def kill(self) -> None:
        """SIGKILL, as a crash: no goodbye event, the kernel just closes its connections."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
