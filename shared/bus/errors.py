"""Errors a worker cannot recover from by retrying; the CLI prints them as one line and exits non-zero."""

from shared.errors import ConfigError


class BusConfigError(ConfigError):
    """Wrong URL, bad credentials, missing vhost, or a queue declared elsewhere with other limits."""


class BusStopped(RuntimeError):
    """The bus is shutting down; the message in hand is not acknowledged and will be redelivered."""


class Unprocessable(ValueError):
    """Raised by a handler when the input itself is wrong: retrying cannot help, so the bus dead-letters it
    at once with this message as the reason."""


class PublishRefused(RuntimeError):
    """The broker nacked a confirmed publish (a full `reject-publish` queue, a broker-side failure): worth a retry."""


class MessageTooLarge(Unprocessable):
    """An output is larger than the broker accepts: it can never be published, so its input is dead-lettered."""


class WorkerDied(RuntimeError):
    """The bus's work thread died: the worker cannot work, so it stops (health fails, the process exits 1)."""


class TopologyMissing(RuntimeError):
    """An exchange or queue this broker user may not declare does not exist yet: the worker waits (reconnecting
    with backoff) for a user that may, the display's, to declare it, instead of publishing into the void."""
