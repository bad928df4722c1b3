"""A small layer over pika so no service touches AMQP directly.

    bus = Bus("transcriber")
    bus.consume(bus.topology.audio, {AudioSegment: handle}, prefetch=2)   # handle(msg) -> outputs
    bus.every(1.0, tick)                                                   # tick() -> outputs
    bus.run()                                                              # until SIGTERM/SIGINT
"""

from shared.bus._wire import Handler, Outputs
from shared.bus.bus import REASON_HEADER, Bus
from shared.bus.connection import check_broker
from shared.bus.errors import BusConfigError, BusStopped, PublishRefused, Unprocessable
from shared.bus.topology import QueueSpec, Topology

__all__ = ["REASON_HEADER", "Bus", "BusConfigError", "BusStopped", "Handler", "Outputs", "PublishRefused", "QueueSpec",
           "Topology", "Unprocessable", "check_broker"]
