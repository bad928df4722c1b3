"""`voxframe run` (what `make run` calls): the demo reaches the frame within a minute; Ctrl-C stops everything."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from shared.config import BusSettings
from tests.support import Broker, free_port, wait_for

pytestmark = pytest.mark.slow


def test_run_paints_the_demo_on_the_frame_and_stops_cleanly_on_ctrl_c(
        bus_settings: BusSettings, broker: Broker, tmp_path: Path) -> None:
    port = free_port()
    broker.extra_queues.add(f"{bus_settings.namespace}.display.{os.uname().nodename}-{port}")
    log = (tmp_path / "run.log").open("wb")
    started = time.monotonic()
    run = subprocess.Popen([sys.executable, "-m", "shared.cli", "run", "--demo", "--room", "den", "--port", str(port)],
                           env={**os.environ, "VOXFRAME_NAMESPACE": bus_settings.namespace,
                                "VOXFRAME_DATA_DIR": str(tmp_path / "data"), "PYTHONUNBUFFERED": "1"},
                           stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def images() -> list[dict]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/rooms/den/images", timeout=5) as response:
                return json.loads(response.read())
        except (urllib.error.URLError, OSError):
            return []

    try:
        shown = wait_for(images, timeout=120, interval=1, message="the first demo picture")
        seconds = time.monotonic() - started
        print(f"first picture on the frame {seconds:.1f} s after `voxframe run` started")
        assert seconds <= 90, f"first picture took {seconds:.0f} s"
        assert shown[0]["room"] == "den" and shown[0]["keywords"]
        output = (tmp_path / "run.log").read_text()
        assert f"http://localhost:{port}/frame/den" in output
        children = subprocess.run(["pgrep", "-P", str(run.pid)], check=False, capture_output=True,
                                  text=True).stdout.split()
        assert len(children) == 5, "five workers"
        os.killpg(run.pid, signal.SIGINT)  # what Ctrl-C in a terminal does: the whole foreground group
        assert run.wait(60) == 0
        assert not [pid for pid in children if Path(f"/proc/{pid}").exists()], "a worker outlived the launcher"
        assert "Stopped." in (tmp_path / "run.log").read_text()
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
        log.close()
