"""The worker image, checked without a Docker engine: hadolint, and what a build would trip over."""

from __future__ import annotations

import fnmatch
import re
import shlex
import shutil
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from tests.deploy.conftest import ROOT, need, run

DOCKERFILE = ROOT / "deploy" / "docker" / "Dockerfile"
SKIP_DIRS = {".git", ".venv", "node_modules", "build"}


def dockerfiles() -> list[Path]:
    found = [p for p in ROOT.rglob("Dockerfile*")
             if not SKIP_DIRS & set(p.relative_to(ROOT).parts) and not p.name.endswith(".dockerignore")]
    return sorted(found)


def instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", "\n".join(line for line in path.read_text().splitlines()
                                         if not line.lstrip().startswith("#")))
    return [(m[1].upper(), m[2].strip()) for m in re.finditer(r"^\s*(\w+)\s+(.*)$", text, re.MULTILINE)]


def runtime_stage(path: Path) -> list[tuple[str, str]]:
    steps = instructions(path)
    last_from = max(i for i, (op, _) in enumerate(steps) if op == "FROM")
    return steps[last_from:]


@pytest.mark.parametrize("dockerfile", dockerfiles(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_dockerfile_is_hadolint_clean(dockerfile: Path) -> None:
    result = run(need("hadolint"), str(dockerfile))
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_does_flag_a_careless_dockerfile(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN apt-get update && apt-get install -y curl\nRUN cd /app && pip install x\n")
    result = run(need("hadolint"), str(bad))
    assert result.returncode != 0
    assert {"DL3007", "DL3008", "DL3003"} <= set(re.findall(r"DL\d{4}", result.stdout))


def test_build_context_holds_every_file_the_image_copies() -> None:
    ignored = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")]
    for op, args in instructions(DOCKERFILE):
        if op != "COPY" or "--from=" in args:
            continue
        for source in [a for a in shlex.split(args) if not a.startswith("--")][:-1]:
            assert (ROOT / source).exists(), f"COPY {source}: missing from the repository; the build would fail"
            hits = [p for p in ignored if fnmatch.fnmatch(source, p) or source.startswith(p.rstrip("/") + "/")]
            assert not hits, f"COPY {source} is excluded from the build context by .dockerignore {hits}"


def test_image_runs_as_a_non_root_user_with_a_healthcheck_on_a_pinned_base() -> None:
    steps = instructions(DOCKERFILE)
    base = next(args for op, args in steps if op == "ARG")
    assert re.fullmatch(r"PYTHON_IMAGE=python:3\.11\.\d+-slim-bookworm@sha256:[0-9a-f]{64}", base), base
    assert all(args.startswith("${PYTHON_IMAGE}") for op, args in steps if op == "FROM")
    runtime = runtime_stage(DOCKERFILE)
    user = [args for op, args in runtime if op == "USER"][-1]
    assert user.split(":")[0] not in {"0", "root"}, user
    healthcheck = [args for op, args in runtime if op == "HEALTHCHECK"]
    assert healthcheck and "healthcheck.py" in healthcheck[0]
    assert [args for op, args in runtime if op == "ENTRYPOINT"] == ['["voxframe"]']


def test_runtime_stage_installs_the_system_libraries_the_workers_load() -> None:
    apt = " ".join(args for op, args in runtime_stage(DOCKERFILE) if op == "RUN" and "apt-get install" in args)
    for package in ("libportaudio2", "libsndfile1", "ffmpeg", "fonts-dejavu-core", "espeak-ng"):
        assert re.search(rf"\b{re.escape(package)}\b", apt), package
    assert "--no-install-recommends" in apt and "rm -rf /var/lib/apt/lists/*" in apt


def test_the_installed_package_carries_every_file_the_workers_load(tmp_path: Path) -> None:
    """What `pip install .` in the image gets, built from exactly the files the Dockerfile copies."""
    copied = [a for op, args in instructions(DOCKERFILE) if op == "COPY" and "--from=" not in args
              for a in shlex.split(args)[:-1] if (ROOT / a).exists() and a != "deploy/docker/healthcheck.py"]
    source = tmp_path / "src"
    for name in copied:
        target = source / name
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, target)
    result = run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                 str(tmp_path / "wheel"), str(source), timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    (wheel,) = (tmp_path / "wheel").glob("*.whl")
    packaged = set(zipfile.ZipFile(wheel).namelist())
    wanted = {str(p.relative_to(source)) for p in source.rglob("*")
              if p.is_file() and p.parts[len(source.parts)] in {"shared", "services"}}
    assert sorted(wanted - packaged) == []
    entry_points = zipfile.ZipFile(wheel).read(next(n for n in packaged if n.endswith("entry_points.txt"))).decode()
    for stage in ("capture", "transcriber", "prompter", "generator", "display"):
        assert f"{stage} = services.{stage}.__main__:add_command" in entry_points


LOCK = ROOT / "deploy" / "docker" / "requirements.lock"


def test_dependencies_are_installed_from_the_lock_before_the_source_is_copied() -> None:
    """A code edit must not reinstall every dependency: their layer comes before the first COPY of the code."""
    steps = instructions(DOCKERFILE)
    build = steps[:len(steps) - len(runtime_stage(DOCKERFILE))]
    copies_code = next(i for i, (op, args) in enumerate(build)
                       if op == "COPY" and re.search(r"\b(shared|services)\b", args))
    installs_lock = next(i for i, (op, args) in enumerate(build) if op == "RUN" and "-r requirements.lock" in args)
    assert installs_lock < copies_code


def test_the_lock_pins_every_dependency_within_what_pyproject_admits() -> None:
    from packaging.requirements import Requirement

    declared = [Requirement(r) for r in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]]
    def normal(name: str) -> str:
        return re.sub(r"[-_.]+", "-", name).lower()

    pins = {normal(name): version for name, version in
            (line.split("==") for line in LOCK.read_text().splitlines() if line and not line.startswith("#"))}
    for requirement in declared:
        name = normal(requirement.name)
        assert name in pins, f"{requirement.name} is not in the lock: run sh deploy/docker/lock.sh"
        assert requirement.specifier.contains(pins[name]), f"lock has {name}=={pins[name]}, pyproject {requirement}"


def test_faster_whisper_is_pinned_to_releases_that_ship_the_silero_v6_model() -> None:
    """shared/audio/vad.py loads assets/silero_vad_v6.onnx; 1.1.x and 1.2.0 ship only v5's encoder/decoder."""
    from packaging.requirements import Requirement

    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    whisper = next(Requirement(r) for r in deps if r.startswith("faster-whisper"))
    assert not whisper.specifier.contains("1.2.0") and not whisper.specifier.contains("1.1.1")
    assert whisper.specifier.contains("1.2.1")
