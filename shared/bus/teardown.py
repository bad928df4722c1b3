"""Deleting a namespace from the broker: what tests, benchmarks and the docs' screenshot script leave behind.

No worker calls this; it is the one way the tools that make a namespace of their own take it away again."""

from __future__ import annotations

from collections.abc import Iterable

from pika.adapters.blocking_connection import BlockingChannel

from shared.bus.topology import Topology


def delete_namespace(channel: BlockingChannel, topology: Topology, queues: Iterable[str] = ()) -> None:
    """Delete the namespace's stage queues, `queues` (a display's queue, a test's taps) and both its exchanges.
    Deleting a queue that was never declared is no error, so every stage queue goes whichever were made."""
    for queue in sorted({spec.name for spec in topology.stage_queues()} | set(queues)):
        channel.queue_delete(queue)
    for exchange in (topology.exchange, topology.dead_letter_exchange):
        channel.exchange_delete(exchange)
