"""Longest test files first, so `make test`'s workers finish together.

`make test` gives each pytest-xdist worker whole files (`--dist loadfile`) in collection order. Begun last, a long
file (the nine-minute upload, the compose stack) kept one worker busy for minutes after the other ran out of work;
pytest-xdist's own order, most tests first, put exactly those one-test files last. So files are collected in the
order of the seconds they took in a measured run (tests/data/file_seconds.json), longest first; a file not measured
yet goes last, in pytest's order.

Refresh the measure after a run that wrote a JUnit report (`pytest --junitxml=report.xml`):
    python -m tests.file_order report.xml
"""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

import pytest

SECONDS = Path(__file__).parent / "data" / "file_seconds.json"


def file_seconds() -> dict[str, float]:
    """Seconds per test file (its path from the repository root), as measured."""
    return json.loads(SECONDS.read_text()) if SECONDS.exists() else {}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    measured = file_seconds()
    # sort is stable: a file's tests keep their order, and files of equal weight pytest's
    items.sort(key=lambda item: -measured.get(item.nodeid.split("::", 1)[0], 0.0))


def measure(report: Path) -> dict[str, float]:
    """Seconds per file from a JUnit report: its tests' times, which pytest counts with their fixtures' set-up."""
    seconds: defaultdict[str, float] = defaultdict(float)
    for case in ET.parse(report).iter("testcase"):
        path = case.get("classname", "").replace(".", "/")
        while path and not Path(f"{path}.py").exists():  # a test class's name follows its module's
            path = path.rpartition("/")[0]
        if path:
            seconds[f"{path}.py"] += float(case.get("time", 0))
    return {name: round(s, 1) for name, s in sorted(seconds.items(), key=lambda kv: -kv[1])}


if __name__ == "__main__":
    SECONDS.write_text(json.dumps(measure(Path(sys.argv[1])), indent=0) + "\n")
