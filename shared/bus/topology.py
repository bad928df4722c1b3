"""Exchanges and queues of the pipeline: one place that says where every message goes and why."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shared.config import BusSettings

# A quorum queue dead-letters a message redelivered this often (RabbitMQ 4 defaults to 20). Ours are
# redelivered by crashes and reconnects, and by the bus's own requeue after a failure it could not finish.
QUORUM_DELIVERY_LIMIT = 50


@dataclass(frozen=True)
class QueueSpec:
    """A queue, the routing keys bound to it, and its limits (RabbitMQ x-arguments)."""

    name: str
    bindings: tuple[str, ...]
    arguments: dict[str, Any] = field(default_factory=dict)
    exclusive: bool = False

    @property
    def durable(self) -> bool:
        return not self.exclusive


@dataclass(frozen=True)
class Topology:
    """Names derived from one namespace, so test runs and deployments never see each other's messages."""

    namespace: str = "voxframe"
    settings: BusSettings = field(default_factory=BusSettings)

    @classmethod
    def from_settings(cls, settings: BusSettings) -> Topology:
        return cls(namespace=settings.namespace, settings=settings)

    @property
    def exchange(self) -> str:
        return f"{self.namespace}.events"

    @property
    def dead_letter_exchange(self) -> str:
        return f"{self.namespace}.dlx"

    @property
    def _type(self) -> dict[str, Any]:
        """Quorum queues keep every limit below (length with drop-head, TTL, dead-lettering, single active
        consumer) and are replicated; classic ones are the single-node default."""
        if self.settings.queue_type == "classic":
            return {}
        return {"x-queue-type": "quorum", "x-delivery-limit": QUORUM_DELIVERY_LIMIT}

    @property
    def dead(self) -> QueueSpec:
        """Messages nobody could handle, each with the reason in header `x-voxframe-reason`."""
        return QueueSpec(f"{self.namespace}.dead", ("dead.#",), dict(self._type))

    @property
    def dropped(self) -> QueueSpec:
        """Live media dropped as stale or overflowing; kept an hour for inspection, then gone."""
        return QueueSpec(
            f"{self.namespace}.dropped",
            ("dropped.#",),
            {**self._type, "x-max-length": 1000, "x-overflow": "drop-head", "x-message-ttl": 3_600_000},
        )

    def _stage(self, name: str, bindings: tuple[str, ...], max_length: int, ttl_seconds: int,
               dropped_as: str, **extra: Any) -> QueueSpec:
        args = {
            **self._type,
            "x-max-length": max_length,
            "x-overflow": "drop-head",
            "x-message-ttl": ttl_seconds * 1000,
            "x-dead-letter-exchange": self.dead_letter_exchange,
            "x-dead-letter-routing-key": f"dropped.{dropped_as}",
            **extra,
        }
        return QueueSpec(f"{self.namespace}.{name}", bindings, args)

    @property
    def audio(self) -> QueueSpec:
        """Speech segments for the transcribers (competing consumers). Stale audio is dropped, not backlogged."""
        s = self.settings
        return self._stage("audio", ("audio.#",), s.audio_queue_max, s.audio_ttl_seconds, "audio")

    @property
    def job_audio(self) -> QueueSpec:
        """Upload segments for the transcribers, served after live audio: nothing expires or is dropped. When
        full, a publish is refused (nack), but the job owner refuses an upload that would not fit before that."""
        return QueueSpec(f"{self.namespace}.job_audio", ("job.audio.#",),
                         {**self._type, "x-max-length": self.settings.job_audio_queue_max,
                          "x-overflow": "reject-publish"})

    @property
    def prompter(self) -> QueueSpec:
        """Transcripts and controls for the prompter, and finished jobs' texts; single active consumer keeps
        per-room state in one place."""
        s = self.settings
        return self._stage("prompter", ("transcript.#", "control.#", "job.text.#"), s.prompter_queue_max,
                           s.prompter_ttl_seconds, "transcript",
                           **{"x-single-active-consumer": True})

    @property
    def prompts(self) -> QueueSpec:
        """Prompts for the generators (prefetch 1 each); a prompt not painted in time is dropped."""
        s = self.settings
        return self._stage("prompts", ("prompt.#",), s.prompt_queue_max, s.prompt_ttl_seconds, "prompt")

    @property
    def job_prompts(self) -> QueueSpec:
        """Upload jobs' prompts for the generators, served after live ones: a job's prompt never goes stale."""
        return QueueSpec(f"{self.namespace}.job_prompts", ("job.prompt.#",), dict(self._type))

    @property
    def jobs(self) -> QueueSpec:
        """Job transcripts, prompts (or word that there is nothing to paint) and images for the job owner (any
        display: job state is in the shared database); nothing expires or is dropped."""
        return QueueSpec(f"{self.namespace}.jobs", ("job.transcript.#", "job.prompt.#", "job.unpainted.#",
                                                     "job.image.#"),
                         dict(self._type))

    def display(self, display_id: str) -> QueueSpec:
        """One queue per display process, so every display sees every image; deleted when abandoned."""
        s = self.settings
        return self._stage(f"display.{display_id}",
                           ("image.#", "transcript.#", "prompt.#", "status.#", "spoken.#", "job.image.#",
                            "job.progress.#"),
                           s.display_queue_max, 3600, "display",
                           **{"x-expires": s.display_queue_expires_hours * 3_600_000})

    def control(self, room: str) -> QueueSpec:
        """Commands for one capture process, and its room's other mics' notices and statuses (arbitration);
        exclusive, as they only matter while it runs."""
        return QueueSpec("", (f"control.{room}.#", f"heard.{room}.#", f"status.{room}.#"), {}, exclusive=True)

    @property
    def browser_mics(self) -> QueueSpec:
        """Commands and other mics' notices for the browser mics a display serves, in any room (their statuses
        reach it on its display queue), and commands for the display itself (next picture; the settings it shows
        Home Assistant); exclusive, as they only matter while it runs."""
        return QueueSpec("", ("control.#", "heard.#"), {}, exclusive=True)

    def stage_queues(self) -> tuple[QueueSpec, ...]:
        """Queues declared by every worker at start, so nothing is published into the void."""
        return (self.dead, self.dropped, self.audio, self.job_audio, self.prompter, self.prompts, self.job_prompts,
                self.jobs)
