"""Errors a worker cannot recover from by retrying; the CLI prints them as one line and exits non-zero."""

from shared.errors import ConfigError


class BusConfigError(ConfigError):
    """Wrong URL, bad credentials, missing vhost, or a queue declared elsewhere with other limits."""


class BusStopped(RuntimeError):
    """The bus is shutting down; the message in hand is not acknowledged and will be redelivered."""


class Unprocessable(ValueError):
    """Raised by a handler when the input itself is wrong: retrying cannot help, so the bus dead-letters it
    at once with this message as the reason."""
