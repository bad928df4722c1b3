"""Errors that mean the configuration is wrong: the CLI prints them as one line and exits 2, no traceback."""


class ConfigError(RuntimeError):
    """Something the user must change (a URL, a credential, a port) before the worker can run."""
