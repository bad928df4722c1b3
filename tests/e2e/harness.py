"""Run real worker processes for end-to-end tests: each with its own log, metrics port and namespace."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from tests.support import PROCESS_START_SECONDS, free_port, wait_for


@dataclass
class WorkerProcess:
    """One `voxframe <command>` subprocess; `port` serves its /healthz."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log_dir: Path
    port: int
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0
    logs: list[Path] = field(default_factory=list)

    def start(self) -> WorkerProcess:
        self.starts += 1
        log = self.log_dir / f"{self.name}.{self.starts}.log"
        self.logs.append(log)
        with log.open("wb") as out:
            self.process = subprocess.Popen([sys.executable, "-m", "shared.cli", *self.argv], env=self.env,
                                            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def healthy(self) -> bool:
        try:
            return urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2).status == 200
        except (urllib.error.URLError, OSError):
            return False

    def wait_healthy(self, timeout: float = PROCESS_START_SECONDS) -> None:
        wait_for(lambda: self.healthy() or self._died(), timeout=timeout, message=f"{self.name} healthy")
        if self._died():
            raise AssertionError(f"{self.name} exited with {self.process.returncode}:\n{self.log_tail()}")

    def _died(self) -> bool:
        return self.process is not None and self.process.poll() is not None

    def kill9(self) -> None:
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self, timeout: float = 20) -> int | None:
        if self.process is None or self.process.poll() is not None:
            return None if self.process is None else self.process.returncode
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
            raise AssertionError(f"{self.name} ignored SIGTERM for {timeout} s:\n{self.log_tail()}") from None

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def log_text(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in self.logs if p.exists())


class Pipeline:
    """The workers of one test, sharing one namespace and data dir."""

    def __init__(self, namespace: str, amqp_url: str, tmp: Path, **extra_env: str) -> None:
        self.tmp = tmp
        self.env = {**os.environ, "VOXFRAME_NAMESPACE": namespace, "VOXFRAME_AMQP_URL": amqp_url,
                    "VOXFRAME_DATA_DIR": str(tmp / "data"), "PYTHONUNBUFFERED": "1", **extra_env}
        self.workers: dict[str, WorkerProcess] = {}

    def add(self, name: str, *argv: str, http_port: int | None = None) -> WorkerProcess:
        port = http_port or free_port()
        args = list(argv) if http_port else [*argv, "--metrics-port", str(port)]
        worker = WorkerProcess(name, args, self.env, self.tmp, port)
        self.workers[name] = worker
        return worker

    def stop_all(self) -> None:
        for worker in reversed(list(self.workers.values())):
            with contextlib.suppress(AssertionError):
                worker.stop()
