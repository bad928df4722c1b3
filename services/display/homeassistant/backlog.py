"""How much speech waits for a transcriber: the depth of the live and the upload audio queues, asked of the broker
by a passive declare (which needs no right to configure them, and changes nothing).

On a connection of its own, without heartbeats: the bus's connection belongs to its thread, and this one is asked
only every few seconds from the Home Assistant bridge's. A broker away is an unknown backlog (None), not an error.
"""

from __future__ import annotations

import contextlib
import logging

import pika
import pika.exceptions
from pika.adapters.blocking_connection import BlockingChannel

from shared.bus import Topology
from shared.bus.connection import Nodes, parameters
from shared.config import BusSettings

_LOGGER = logging.getLogger(__name__)


class Backlog:
    """Asks the broker how many speech segments wait for a transcriber."""

    def __init__(self, settings: BusSettings) -> None:
        topology = Topology.from_settings(settings)
        self.queues = (topology.audio.name, topology.job_audio.name)
        self._nodes = Nodes(parameters(settings.amqp_url, "display-backlog", 0))
        self._connection: pika.BlockingConnection | None = None

    def segments(self) -> dict[str, int] | None:
        """Each audio queue's waiting segments by name (`live`, `uploads`); None when the broker does not answer."""
        try:
            channel = self._channel()
            live, uploads = (channel.queue_declare(name, passive=True).method.message_count for name in self.queues)
            channel.close()
        except (pika.exceptions.AMQPError, OSError) as exc:
            _LOGGER.debug("transcriber backlog unknown: %r", exc)
            self.close()
            return None
        return {"live": live, "uploads": uploads}

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
