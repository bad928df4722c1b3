"""shared.retry's reading of Retry-After, in both of the forms RFC 9110 allows."""

from __future__ import annotations

import email.utils

import pytest

from shared.retry import retry_after_seconds


@pytest.mark.parametrize(("header", "seconds"), [("7", 7.0), ("0", 0.0), ("-3", 0.0), ("", None), (None, None),
                                                  ("soon", None)])
def test_delta_seconds_and_what_is_not_a_wait(header: str | None, seconds: float | None) -> None:
    assert retry_after_seconds(header) == seconds


def test_an_http_date_is_the_time_until_it() -> None:
    now = 1_800_000_000.0
    header = email.utils.formatdate(now + 90, usegmt=True)
    assert retry_after_seconds(header, now=now) == pytest.approx(90.0)
    assert retry_after_seconds(email.utils.formatdate(now - 90, usegmt=True), now=now) == 0.0
