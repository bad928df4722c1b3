"""Sound in, messages out: blocks → segmenter → AudioSegment; Control → mute; once a second → MicStatus."""

from __future__ import annotations

import logging
import math
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import soundfile
from prometheus_client import Counter, Gauge

from services.capture.sources import AudioBlock
from shared.audio import SAMPLE_RATE_HZ, Segmenter, SpeechSegment
from shared.messages import AudioSegment, Command, Control, EndReason, MicStatus

_LOGGER = logging.getLogger(__name__)

LEVEL_DBFS = Gauge("voxframe_capture_input_level_dbfs", "RMS input level over the last status interval")
SPEECH_RATIO = Gauge("voxframe_capture_speech_ratio", "Share of the last status interval the VAD called speech")
MUTED = Gauge("voxframe_capture_muted", "1 while the mic is muted")
VAD_SECONDS = Counter("voxframe_capture_vad_seconds_total", "CPU time spent in voice activity detection")
SEGMENTS_CUT = Counter("voxframe_capture_segments_cut_total", "Speech segments cut from the input", ["end_reason"])

SILENT_DBFS = -100.0  # the floor reported for digital silence (log of zero)


class CaptureHandler:
    """One mic's capture state. `on_audio`/`end_stream` run on the capture thread; `on_control` and
    `status` on the bus's work thread, so the few fields both touch are guarded by a lock. A mute takes
    effect before the next block is fed: the utterance in progress is sent (end_reason muted), nothing after."""

    def __init__(self, room: str, mic: str, segmenter: Segmenter, record_dir: Path | None = None) -> None:
        self.room = room
        self.mic = mic
        self.segmenter = segmenter
        self.record_dir = record_dir
        self.device = ""
        self.kind = "device"  # the source's kind (MicStatus.kind)
        self._sequence = 0
        self._lock = threading.Lock()
        self._mute_wanted = False
        self._muted = False
        self._sum_squares = 0.0
        self._samples = 0
        self._windows_seen = (0, 0)  # segmenter (windows, speech_windows) at the last status
        self._fed_until: tuple[int, float] | None = None  # (stream offset, capture time) at the end of the last block

    # ---- capture thread ---------------------------------------------------------------------------------

    def on_audio(self, block: AudioBlock) -> list[AudioSegment]:
        with self._lock:
            self._sum_squares += float(np.square(block.samples, dtype=np.float64).sum())
            self._samples += len(block.samples)
            mute_wanted = self._mute_wanted
        messages = []
        if mute_wanted != self._muted:
            self._muted = mute_wanted
            MUTED.set(int(mute_wanted))
            _LOGGER.info("Mic %s/%s %s", self.room, self.mic, "muted" if mute_wanted else "unmuted")
            if mute_wanted:
                messages = self.end_stream(EndReason.MUTED)
        if self._muted:
            return messages  # a muted mic's audio goes no further than the level meter
        position = self.segmenter.position
        vad_before = self.segmenter.vad_seconds
        segments = self.segmenter.feed(block.samples)
        VAD_SECONDS.inc(self.segmenter.vad_seconds - vad_before)
        self._fed_until = (self.segmenter.position, block.captured_at + len(block.samples) / SAMPLE_RATE_HZ)
        return messages + [self._message(s, block.captured_at, position) for s in segments]

    def end_stream(self, reason: EndReason) -> list[AudioSegment]:
        """The input stopped (file over, mute, device lost): send the utterance in progress, if any."""
        position, captured_at = self._fed_until or (self.segmenter.position, datetime.now(UTC).timestamp())
        return [self._message(s, captured_at, position) for s in self.segmenter.flush(reason)]

    def _message(self, segment: SpeechSegment, anchor_time: float, anchor_sample: int) -> AudioSegment:
        """`anchor_time` is when stream sample `anchor_sample` was captured; segment times follow from it."""
        end_at = datetime.fromtimestamp(anchor_time + (segment.end_sample - anchor_sample) / SAMPLE_RATE_HZ, UTC)
        message = AudioSegment(
            room=self.room, source=self.mic, pcm=segment.pcm(), sample_rate_hz=SAMPLE_RATE_HZ, channels=1,
            start_at=end_at - timedelta(seconds=segment.duration_seconds), end_at=end_at,
            end_reason=segment.end_reason, sequence=self._sequence, origin_at=end_at,
        )
        self._sequence += 1
        SEGMENTS_CUT.labels(segment.end_reason.value).inc()
        _LOGGER.info("Segment %d: %.1f s of speech, ended by %s", message.sequence,
                     segment.duration_seconds, segment.end_reason.value)
        if self.record_dir is not None:
            self._record(message, segment)
        return message

    def _record(self, message: AudioSegment, segment: SpeechSegment) -> None:
        name = f"{self.room}_{self.mic}_{message.start_at:%Y%m%dT%H%M%S}_{message.sequence:06d}.wav"
        assert self.record_dir is not None
        self.record_dir.mkdir(parents=True, exist_ok=True)
        soundfile.write(self.record_dir / name, segment.samples, SAMPLE_RATE_HZ, subtype="PCM_16")

    # ---- bus work thread ---------------------------------------------------------------------------------

    def on_control(self, control: Control) -> None:
        if control.command not in (Command.MUTE, Command.UNMUTE) or control.mic not in (None, self.mic):
            return  # another mic's switch, or a command for the prompter
        with self._lock:
            self._mute_wanted = control.command is Command.MUTE

    def status(self) -> MicStatus:
        """Level and speech share since the previous status (about a second)."""
        with self._lock:
            mean_square = self._sum_squares / self._samples if self._samples else 0.0
            self._sum_squares, self._samples = 0.0, 0
            muted = self._mute_wanted  # no audio heard after the command reaches the segmenter
        windows = (self.segmenter.windows, self.segmenter.speech_windows)
        counted, speech = windows[0] - self._windows_seen[0], windows[1] - self._windows_seen[1]
        self._windows_seen = windows
        level = max(SILENT_DBFS, 10 * math.log10(mean_square / 32768**2)) if mean_square > 0 else SILENT_DBFS
        ratio = 0.0 if muted or not counted else speech / counted
        LEVEL_DBFS.set(level)
        SPEECH_RATIO.set(ratio)
        return MicStatus(room=self.room, source=self.mic, level_dbfs=min(0.0, level), speech_ratio=ratio,
                         muted=muted, device=self.device, kind=self.kind)
