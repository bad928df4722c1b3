"""Declaring the topology with whatever rights the broker user has.

With one broker user per role (deploy/rabbitmq/definitions.template.json) only the display's user may declare the
shared exchanges and stage queues; the others may declare their own exclusive queues and nothing else. So each
worker declares what its user may (a queue that exists with other limits is then refused with 406 and said so),
checks that the rest exists, and waits while it does not, rather than publishing into the void. With one user
that may do everything (guest on a single machine) every worker declares everything, as before.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import pika
import pika.exceptions
from pika.adapters.blocking_connection import BlockingChannel

from shared.bus.errors import TopologyMissing
from shared.bus.topology import QueueSpec, Topology

ACCESS_REFUSED = 403
NOT_FOUND = 404

_declaring = threading.local()


class _ExpectedRefusals(logging.Filter):
    """pika logs every channel the broker closes as a warning; the refusals met while declaring are expected
    (the worker says once what it waits for), so they are not logged on the declaring thread."""

    def filter(self, record: logging.LogRecord) -> bool:
        expected = getattr(_declaring, "active", False)
        return not (expected and str(record.msg).startswith("Received remote Channel.Close"))


logging.getLogger("pika.channel").addFilter(_ExpectedRefusals())


class Declarer:
    """Declares on one channel, opening a new one whenever the broker closes it for a refusal."""

    def __init__(self, connection: pika.BlockingConnection) -> None:
        self._connection = connection
        self.channel: BlockingChannel = connection.channel()
        self.missing: list[str] = []
        self._done: set[str] = set()  # queues declared or checked already (a consumed stage queue is both)

    def topology(self, topology: Topology, consumed: list[QueueSpec]) -> list[str]:
        """The exchanges, every stage queue and the `consumed` ones; returns the consumed queues' names.
        Raises TopologyMissing if something this user may not declare is not there yet."""
        for exchange in (topology.exchange, topology.dead_letter_exchange):
            self.exchange(exchange)
        dead_letters = (topology.dead, topology.dropped)
        for spec in topology.stage_queues():
            self.queue(spec, topology.dead_letter_exchange if spec in dead_letters else topology.exchange)
        self._raise_if_missing()  # before the consumed queues: an exclusive one's bind to a missing exchange is a 404
        names = [self.queue(spec, topology.exchange) for spec in consumed]
        self._raise_if_missing()
        return names

    def _raise_if_missing(self) -> None:
        if self.missing:
            raise TopologyMissing(f"waiting for {', '.join(self.missing)}: this broker user may not declare them "
                                  "(with one user per role the display's user declares the topology)")

    def exchange(self, name: str) -> None:
        self._declare(f"exchange {name}",
                      lambda ch: ch.exchange_declare(name, exchange_type="topic", durable=True),
                      lambda ch: ch.exchange_declare(name, passive=True))

    def queue(self, spec: QueueSpec, exchange: str) -> str:
        """Declare and bind `spec`; where refused, check it exists (its declarer binds it). A server-named
        exclusive queue is this process's own: a refusal there is the user's misconfiguration, raised."""

        def declare(channel: BlockingChannel) -> str:
            name: str = channel.queue_declare(spec.name, durable=spec.durable, exclusive=spec.exclusive,
                                              auto_delete=False, arguments=spec.arguments or None).method.queue
            for key in spec.bindings:
                channel.queue_bind(name, exchange, routing_key=key)
            return name

        if spec.exclusive:
            return declare(self.channel)
        if spec.name not in self._done:
            self._declare(f"queue {spec.name}", declare, lambda ch: ch.queue_declare(spec.name, passive=True))
            self._done.add(spec.name)
        return spec.name

    def _declare(self, what: str, declare: Callable[[BlockingChannel], Any],
                 exists: Callable[[BlockingChannel], Any]) -> None:
        if self._refused(declare, ACCESS_REFUSED) and self._refused(exists, NOT_FOUND):
            self.missing.append(what)

    def _refused(self, step: Callable[[BlockingChannel], Any], code: int) -> bool:
        """Run `step`; true if the broker refused it with `code` (any other refusal is raised)."""
        _declaring.active = True
        try:
            step(self.channel)
        except pika.exceptions.ChannelClosedByBroker as exc:
            if exc.reply_code != code:
                raise
            self.channel = self._connection.channel()
            return True
        finally:
            _declaring.active = False
        return False
