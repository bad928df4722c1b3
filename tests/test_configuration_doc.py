"""docs/configuration.md lists exactly the `VOXFRAME_*` variables the code reads: each with the workers that read
it and the default they use, so a setting added, renamed or re-defaulted without its row fails here."""

from __future__ import annotations

import re
from enum import Enum
from pathlib import Path

from pydantic import AliasChoices, SecretStr
from pydantic_settings import BaseSettings

from services.capture.__main__ import CaptureSettings
from services.display.settings import DisplaySettings
from services.generator.__main__ import GeneratorSettings, GpuServerSettings
from services.prompter.__main__ import PrompterSettings
from services.transcriber.__main__ import TranscriberSettings
from shared.config import BusSettings

REPO = Path(__file__).resolve().parents[1]
TABLE = REPO / "docs" / "configuration.md"
EMPTY = "*(empty)*"

WORKER_SETTINGS: dict[str, type[BaseSettings]] = {
    "all": BusSettings, "capture": CaptureSettings, "transcriber": TranscriberSettings,
    "prompter": PrompterSettings, "generator": GeneratorSettings, "gpu-server": GpuServerSettings,
    "display": DisplaySettings,
}
ENV_READ = re.compile(r"""os\.environ(?:\.get\(|\[)\s*["'](VOXFRAME_\w+)["']""")

Row = tuple[str, str]  # (variable, worker)


def as_written(value: object) -> str:
    """A default as one would write it in the environment; "" for none."""
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def env_names(settings: type[BaseSettings], field: str) -> list[str]:
    alias = settings.model_fields[field].validation_alias
    if isinstance(alias, AliasChoices):
        return [c for c in alias.choices if isinstance(c, str) and c.isupper()]
    return [f"{settings.model_config.get('env_prefix', '')}{field}".upper()]


def code_defaults() -> dict[Row, str]:
    defaults: dict[Row, str] = {}
    for worker, settings in WORKER_SETTINGS.items():
        for field, info in settings.model_fields.items():
            for name in env_names(settings, field):
                defaults[(name, worker)] = as_written(info.get_default(call_default_factory=True))
    return defaults


def table_defaults() -> dict[Row, str]:
    rows: dict[Row, str] = {}
    for line in TABLE.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not line.startswith("| `VOXFRAME_") or len(cells) < 4:
            continue
        names, workers, default = re.findall(r"`([A-Z_]+)`", cells[0]), cells[1].split(", "), cells[2]
        written = re.fullmatch(r"`([^`]*)`", default)
        assert default == EMPTY or written, f"{names}: the default is {EMPTY} or one `value`, not {default!r}"
        for name in names:
            for worker in workers:
                assert (name, worker) not in rows, f"{name} is listed twice for {worker}"
                rows[(name, worker)] = written.group(1) if written else ""
    return rows


def environ_reads() -> set[str]:
    """Variables read straight from os.environ, outside the settings classes."""
    return {name for folder in ("shared", "services") for path in (REPO / folder).rglob("*.py")
            for name in ENV_READ.findall(path.read_text())}


def test_every_setting_is_in_the_table_with_its_default() -> None:
    documented = table_defaults()
    missing = sorted(row for row in code_defaults() if row not in documented)
    wrong = {row: (default, documented[row]) for row, default in code_defaults().items()
             if row in documented and documented[row] != default}
    assert not missing, f"read by the code, missing from docs/configuration.md: {missing}"
    assert not wrong, f"default in the code vs in docs/configuration.md: {wrong}"


def test_the_table_lists_nothing_the_code_does_not_read() -> None:
    code, direct = code_defaults(), environ_reads()
    unread = sorted(row for row in table_defaults() if row not in code and row[0] not in direct)
    assert not unread, f"in docs/configuration.md, read by no such worker: {unread}"


def test_variables_read_outside_settings_are_in_the_table() -> None:
    listed = {name for name, _ in table_defaults()}
    assert environ_reads() - listed == set()


def test_every_settings_class_is_checked() -> None:
    """A new settings class is checked only once it is in WORKER_SETTINGS."""
    declared = {match for folder in ("shared", "services") for path in (REPO / folder).rglob("*.py")
                for match in re.findall(r"^class (\w+)\(\w*Settings(?:, \w*Settings)*\):", path.read_text(),
                                        re.MULTILINE)}
    # the parts of workers' settings, checked through them: DiffusersSettings (generator, gpu-server),
    # HttpServerSettings (gpu-server, display) and MetricsServerSettings (the four bus workers)
    checked = {settings.__name__ for settings in WORKER_SETTINGS.values()} | {
        "DiffusersSettings", "HttpServerSettings", "MetricsServerSettings"}
    assert declared == checked
