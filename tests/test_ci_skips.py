"""A skipped test fails the run under CI (any skip: a missing tool, recording, module), and only there."""

from __future__ import annotations

import pytest

SKIPPING = """
import pytest

pytest.importorskip("a_module_nobody_installed")
"""

SKIPPING_TEST = """
import shutil
import pytest

@pytest.mark.skipif(shutil.which("a-tool-nobody-installed") is None, reason="a-tool is not installed")
def test_needs_the_tool():
    pass

def test_needs_a_file():
    pytest.skip("recordings not found")

@pytest.mark.xfail(reason="known", strict=True)
def test_known_failure():
    assert False
"""


@pytest.mark.parametrize("ci", ["true", "1"])
def test_every_skip_fails_under_ci(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, ci: str) -> None:
    monkeypatch.setenv("CI", ci)
    pytester.makepyfile(test_tool=SKIPPING_TEST)
    result = pytester.runpytest("-p", "tests.ci_skips", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=1, errors=1, xfailed=1)  # a skip in setup (skipif, fixtures) reads as an error
    result.stdout.fnmatch_lines(["*skipped in CI, which counts as a failure*a-tool is not installed*",
                                 "*skipped in CI, which counts as a failure*recordings not found*"])
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_a_module_skipped_at_import_fails_under_ci(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    pytester.makepyfile(test_module=SKIPPING)
    result = pytester.runpytest("-p", "tests.ci_skips", "-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*skipped in CI, which counts as a failure*a_module_nobody_installed*"])
    assert result.ret != pytest.ExitCode.OK


def test_outside_ci_a_skip_stays_a_skip(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "false")
    pytester.makepyfile(test_tool=SKIPPING_TEST, test_module=SKIPPING)
    result = pytester.runpytest("-p", "tests.ci_skips", "-p", "no:cacheprovider")
    result.assert_outcomes(skipped=3, xfailed=1)
    assert result.ret == pytest.ExitCode.OK
