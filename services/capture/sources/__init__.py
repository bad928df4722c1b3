"""Where capture gets sound from: a live microphone, a Wyoming satellite, or a file replayed as one."""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from shared.messages.status import MicKind


@dataclass(frozen=True)
class AudioBlock:
    """Consecutive 16 kHz mono int16 samples and the wall-clock time (epoch seconds) of the first one."""

    samples: np.ndarray
    captured_at: float


class SourceError(RuntimeError):
    """The device failed or vanished; capture logs it and reopens the source with backoff."""


class AudioSource(Protocol):
    name: str  # shown in MicStatus.device
    kind: MicKind  # MicStatus.kind: device, satellite or file

    @property
    def stall_seconds(self) -> float | None:
        """The longest `blocks()` goes without a block before it raises SourceError (None: it never waits)."""
        ...

    def blocks(self) -> Generator[AudioBlock, None, None]:
        """Open the source and yield its audio until it ends (files) or fails with SourceError (devices); capture
        closes the generator when it stops early."""
        ...
