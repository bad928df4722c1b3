"""When `up --wait` fails, the failure says why: compose itself names only the unhealthy container."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.compose.stack import Stack, build_images, docker_answers

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]  # a clean machine builds the images first

REFUSING = """\
services:
  refusing:
    image: {image}
    entrypoint: ["sleep", "300"]
    healthcheck:
      test: ["CMD", "sh", "-c", "echo 'http://127.0.0.1:9103/healthz unreachable: refused' >&2; exit 1"]
      interval: 1s
      timeout: 5s
      retries: 2
"""


def test_an_unhealthy_container_fails_up_with_its_health_checks_its_logs_and_the_load(tmp_path: Path) -> None:
    why = docker_answers()
    if why:
        pytest.skip(why)
    (tmp_path / "compose.yml").write_text(REFUSING.format(image=build_images()["MOSQUITTO_IMAGE"]))
    (tmp_path / ".env").write_text("")
    stack = Stack(tmp_path, f"vftest-{uuid.uuid4().hex[:8]}")
    stack.files = [tmp_path / "compose.yml"]
    try:
        with pytest.raises(AssertionError) as failed:
            stack.up()
    finally:
        stack.compose("down", "-v", "--timeout", "1")
    report = str(failed.value)
    assert f"container {stack.project}-refusing-1 is unhealthy" in report  # compose's own words
    assert "load average " in report
    assert f"{stack.project}-refusing-1: running since " in report and "health unhealthy (" in report
    checks = [line for line in report.splitlines() if line.startswith("  check ")]
    assert len(checks) >= 2 and all("exit 1 after " in c and "9103/healthz unreachable: refused" in c
                                    for c in checks), report
