"""`make test` sets a fresh Debian machine up as `make run` does: the package of every tool a test drives is in
TEST_PACKAGES, which the test target installs on each run, and the target checks the broker before pytest."""

from __future__ import annotations

import glob
import os
import shutil
import sys
from pathlib import Path

from tests.deploy.conftest import ROOT, run

# What the tests run besides Python: PulseAudio (virtual mic), Chromium, Prometheus, speech synthesis, decoding,
# the broker; plus ALSA's PulseAudio plugin, through which capture opens the virtual mic as `--device pulse`.
TOOLS = ("pulseaudio", "pactl", "promtool", "prometheus", "chromium", "espeak-ng", "ffmpeg", "rabbitmqctl",
         "rabbitmq-server")
ALSA_PULSE_PLUGIN = "/usr/lib/*/alsa-lib/libasound_module_pcm_pulse.so"


def make_variable(name: str) -> list[str]:
    result = run("make", "-s", "--no-print-directory", "--eval", f"show: ; @echo $({name})", "show")
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def owner(path: str) -> str:
    result = run("dpkg-query", "-S", os.path.realpath(path))
    assert result.returncode == 0, f"{path} belongs to no Debian package: {result.stderr}"
    return result.stdout.split(":")[0]


def test_the_test_target_installs_test_packages_then_checks_the_broker_and_database() -> None:
    commands = run("make", "-n", "test").stdout.splitlines()
    packages = make_variable("TEST_PACKAGES")
    installs = [i for i, command in enumerate(commands)
                if command == " ".join(["deploy/local/ensure-packages.sh", *packages])]
    assert commands[installs[-1] + 1:installs[-1] + 3] == ["deploy/local/ensure-broker.sh",
                                                          "deploy/local/ensure-postgres.sh"]
    assert set(make_variable("RUN_PACKAGES")) <= set(packages)


def test_the_test_target_builds_the_compose_images_in_the_background_before_the_lint() -> None:
    """The compose test built its images inside the test run: 213 s (and as much CPU) on a fresh machine."""
    commands = run("make", "-n", "test").stdout.splitlines()
    build = next(i for i, command in enumerate(commands) if command.startswith("deploy/testing/build-images.sh"))
    assert commands[build].endswith("&"), commands[build]
    assert build < commands.index(".venv/bin/mypy") < commands.index("deploy/local/ensure-broker.sh")


def test_every_tool_the_tests_drive_comes_from_a_test_package() -> None:
    packages = set(make_variable("TEST_PACKAGES"))
    paths = [shutil.which(tool) or tool for tool in TOOLS] + glob.glob(ALSA_PULSE_PLUGIN)[:1]
    assert len(paths) == len(TOOLS) + 1, "ALSA's PulseAudio plugin is not installed"
    missing = {path: package for path in paths if (package := owner(path)) not in packages}
    assert missing == {}


def test_the_broker_check_returns_at_once_when_rabbitmq_answers() -> None:
    env = {k: v for k, v in os.environ.items() if k != "VOXFRAME_TEST_AMQP_URL"}
    result = run(str(ROOT / "deploy" / "local" / "ensure-broker.sh"), env=env, timeout=10)
    assert (result.returncode, result.stdout) == (0, "")


def test_the_database_check_returns_at_once_when_postgresql_answers() -> None:
    env = {k: v for k, v in os.environ.items() if k != "VOXFRAME_TEST_POSTGRES_URL"}
    result = run(str(ROOT / "deploy" / "local" / "ensure-postgres.sh"), env=env, timeout=10)
    assert (result.returncode, result.stdout) == (0, "")


def test_the_project_builds_without_a_setuptools_deprecation(tmp_path: Path) -> None:
    """`make run` installs the project (pip install -e .) with the newest setuptools, which printed a license table
    deprecation three times into a new user's first run, due to fail builds from 2027-02-18."""
    for name in ("pyproject.toml", "README.md", "LICENSE", "shared/__init__.py"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        shutil.copy(ROOT / name, tmp_path / name)
    result = run(sys.executable, "-W", "always", "-c",
                 "from setuptools import build_meta; build_meta.prepare_metadata_for_build_wheel('.')", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Warning" not in result.stderr
    metadata = next(tmp_path.glob("*.dist-info/METADATA")).read_text()
    assert "License-Expression: MIT" in metadata.splitlines()


def test_each_quiet_install_says_first_what_it_is_doing() -> None:
    """pip runs quiet (-q): a new user's first `make run` printed nothing for over a minute while it installed."""
    commands = run("make", "-n", "-B", ".venv/.installed-test").stdout.splitlines()
    pip = [i for i, command in enumerate(commands) if command.startswith(".venv/bin/python -m pip install")]
    first_of_each_run = [i for i in pip if i - 1 not in pip]
    assert len(first_of_each_run) == 2, commands
    assert all(commands[i - 1].startswith("echo ") for i in first_of_each_run), commands
