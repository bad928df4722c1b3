"""How much speech waits for a transcriber: the depth of the live and the upload audio queues
(shared/bus/depth.py asks the broker)."""

from __future__ import annotations

from shared.bus import Topology
from shared.bus.depth import QueueDepths
from shared.config import BusSettings


class Backlog:
    """Asks the broker how many speech segments wait for a transcriber."""

    def __init__(self, settings: BusSettings) -> None:
        topology = Topology.from_settings(settings)
        self._depths = QueueDepths(settings.amqp_url, (topology.audio.name, topology.job_audio.name),
                                   "display-backlog")

    def segments(self) -> dict[str, int] | None:
        """Each audio queue's waiting segments by name (`live`, `uploads`); None when the broker does not answer."""
        counts = self._depths.counts()
        return None if counts is None else dict(zip(("live", "uploads"), counts, strict=True))

    def close(self) -> None:
        self._depths.close()
