"""`voxframe run`'s plan: each worker started with its own service's command and default port."""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import soundfile

from shared.demo import script_lines
from shared.launcher import RESTARTS, Worker, _display_token, plan, shutdown, supervise
from tests.support import free_port, wait_for

ROOT = Path(__file__).resolve().parents[1]


def test_the_plan_starts_each_service_on_its_own_default_port() -> None:
    args = argparse.Namespace(demo=False, file="talk.wav", mic=None, room="den", port=8080, host="127.0.0.1",
                              insecure=False, transcribers=2, wyoming=["tcp://porch.local:10700"], language=None)
    assert [(w.name, w.argv) for w in plan(args)] == [
        ("display", ["display", "--port", "8080", "--host", "127.0.0.1", "--default-room", "den"]),
        ("generator", ["generator", "--metrics-port", "9104"]),
        ("prompter", ["prompter", "--metrics-port", "9103"]),
        ("transcriber-1", ["transcriber", "--metrics-port", "9102"]),
        ("transcriber-2", ["transcriber", "--metrics-port", "9111"]),
        ("capture", ["capture", "--room", "den", "--start-muted", "--metrics-port", "9101", "--mic", "file",
                     "--file", "talk.wav", "--loop"]),
        ("satellite-1", ["capture", "--room", "den", "--start-muted", "--metrics-port", "9121", "--mic",
                         "satellite-1", "--wyoming", "tcp://porch.local:10700"]),
    ]


def test_beyond_loopback_the_display_gets_the_data_dirs_token_and_only_the_display(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOXFRAME_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("VOXFRAME_DISPLAY_TOKEN", raising=False)
    lan = argparse.Namespace(host="0.0.0.0", insecure=False)
    token = _display_token(lan)
    assert token == (tmp_path / "display-token").read_text().strip() == _display_token(lan)  # made once, kept
    assert _display_token(argparse.Namespace(host="127.0.0.1", insecure=False)) == ""  # loopback: zero setup
    assert _display_token(argparse.Namespace(host="0.0.0.0", insecure=True)) == ""
    monkeypatch.setenv("VOXFRAME_DISPLAY_TOKEN", "set-by-the-operator")  # the display reads it itself
    assert _display_token(lan) == ""
    shown = argparse.Namespace(demo=True, file=None, mic=None, room="den", port=8080, host="0.0.0.0", insecure=True,
                               transcribers=1, wyoming=[], language=None)
    assert plan(shown)[0].argv[-1] == "--insecure"


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
def test_a_room_language_reaches_every_worker_and_the_demo_talks_in_it(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """`make run LANG=de` is `voxframe run --demo --language de`: a German demo conversation, VOXFRAME_LANGUAGE=de
    for every worker; a language the demo has no script for (or auto) gets the English demo."""
    monkeypatch.setenv("VOXFRAME_DATA_DIR", str(tmp_path))
    args = argparse.Namespace(demo=True, file=None, mic=None, room="den", port=8080, host="127.0.0.1",
                              insecure=False, transcribers=1, wyoming=[], language="de")
    workers = plan(args)
    assert {w.env.get("VOXFRAME_LANGUAGE") for w in workers} == {"de"}
    demo = Path(workers[-1].argv[workers[-1].argv.index("--file") + 1])
    assert demo == tmp_path / "demo" / "living-room.de.wav"
    samples, rate = soundfile.read(demo, dtype="int16")
    assert rate == 16000 and len(samples) / rate > 2.5 * len(script_lines("de"))  # every line said, with pauses
    assert script_lines("de") != script_lines("en") and len(script_lines("de")) == len(script_lines("en"))
    args.language = "auto"
    assert plan(args)[-1].argv[plan(args)[-1].argv.index("--file") + 1].endswith("living-room.wav")


def test_a_worker_that_was_up_a_while_is_restarted_however_often_it_died_before(
        caplog: pytest.LogCaptureFixture) -> None:
    """Each life of this worker counts as long (stable_seconds=0), so it is restarted past RESTARTS: deaths a
    while apart are news, not one crash repeating."""
    worker = Worker("short-lived", ["--version"])  # a real `voxframe` process that exits at once
    stopping = threading.Event()
    caplog.set_level(logging.WARNING, logger="shared.launcher")
    supervisor = threading.Thread(target=supervise, args=([worker], stopping), kwargs={"stable_seconds": 0.0})
    worker.start()
    supervisor.start()
    try:
        wait_for(lambda: sum("restarting" in r.message for r in caplog.records) > RESTARTS + 1, timeout=120,
                 interval=0.2, message=f"more than {RESTARTS + 1} restarts")
    finally:
        stopping.set()
        supervisor.join(15)
        shutdown([worker])
    assert not [r for r in caplog.records if "leaving it down" in r.message]
    assert all("restarting (1/" in r.message for r in caplog.records if "restarting" in r.message)


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("rabbitmq-server") is None,
                    reason="runs the launcher as another user (needs root) against Debian's rabbitmq-server")
def test_a_user_who_may_not_start_rabbitmq_is_told_how_at_once() -> None:
    """A stopped local RabbitMQ (no init system started it) and `make run` as a user: Debian's rabbitmq-server boots
    only for root, so the launcher asks sudo (or says at once that root must start it) instead of booting it as the
    user, which printed Erlang's crash report and then waited 60 s for nothing."""
    env = {**os.environ, "VOXFRAME_AMQP_URL": f"amqp://guest:guest@127.0.0.1:{free_port()}/%2F", "HOME": "/tmp",
           "PYTHONPATH": str(ROOT)}
    started = time.monotonic()
    result = subprocess.run(["setpriv", "--reuid", "nobody", "--regid", "nogroup", "--clear-groups", sys.executable,
                             "-m", "shared.cli", "run", "--demo"], cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                            capture_output=True, text=True, timeout=120, check=False, start_new_session=True)
    seconds = time.monotonic() - started
    assert result.returncode == 2, result.stdout + result.stderr
    assert "BOOT FAILED" not in result.stdout + result.stderr
    assert "rabbitmq-server -detached" in result.stderr and "VOXFRAME_AMQP_URL" in result.stderr
    assert seconds < 30, f"told after {seconds:.0f} s"
