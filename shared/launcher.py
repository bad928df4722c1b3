"""`voxframe run`: the whole pipeline on one machine, each worker its own process, stopped cleanly on Ctrl-C."""

from __future__ import annotations

import argparse
import ctypes
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlparse

from shared.config import BusSettings
from shared.demo import LANGUAGES as DEMO_LANGUAGES
from shared.demo import demo_recording
from shared.messages.language import room_language
from shared.service import service_spec
from shared.settings_cli import load_settings

_LOGGER = logging.getLogger(__name__)

RESTARTS = 5  # a worker that keeps dying this often in a row is left down and reported
STABLE_SECONDS = 60.0  # a worker up this long had recovered: its next death starts a fresh count
STOP_GRACE_SECONDS = 15
# Each service's own port comes from its SERVICE; these are the launcher's for the extra copies.
MORE_TRANSCRIBERS_PORT = 9110  # transcriber-2 serves /metrics on 9111, transcriber-3 on 9112, …
SATELLITES_PORT = 9121  # satellite-1 on 9121, satellite-2 on 9122, …


@dataclass
class Worker:
    name: str
    argv: list[str]
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    started_at: float = field(default=0.0)
    env: dict[str, str] = field(default_factory=dict)  # on top of the launcher's own

    def start(self) -> None:
        # Own session: a terminal's Ctrl-C reaches only the launcher, which stops the workers in order.
        # PR_SET_PDEATHSIG: if the launcher itself is killed, the kernel stops the workers too.
        self.process = subprocess.Popen([sys.executable, "-m", "shared.cli", *self.argv], start_new_session=True,
                                        env={**os.environ, **self.env}, preexec_fn=_die_with_parent)  # noqa: PLW1509 (launched before threads)
        self.started_at = time.monotonic()
        _LOGGER.info("started %s (pid %d): voxframe %s", self.name, self.process.pid, " ".join(self.argv))

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser],
                common: argparse.ArgumentParser) -> None:
    p = commands.add_parser("run", parents=[common], formatter_class=argparse.ArgumentDefaultsHelpFormatter,
                            help="run the whole pipeline on this machine (offline defaults)")
    source = p.add_mutually_exclusive_group()
    source.add_argument("--file", help="replay this recording as the room's microphone, in a loop")
    source.add_argument("--mic", help="capture from this sound device (index or name substring)")
    source.add_argument("--demo", action="store_true", help="replay the built-in living-room demo recording")
    p.add_argument("--wyoming", action="append", default=[], metavar="tcp://HOST:PORT",
                   help="also hear this Wyoming satellite or mic service, as mic satellite-N (repeatable)")
    p.add_argument("--discover", action="store_true",
                   help="list the Wyoming satellites and mic services found on the LAN (zeroconf); only those named "
                        "with --wyoming are heard")
    p.add_argument("--room", default="living-room", help="room name for the source and the frame URL")
    p.add_argument("--language", type=room_language, default=None,
                   help="what the room speaks: a code such as de, or auto (VOXFRAME_LANGUAGE for every worker); "
                        f"--demo then talks in it ({', '.join(DEMO_LANGUAGES)}; English otherwise)")
    p.add_argument("--port", type=int, default=service_spec("display").port, help="the display's HTTP port")
    p.add_argument("--host", default="127.0.0.1", help="the display's bind address (0.0.0.0 for other screens: "
                                                       "an access token is made, or VOXFRAME_DISPLAY_TOKEN used)")
    p.add_argument("--insecure", action="store_true",
                   help="beyond loopback, serve without an access token: anyone on the network may read and steer")
    p.add_argument("--transcribers", type=int, default=1, help="transcriber replicas")
    p.add_argument("--no-broker-start", action="store_true", help="never try to start a local RabbitMQ")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    settings = load_settings(BusSettings)
    if not ensure_broker(settings.amqp_url, allow_start=not args.no_broker_start):
        return 2
    if args.discover:
        from shared.discovery import discover

        found = [f.uri for f in discover() if f.uri not in args.wyoming]
        print(f"Found {len(found)} more Wyoming mic(s) on the LAN: {', '.join(found) or 'none'}"
              + "".join(f"\n  to hear it: --wyoming {uri}" for uri in found), flush=True)
    workers = plan(args)
    token = _display_token(args)
    if token:
        workers[0].env["VOXFRAME_DISPLAY_TOKEN"] = token  # the display's alone: no other worker needs it
    stopping = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopping.set())
    for worker in workers:
        worker.start()
    display = f"http://{'localhost' if args.host in ('0.0.0.0', '127.0.0.1') else args.host}:{args.port}"
    print(f"\n  Frame:      {display}/frame/{args.room}\n  Dashboard:  {display}/{f'?token={token}' if token else ''}\n"
          f"  Upload:     {display}/upload\n  Phone mic:  {display}/mic/{args.room} (https beyond localhost)\n"
          f"  Stop:       Ctrl-C\n", flush=True)
    try:
        supervise(workers, stopping)
    finally:
        shutdown(workers)
    return 0


def _display_token(args: argparse.Namespace) -> str:
    """Beyond loopback without a token set: the display's stored token (made now if none), for its dashboard link."""
    from services.display.settings import DisplaySettings
    from services.display.web.access_token import is_loopback, stored_token

    settings = load_settings(DisplaySettings)
    if settings.display_token or args.insecure or is_loopback(args.host):
        return ""
    return stored_token(settings.data_dir)[0]


def plan(args: argparse.Namespace) -> list[Worker]:
    """Which processes to run; downstream first, so nothing the capture sends waits for a consumer to appear."""
    display, generator, prompter, transcriber, capture = (
        service_spec(name) for name in ("display", "generator", "prompter", "transcriber", "capture"))
    workers = [
        Worker("display", [display.command, *display.port_args(args.port), "--host", args.host,
                           "--default-room", args.room, *(["--insecure"] if args.insecure else [])]),
        Worker("generator", [generator.command, *generator.port_args()]),
        Worker("prompter", [prompter.command, *prompter.port_args()]),
    ]
    workers += [Worker(f"transcriber-{i + 1}",
                       [transcriber.command, *transcriber.port_args(None if i == 0 else MORE_TRANSCRIBERS_PORT + i)])
                for i in range(args.transcribers)]
    mic = [capture.command, "--room", args.room, "--start-muted", *capture.port_args()]  # the display unmutes
    if args.demo:
        spoken = args.language if args.language in DEMO_LANGUAGES else "en"
        workers.append(Worker("capture", [*mic, "--mic", "demo", "--file", str(demo_recording(language=spoken)),
                                          "--loop"]))
    elif args.file:
        workers.append(Worker("capture", [*mic, "--mic", "file", "--file", args.file, "--loop"]))
    elif args.mic:
        workers.append(Worker("capture", [*mic, "--mic", "mic", "--device", args.mic]))
    workers += [Worker(f"satellite-{i + 1}", [capture.command, "--room", args.room, "--start-muted",
                                              *capture.port_args(SATELLITES_PORT + i),
                                              "--mic", f"satellite-{i + 1}", "--wyoming", uri])
                for i, uri in enumerate(args.wyoming)]
    for worker in workers if args.language else ():
        worker.env["VOXFRAME_LANGUAGE"] = args.language  # the transcriber hears it; the others may read it
    return workers


def supervise(workers: list[Worker], stopping: threading.Event, stable_seconds: float = STABLE_SECONDS) -> None:
    """Restart a worker that dies (with a growing pause) until it has died too often in a row; one that ran for
    `stable_seconds` before dying starts counting afresh, so rare failures over days never leave it down."""
    while not stopping.wait(0.5):
        for worker in workers:
            code = worker.process.poll() if worker.process else None
            if code is None or worker.restarts > RESTARTS:
                continue
            if time.monotonic() - worker.started_at >= stable_seconds:
                worker.restarts = 0
            worker.restarts += 1
            if worker.restarts > RESTARTS:
                _LOGGER.error("%s exited with %d %d times; leaving it down", worker.name, code, RESTARTS)
                continue
            _LOGGER.warning("%s exited with %d; restarting (%d/%d)", worker.name, code, worker.restarts, RESTARTS)
            stopping.wait(min(10.0, 0.5 * 2**worker.restarts))
            if not stopping.is_set():
                worker.start()


def shutdown(workers: list[Worker]) -> None:
    print("\nStopping…", flush=True)
    for worker in reversed(workers):  # sources first, so downstream workers finish what is in flight
        worker.stop()
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for worker in reversed(workers):
        if worker.process is None:
            continue
        try:
            worker.process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _LOGGER.warning("%s did not stop in time; killing it", worker.name)
            worker.process.kill()
            worker.process.wait()
    print("Stopped.", flush=True)


def ensure_broker(url: str, allow_start: bool) -> bool:
    """True once the broker answers; starts a local RabbitMQ if it is installed and stopped."""
    parsed = urlparse(url)
    host, port = parsed.hostname or "localhost", parsed.port or (5671 if parsed.scheme == "amqps" else 5672)
    if _answers(host, port):
        return True
    local = host in ("localhost", "127.0.0.1", "::1")
    server = shutil.which("rabbitmq-server") or ("/usr/sbin/rabbitmq-server" if os.path.exists(
        "/usr/sbin/rabbitmq-server") else None)
    if not (local and allow_start and server):
        print(f"voxframe: error: no broker answers at {host}:{port}. Install and start RabbitMQ "
              "(apt-get install rabbitmq-server) or set VOXFRAME_AMQP_URL.", file=sys.stderr)
        return False
    start = _broker_start_command(server)
    if start is None:
        print(f"voxframe: error: no broker answers at {host}:{port}, and only root may start RabbitMQ (sudo is not "
              f"installed): run `{server} -detached` as root, or set VOXFRAME_AMQP_URL.", file=sys.stderr)
        return False
    print(f"Starting RabbitMQ ({' '.join(start)})…", flush=True)
    if subprocess.run(start, check=False).returncode != 0:
        print(f"voxframe: error: `{' '.join(start)}` failed; start RabbitMQ as root (sudo {server} -detached, or "
              "sudo systemctl start rabbitmq-server) or set VOXFRAME_AMQP_URL.", file=sys.stderr)
        return False
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if _answers(host, port):
            return True
        time.sleep(1)
    print("voxframe: error: RabbitMQ did not start within 60 s (see /var/log/rabbitmq/)", file=sys.stderr)
    return False


def _broker_start_command(server: str) -> list[str] | None:
    """Debian's rabbitmq-server runs only for root (or its own user; anyone else gets a failed boot, a crash report
    and an epmd left behind), so another user starts it through sudo, which asks for the password on the terminal
    as `make run`'s package install does; None without sudo."""
    if os.geteuid() == 0:
        return [server, "-detached"]
    sudo = shutil.which("sudo")
    return [sudo, server, "-detached"] if sudo else None


def _die_with_parent() -> None:
    if sys.platform == "linux":
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


_PR_SET_PDEATHSIG = 1


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False
