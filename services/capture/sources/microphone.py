"""A live input device through PortAudio (sounddevice), converted to 16 kHz mono whatever its native format."""

from __future__ import annotations

import logging
import queue
import time
from collections.abc import Callable, Generator
from typing import Any

import numpy as np
import sounddevice

from services.capture.metrics import INPUT_OVERFLOWS
from services.capture.sources import AudioBlock, SourceError
from shared.audio import StreamConverter
from shared.messages.status import MicKind

_LOGGER = logging.getLogger(__name__)
_QUEUE_SECONDS = 5.0  # audio held between the device callback and the segmenter before blocks are dropped


def list_devices() -> str:
    """Input devices as `voxframe capture --list-devices` prints them."""
    lines = []
    for index, info in enumerate(sounddevice.query_devices()):
        if info["max_input_channels"] > 0:
            lines.append(f"{index:3d}  {info['name']}  ({info['max_input_channels']} ch, "
                         f"{info['default_samplerate']:.0f} Hz)")
    return "\n".join(lines) or "no input devices found"


class Microphone:
    """Opens the device on each `blocks()` call; a device that errors or goes quiet raises SourceError.

    `device` is an index or a name substring (None: the system default). Rate and channel count default to
    the device's own, and the blocks are resampled with soxr and mixed down here, off the audio thread.
    """

    kind: MicKind = "device"

    def __init__(self, device: str | int | None = None, rate_hz: int | None = None,
                 channels: int | None = None, block_ms: int = 100, stall_seconds: float = 2.0) -> None:
        self.device = int(device) if isinstance(device, str) and device.isdigit() else device
        self.rate_hz = rate_hz
        self.channels = channels
        self.block_ms = block_ms
        self.stall_seconds = stall_seconds
        self.name = str(device or "default")
        self._rescan = False

    def blocks(self) -> Generator[AudioBlock, None, None]:
        stream, converter, blocks = self._open()
        try:
            while True:
                try:
                    data, captured_at = blocks.get(timeout=self.stall_seconds)
                except queue.Empty:
                    raise SourceError(f"no audio from {self.name} for {self.stall_seconds:.0f} s") from None
                yield AudioBlock(converter.convert(data), captured_at)
        finally:
            stream.abort()  # not stop(): stop() waits for buffers a vanished device never delivers
            stream.close()

    def _open(self) -> tuple[sounddevice.InputStream, StreamConverter, queue.Queue[tuple[np.ndarray, float]]]:
        if self._rescan:  # PortAudio lists devices once; a replugged device may have a new index
            sounddevice._terminate()
            sounddevice._initialize()
        self._rescan = True
        try:
            info = sounddevice.query_devices(self.device, "input")
            rate_hz = self.rate_hz or int(info["default_samplerate"])
            channels = self.channels or self._channels_for(info, rate_hz)
            self.name = info["name"]
            blocks: queue.Queue[tuple[np.ndarray, float]] = queue.Queue(
                maxsize=max(1, int(_QUEUE_SECONDS * 1000 / self.block_ms)))
            stream = sounddevice.InputStream(
                device=self.device, samplerate=rate_hz, channels=channels, dtype="float32",
                blocksize=rate_hz * self.block_ms // 1000, callback=self._callback(blocks, rate_hz))
            stream.start()
        except (sounddevice.PortAudioError, ValueError) as exc:
            raise SourceError(f"cannot open input device {self.device or 'default'!s}: {exc}") from exc
        _LOGGER.info("Capturing from %r at %d Hz, %d channel(s)", self.name, rate_hz, channels)
        return stream, StreamConverter(rate_hz, channels), blocks

    def _channels_for(self, info: dict[str, Any], rate_hz: int) -> int:
        """Mono where the device offers it (less to convert), else its first two channels, mixed down later."""
        try:
            sounddevice.check_input_settings(self.device, channels=1, samplerate=rate_hz)
            return 1
        except (sounddevice.PortAudioError, ValueError):
            return min(2, int(info["max_input_channels"]))

    @staticmethod
    def _callback(blocks: queue.Queue[tuple[np.ndarray, float]],
                  rate_hz: int) -> Callable[[np.ndarray, int, Any, sounddevice.CallbackFlags], None]:
        def on_audio(indata: np.ndarray, frames: int, when: Any, status: sounddevice.CallbackFlags) -> None:
            # PortAudio's thread: copy and hand over, nothing else (no logging, no bus).
            if status.input_overflow:
                INPUT_OVERFLOWS.inc()
            # The block's first sample was captured one block ago at the latest; how much earlier is the stream
            # clock's to work out (`shared.audio.clock`). PortAudio's own latency figure (inputBufferAdcTime) is
            # not used: through ALSA's PulseAudio plugin on a busy machine it jumped by up to 0.9 s for seconds on
            # end, and one mic's timeline then slid against its room's others.
            captured_at = time.time() - frames / rate_hz
            try:
                blocks.put_nowait((indata.copy(), captured_at))
            except queue.Full:
                INPUT_OVERFLOWS.inc()
        return on_audio
