"""make test's order: the longest test files first, by their measured seconds (tests/file_order.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.file_order import file_seconds, measure


def test_files_are_collected_longest_first(pytester: pytest.Pytester) -> None:
    """pytest-xdist's own order (most tests first) began the one-test files last, the nine-minute upload among them:
    one worker ran it for minutes after the other had run out of work."""
    pytester.makepyfile(test_quick="def test_a(): pass\ndef test_b(): pass\ndef test_c(): pass",
                        test_z_long="def test_one(): pass", test_unmeasured="def test_new(): pass")
    pytester.makepyfile(conftest='pytest_plugins = ["tests.file_order"]')
    pytester.syspathinsert(Path(__file__).parent.parent)
    seconds = {"test_z_long.py": 300.0, "test_quick.py": 2.0}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("tests.file_order.file_seconds", lambda: seconds)
        _, recorded = pytester.inline_genitems()
    (collected,) = recorded.getcalls("pytest_collection_modifyitems")
    assert [item.nodeid for item in collected.items] == ["test_z_long.py::test_one", "test_quick.py::test_a",
                                               "test_quick.py::test_b", "test_quick.py::test_c",
                                               "test_unmeasured.py::test_new"]


def test_a_junit_report_gives_each_files_seconds(tmp_path: Path) -> None:
    report = tmp_path / "report.xml"
    report.write_text('<testsuites><testsuite><testcase classname="tests.test_cli" name="a" time="1.5"/>'
                      '<testcase classname="tests.test_cli" name="b" time="2.0"/>'
                      '<testcase classname="tests.test_file_order" name="c" time="0.25"/></testsuite></testsuites>')
    assert measure(report) == {"tests/test_cli.py": 3.5, "tests/test_file_order.py": 0.2}


def test_the_measure_names_files_that_exist() -> None:
    assert file_seconds() and all(Path(name).is_file() for name in file_seconds())
