"""The compose test's own harness on the real Docker engine: the images a run uses stay its own, and a failed
`up --wait` says why (compose itself names only the unhealthy container)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.compose.stack import Stack, build_images, docker_answers, sh

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


@pytest.fixture(scope="module")
def images() -> dict[str, str]:
    why = docker_answers()
    if why:
        pytest.skip(why)
    return build_images()


def test_a_run_names_its_images_by_id_so_another_runs_build_cannot_swap_them(images: dict[str, str],
                                                                             tmp_path: Path) -> None:
    stack = Stack(tmp_path, "unused")
    stack.write_env(images)
    for key in ("VOXFRAME_IMAGE", "RABBITMQ_IMAGE", "PROMETHEUS_IMAGE", "MOSQUITTO_IMAGE"):
        image = stack.env[key]
        assert image.startswith("sha256:"), f"{key}={image}: a name another run's build can move"
        assert sh("docker", "image", "inspect", "--format", "{{.Id}}", image).strip() == image


def test_an_unhealthy_container_fails_up_with_its_health_checks_its_logs_and_the_load(images: dict[str, str],
                                                                                     tmp_path: Path) -> None:
    (tmp_path / "compose.yml").write_text(REFUSING.format(image=images["MOSQUITTO_IMAGE"]))
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
