"""Errors that mean the configuration is wrong: the CLI prints them as one line and exits 2, no traceback."""

from collections.abc import Callable

from pydantic import ValidationError
from pydantic_core import ErrorDetails

SHOWN_ERRORS = 5  # a line, not a page: the rest are counted


class ConfigError(RuntimeError):
    """Something the user must change (a URL, a credential, a port) before the worker can run."""


def describe_validation_error(exc: ValidationError) -> str:
    """A message's pydantic error on one line, each field by its location in the message."""
    return f"{exc.error_count()} validation error(s): " + each_error(exc, _located)


def each_error(exc: ValidationError, describe: Callable[[ErrorDetails], str]) -> str:
    """The first few of `exc`'s errors as `describe` puts each, on one line, and how many more there are."""
    more = exc.error_count() - SHOWN_ERRORS
    return "; ".join(describe(e) for e in exc.errors()[:SHOWN_ERRORS]) + (f" (and {more} more)" if more > 0 else "")


def _located(error: ErrorDetails) -> str:
    return f"{'.'.join(str(p) for p in error['loc']) or '(message)'}: {error['msg']}"
