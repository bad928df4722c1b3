"""One mic's live state, wherever its sound comes from (a capture process's device, a browser tab served by the
display): blocks → segmenter → AudioSegment; Control → mute, and the room's language each segment asks the
transcriber for; once a second → MicStatus.

`hear`/`end_stream` run on the audio thread, `on_control`/`status` on the bus's work thread, so the few fields
both touch are guarded by a lock. A mute takes effect before the next block is fed: the utterance in progress is
sent (end_reason muted), nothing after. Of two switches the later one (its Control's `created_at`) wins, whichever
arrives first; a mic may start muted (`muted=True`) until a switch reaches it.
"""

from __future__ import annotations

import logging
import math
import threading
from datetime import UTC, datetime, timedelta

import numpy as np

from shared.audio.clock import StreamClock
from shared.audio.segmenter import Segmenter, SpeechSegment
from shared.messages import AudioSegment, Command, Control, EndReason, MicStatus
from shared.messages.audio import SAMPLE_RATE_HZ
from shared.messages.language import room_language
from shared.messages.status import MicKind

_LOGGER = logging.getLogger(__name__)

SILENT_DBFS = -100.0  # the floor reported for digital silence (log of zero)


class LiveMic:
    """Subclasses may override `_muted_changed` and `_cut` to count or keep what passes."""

    def __init__(self, room: str, mic: str, segmenter: Segmenter, kind: MicKind = "device", device: str = "",
                 muted: bool = False) -> None:
        self.room = room
        self.mic = mic
        self.segmenter = segmenter
        self.kind: MicKind = kind
        self.device = device
        self._sequence = 0
        self._clock = StreamClock()
        self._lock = threading.Lock()
        self._mute_wanted = muted
        self._switched_at: datetime | None = None  # when the switch it obeys was set; None: its start state
        self._language: str | None = None  # the room's language setting once one arrives; else the transcriber's
        self._muted = False
        self._sum_squares = 0.0
        self._samples = 0
        self._windows_seen = (0, 0)  # segmenter (windows, speech_windows) at the last status
        self._fed_until: tuple[int, float] | None = None  # (stream offset, capture time) at the end of the last block

    # ---- audio thread -----------------------------------------------------------------------------------

    def hear(self, samples: np.ndarray, captured_at: float) -> list[AudioSegment]:
        """16 kHz mono int16 `samples`, the first captured at `captured_at` (epoch seconds) as far as the source
        can tell; a block that arrived late is put back in its place on the stream's clock (`clock.py`)."""
        captured_at = self._clock.stamp(len(samples), captured_at)
        with self._lock:
            self._sum_squares += float(np.square(samples, dtype=np.float64).sum())
            self._samples += len(samples)
            mute_wanted = self._mute_wanted
        messages = []
        if mute_wanted != self._muted:
            self._muted = mute_wanted
            self._muted_changed(mute_wanted)
            _LOGGER.info("Mic %s/%s %s", self.room, self.mic, "muted" if mute_wanted else "unmuted")
            if mute_wanted:
                messages = self.end_stream(EndReason.MUTED)
        if self._muted:
            return messages  # a muted mic's audio goes no further than the level meter
        position = self.segmenter.position
        segments = self.segmenter.feed(samples)
        self._fed_until = (self.segmenter.position, captured_at + len(samples) / SAMPLE_RATE_HZ)
        return messages + [self._message(s, captured_at, position) for s in segments]

    def end_stream(self, reason: EndReason) -> list[AudioSegment]:
        """The input stopped (file over, mute, device lost): send the utterance in progress, if any."""
        position, captured_at = self._fed_until or (self.segmenter.position, datetime.now(UTC).timestamp())
        return [self._message(s, captured_at, position) for s in self.segmenter.flush(reason)]

    def _message(self, segment: SpeechSegment, anchor_time: float, anchor_sample: int) -> AudioSegment:
        """`anchor_time` is when stream sample `anchor_sample` was captured; segment times follow from it."""
        with self._lock:
            language = self._language
        end_at = datetime.fromtimestamp(anchor_time + (segment.end_sample - anchor_sample) / SAMPLE_RATE_HZ, UTC)
        message = AudioSegment(
            room=self.room, source=self.mic, pcm=segment.pcm(), sample_rate_hz=SAMPLE_RATE_HZ, channels=1,
            start_at=end_at - timedelta(seconds=segment.duration_seconds), end_at=end_at,
            end_reason=segment.end_reason, sequence=self._sequence, origin_at=end_at, language=language,
        )
        self._sequence += 1
        _LOGGER.info("Segment %d of %s/%s: %.1f s of speech, ended by %s", message.sequence, self.room, self.mic,
                     segment.duration_seconds, segment.end_reason.value)
        self._cut(message, segment)
        return message

    def _muted_changed(self, muted: bool) -> None:
        """Hook: the mute state the audio obeys changed."""

    def _cut(self, message: AudioSegment, segment: SpeechSegment) -> None:
        """Hook: a segment was cut and becomes `message`."""

    # ---- bus work thread ---------------------------------------------------------------------------------

    def on_control(self, control: Control) -> None:
        if control.command is Command.SET_LANGUAGE:
            self._set_language(control.value)
            return
        if control.command not in (Command.MUTE, Command.UNMUTE) or control.mic not in (None, self.mic):
            return  # another mic's switch, or a command for the prompter
        with self._lock:
            if self._switched_at is not None and control.created_at < self._switched_at:
                return  # an older switch that arrived late
            self._mute_wanted = control.command is Command.MUTE
            self._switched_at = control.created_at

    def _set_language(self, value: object) -> None:
        """The room's language for the segments cut from now on; a bad value is the prompter's to dead-letter."""
        try:
            language = room_language(value)
        except ValueError as exc:
            _LOGGER.warning("Mic %s/%s ignores set_language: %s", self.room, self.mic, exc)
            return
        with self._lock:
            self._language = language
        _LOGGER.info("Mic %s/%s: segments now ask for language %s", self.room, self.mic, language)

    @property
    def muted(self) -> bool:
        with self._lock:
            return self._mute_wanted

    def status(self) -> MicStatus:
        """Level and speech share since the previous status (about a second)."""
        with self._lock:
            mean_square = self._sum_squares / self._samples if self._samples else 0.0
            self._sum_squares, self._samples = 0.0, 0
            muted = self._mute_wanted  # no audio heard after the command reaches the segmenter
            switched_at = self._switched_at
            language = self._language
        windows = (self.segmenter.windows, self.segmenter.speech_windows)
        counted, speech = windows[0] - self._windows_seen[0], windows[1] - self._windows_seen[1]
        self._windows_seen = windows
        level = max(SILENT_DBFS, 10 * math.log10(mean_square / 32768**2)) if mean_square > 0 else SILENT_DBFS
        ratio = 0.0 if muted or not counted else speech / counted
        return MicStatus(room=self.room, source=self.mic, level_dbfs=min(0.0, level), speech_ratio=ratio,
                         muted=muted, switched_at=switched_at, device=self.device, kind=self.kind, language=language)
