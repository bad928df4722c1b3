"""How many messages wait in named queues, asked of the broker by a passive declare (which needs no right to
configure them, and changes nothing).

On a connection of its own, without heartbeats: a bus's connection belongs to its thread, and this is asked only
now and then from another. A broker away is an unknown depth (None), not an error.
"""

from __future__ import annotations

import contextlib
import logging

import pika
import pika.exceptions
from pika.adapters.blocking_connection import BlockingChannel

from shared.bus.connection import Nodes, parameters

_LOGGER = logging.getLogger(__name__)


class QueueDepths:
    """Asks the broker for the depth of `queues`, reconnecting on the next ask after a failure."""

    def __init__(self, amqp_url: str, queues: tuple[str, ...], client_name: str) -> None:
        self.queues = queues
        self._nodes = Nodes(parameters(amqp_url, client_name, 0))
        self._connection: pika.BlockingConnection | None = None

    def counts(self) -> tuple[int, ...] | None:
        """Each queue's waiting messages, in the order of `queues`; None when the broker does not answer."""
        try:
            channel = self._channel()
            counts = tuple(channel.queue_declare(name, passive=True).method.message_count for name in self.queues)
            channel.close()
        except (pika.exceptions.AMQPError, OSError) as exc:
            _LOGGER.debug("depth of %s unknown: %r", ", ".join(self.queues), exc)
            self.close()
            return None
        return counts

    def _channel(self) -> BlockingChannel:
        if self._connection is None or not self._connection.is_open:
            self._connection = _connect(self._nodes)
        return self._connection.channel()

    def close(self) -> None:
        if self._connection is not None and self._connection.is_open:
            with contextlib.suppress(pika.exceptions.AMQPError, OSError):
                self._connection.close()
        self._connection = None


def _connect(nodes: Nodes) -> pika.BlockingConnection:
    """The first node that answers; the last failure raised when none does."""
    failure: Exception = pika.exceptions.AMQPConnectionError("no broker node")
    for params in nodes.rotation():
        try:
            return pika.BlockingConnection(params)
        except (pika.exceptions.AMQPError, OSError) as exc:
            failure = exc
    raise failure
