"""Errors that mean the configuration is wrong: the CLI prints them as one line and exits 2, no traceback."""

from pydantic import ValidationError


class ConfigError(RuntimeError):
    """Something the user must change (a URL, a credential, a port) before the worker can run."""


def describe_validation_error(exc: ValidationError) -> str:
    """A pydantic error on one line: the first few fields and what is wrong with each."""
    parts = [f"{'.'.join(str(p) for p in e['loc']) or '(message)'}: {e['msg']}" for e in exc.errors()[:5]]
    return f"{exc.error_count()} validation error(s): " + "; ".join(parts)
