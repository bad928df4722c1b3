"""A capture process's mic: the shared `LiveMic` (segments, mute, status) plus this process's gauges and the
optional WAV record of every segment."""

from __future__ import annotations

from pathlib import Path

import soundfile

from services.capture.metrics import LEVEL_DBFS, MUTED, SEGMENTS_CUT, SPEECH_RATIO, VAD_SECONDS
from services.capture.sources import AudioBlock
from shared.audio import SAMPLE_RATE_HZ, Segmenter, SpeechSegment
from shared.audio.mic import LiveMic
from shared.messages import AudioSegment, MicStatus


class CaptureHandler(LiveMic):
    """`on_audio` runs on the capture thread; `on_control` and `status` on the bus's work thread."""

    def __init__(self, room: str, mic: str, segmenter: Segmenter, record_dir: Path | None = None,
                 muted: bool = False) -> None:
        super().__init__(room, mic, segmenter, muted=muted)
        self.record_dir = record_dir

    def on_audio(self, block: AudioBlock) -> list[AudioSegment]:
        vad_before = self.segmenter.vad_seconds
        messages = self.hear(block.samples, block.captured_at)
        VAD_SECONDS.inc(self.segmenter.vad_seconds - vad_before)
        return messages

    def status(self) -> MicStatus:
        status = super().status()
        LEVEL_DBFS.set(status.level_dbfs)
        SPEECH_RATIO.set(status.speech_ratio)
        return status

    def _muted_changed(self, muted: bool) -> None:
        MUTED.set(int(muted))

    def _cut(self, message: AudioSegment, segment: SpeechSegment) -> None:
        SEGMENTS_CUT.labels(segment.end_reason.value).inc()
        if self.record_dir is not None:
            name = f"{self.room}_{self.mic}_{message.start_at:%Y%m%dT%H%M%S}_{message.sequence:06d}.wav"
            self.record_dir.mkdir(parents=True, exist_ok=True)
            soundfile.write(self.record_dir / name, segment.samples, SAMPLE_RATE_HZ, subtype="PCM_16")
