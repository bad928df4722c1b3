"""A recording replayed as if it were a microphone: for demos, tests and people without one."""

from __future__ import annotations

import time
from collections.abc import Generator
from pathlib import Path

from services.capture.sources import AudioBlock
from shared.audio import SAMPLE_RATE_HZ, decode_audio
from shared.messages.status import MicKind


class FileSource:
    """Decodes the file once (any format `decode_audio` reads); each `blocks()` call replays it from the start."""

    kind: MicKind = "file"
    stall_seconds: float | None = None  # paced by this process, never waiting on anything

    def __init__(self, path: Path, realtime: bool = True, block_ms: int = 100) -> None:
        self.samples = decode_audio(path)
        self.name = f"file:{path.name}"
        self.realtime = realtime
        self.block_samples = max(1, SAMPLE_RATE_HZ * block_ms // 1000)

    def blocks(self) -> Generator[AudioBlock, None, None]:
        started = time.monotonic()
        for begin in range(0, len(self.samples), self.block_samples):
            block = self.samples[begin:begin + self.block_samples]
            if self.realtime:  # like a mic: a block arrives once its last sample is "heard"; paced by
                # schedule, not by sleeping a block each time, so no drift builds up
                delay = started + (begin + len(block)) / SAMPLE_RATE_HZ - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            yield AudioBlock(block, time.time() - len(block) / SAMPLE_RATE_HZ)
