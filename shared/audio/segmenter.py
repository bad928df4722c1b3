"""Cutting a stream into speech segments at pauses, live or offline, with one code path for both."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from shared.audio._samples import SampleBuffer
from shared.audio.convert import to_float32
from shared.audio.vad import WINDOW_SAMPLES, SileroVad, VoiceDetector
from shared.messages import EndReason
from shared.messages.audio import SAMPLE_RATE_HZ

_MIN_PAUSE_WINDOWS = 3  # ~100 ms: the shortest gap a max-length cut may use as a pause
_OFFLINE_CHUNK_SAMPLES = 30 * SAMPLE_RATE_HZ


@dataclass(frozen=True)
class SegmenterOptions:
    """Where segments start and end. Defaults suit conversation: see docs/services/capture.md."""

    vad_threshold: float = 0.5  # speech at or above; speech continues down to threshold - 0.15
    pre_roll_ms: int = 300  # audio kept before the first speech window (onsets are soft)
    # Audio kept after the last speech window. Whisper drops the words a segment ends on when its audio stops right
    # after them (a trailing "...options kind of" came out "...options"); in a whole recording it hears them with the
    # room after, and faster-whisper's own VAD keeps 400 ms past speech. Costs no latency: a segment still ends
    # end_silence_ms after speech. 200 ms lost 54 words in uploads of ../shared/audio/conversation, 500 ms 44.
    post_roll_ms: int = 500
    end_silence_ms: int = 800  # a pause this long ends the segment; shorter ones stay inside it
    # A segment with less speech than this so far is a phrase more often than a turn ("And so, my fellow Americans
    # ... ask not"): Whisper mishears it heard alone ("am I fellow"), so it ends only at a pause of
    # short_end_silence_ms (or end_silence_ms, if longer). Read speech heard live had 2-3 word errors more than bare
    # faster-whisper at 800 ms, 0-1 at 1200 ms (two runs); the conversation set was heard the same either way.
    short_speech_s: float = 3.0
    short_end_silence_ms: int = 1200
    min_speech_ms: int = 250  # segments with less speech than this are dropped (clicks, coughs)
    max_segment_s: float = 20.0  # longer speech is cut at its longest pause, else at its quietest point

    def __post_init__(self) -> None:
        if not 0 < self.vad_threshold < 1:
            raise ValueError(f"vad_threshold must be between 0 and 1, got {self.vad_threshold}")
        if min(self.pre_roll_ms, self.post_roll_ms, self.min_speech_ms) < 0:
            raise ValueError("pre_roll_ms, post_roll_ms and min_speech_ms must not be negative")
        if self.end_silence_ms < max(self.post_roll_ms, WINDOW_SAMPLES * 1000 // SAMPLE_RATE_HZ):
            raise ValueError(f"end_silence_ms ({self.end_silence_ms}) must be at least post_roll_ms "
                             f"({self.post_roll_ms}) and one 32 ms VAD window")
        if self.max_segment_s * 1000 < 2 * (self.pre_roll_ms + self.end_silence_ms):
            raise ValueError(f"max_segment_s ({self.max_segment_s}) is too short for the pre-roll and "
                             "end silence; use at least 2 × (pre_roll_ms + end_silence_ms)")

    @property
    def end_silence_spread_ms(self) -> int:
        """How much later one mic may end an utterance than another mic with these options: near short_speech_s
        the two can disagree on whether it is short, and then wait different pauses. Room arbitration waits this
        long for the other mics' notices (`arbiter.py`)."""
        return max(self.short_end_silence_ms - self.end_silence_ms, 0) if self.short_speech_s > 0 else 0

    def end_silence_for(self, speech_ms: float) -> int:
        """The pause that ends a segment whose speech so far spans `speech_ms` (from its start to its last speech)."""
        return self.end_silence_ms + (self.end_silence_spread_ms if speech_ms < self.short_speech_s * 1000 else 0)


def _samples(ms: float) -> int:
    return int(ms * SAMPLE_RATE_HZ / 1000)


@dataclass(frozen=True)
class SpeechSegment:
    """16 kHz mono int16 speech; offsets count samples since the segmenter started."""

    samples: np.ndarray
    start_sample: int
    end_sample: int
    end_reason: EndReason

    @property
    def duration_seconds(self) -> float:
        return (self.end_sample - self.start_sample) / SAMPLE_RATE_HZ

    def pcm(self) -> bytes:
        """s16le bytes, as AudioSegment.pcm carries them."""
        return self.samples.astype("<i2", copy=False).tobytes()


@dataclass
class _OpenSegment:
    """The utterance in progress: where it starts and what the VAD said about each window since."""

    start: int
    first_window: int
    speech: list[bool] = field(default_factory=list)
    energy: list[float] = field(default_factory=list)
    last_speech_end: int = 0

    def record(self, is_speech: bool, energy: float) -> None:
        self.speech.append(is_speech)
        self.energy.append(energy)
        if is_speech:
            self.last_speech_end = self.window_start(len(self.speech))

    def window_start(self, index: int) -> int:
        return self.first_window + index * WINDOW_SAMPLES

    def windows_before(self, offset: int) -> int:
        """How many recorded windows start before `offset`."""
        return min(len(self.speech), max(0, -(-(offset - self.first_window) // WINDOW_SAMPLES)))

    def rest_from(self, offset: int) -> _OpenSegment:
        """The part of this segment from `offset` on, as a segment of its own."""
        kept = self.windows_before(offset)
        rest = _OpenSegment(start=offset, first_window=self.window_start(kept))
        for is_speech, energy in zip(self.speech[kept:], self.energy[kept:], strict=True):
            rest.record(is_speech, energy)
        return rest


class Segmenter:
    """Feed 16 kHz mono int16 samples in blocks of any size; get back each speech segment once it ends.

    Silence and steady noise never open a segment. Counters `windows` and `speech_windows` let a caller
    compute the share of speech over any interval; `vad_seconds` is the CPU time spent in the VAD.
    """

    def __init__(self, options: SegmenterOptions | None = None,
                 detector_factory: Callable[[], VoiceDetector] = SileroVad) -> None:
        self.options = options or SegmenterOptions()
        self._new_detector = detector_factory
        self._detector = detector_factory()
        self._buffer = SampleBuffer()
        self._analysed = 0  # stream offset up to which the VAD has looked
        self._emitted_until = 0  # a new segment's pre-roll must not reach back into the previous segment
        self._open: _OpenSegment | None = None
        self._in_speech = False
        self.windows = 0
        self.speech_windows = 0
        self.vad_seconds = 0.0

    @property
    def position(self) -> int:
        """Samples fed so far (the stream offset of the next sample)."""
        return self._buffer.end

    def feed(self, samples: np.ndarray) -> list[SpeechSegment]:
        if samples.ndim != 1 or samples.dtype != np.int16:
            raise ValueError(f"expected 1-D int16 samples at 16 kHz, got {samples.dtype} shape {samples.shape}")
        self._buffer.append(samples)
        count = (self.position - self._analysed) // WINDOW_SAMPLES
        segments: list[SpeechSegment] = []
        if count:
            pcm = self._buffer.slice(self._analysed, self._analysed + count * WINDOW_SAMPLES)
            windows = to_float32(pcm).reshape(count, WINDOW_SAMPLES)
            started = time.thread_time()  # CPU, not wall time: a busy machine must not inflate it
            probabilities = self._detector.speech_probabilities(windows)
            self.vad_seconds += time.thread_time() - started
            energies = np.mean(np.square(windows, dtype=np.float64), axis=1)
            for probability, energy in zip(probabilities.tolist(), energies.tolist(), strict=True):
                segments += self._step(self._analysed, probability, energy)
                self._analysed += WINDOW_SAMPLES
        if self._open is None:
            self._buffer.forget_before(self._analysed - _samples(self.options.pre_roll_ms))
        return segments

    def flush(self, reason: EndReason = EndReason.END_OF_INPUT) -> list[SpeechSegment]:
        """End the stream (file over, mic muted or lost): return the utterance in progress, start afresh.

        The next sample fed continues the offsets; the VAD state and pre-roll start empty.
        """
        segments: list[SpeechSegment] = []
        if self._open is not None:
            post_roll = _samples(self.options.post_roll_ms)
            segments = self._emit(self._open, min(self.position, self._open.last_speech_end + post_roll), reason)
        self._open = None
        self._in_speech = False
        self._detector = self._new_detector()
        self._buffer.clear(self.position)
        self._analysed = self._emitted_until = self.position
        return segments

    def _step(self, window: int, probability: float, energy: float) -> list[SpeechSegment]:
        opts = self.options
        threshold = opts.vad_threshold if not self._in_speech else max(opts.vad_threshold - 0.15, 0.01)
        self._in_speech = probability >= threshold
        self.windows += 1
        self.speech_windows += self._in_speech
        if self._open is None:
            if self._in_speech:
                start = max(window - _samples(opts.pre_roll_ms), self._emitted_until, self._buffer.start)
                self._open = _OpenSegment(start=start, first_window=window)
                self._open.record(True, energy)
            return []
        segment = self._open
        segment.record(self._in_speech, energy)
        window_end = window + WINDOW_SAMPLES
        pause_ms = opts.end_silence_for((segment.last_speech_end - segment.start) * 1000 / SAMPLE_RATE_HZ)
        if window_end - segment.last_speech_end >= _samples(pause_ms):
            return self._emit(segment, segment.last_speech_end + _samples(opts.post_roll_ms), EndReason.SILENCE)
        if window_end - segment.start >= _samples(opts.max_segment_s * 1000):
            return self._cut(segment, window_end)
        return []

    def _cut(self, segment: _OpenSegment, window_end: int) -> list[SpeechSegment]:
        """Close a too-long segment at its best cut point and carry on with the rest as a new one."""
        cut = self._cut_point(segment, window_end)
        rest = segment.rest_from(cut)
        segments = self._emit(segment, cut, EndReason.MAX_LENGTH)
        if True in rest.speech:
            self._open = rest
        return segments

    def _cut_point(self, segment: _OpenSegment, window_end: int) -> int:
        """Middle of the longest pause in the segment's second half; else the middle of its quietest window."""
        halfway = (segment.start + window_end) // 2
        first = segment.windows_before(halfway)
        best_length, best_middle, run = 0, None, 0
        for index in range(first, len(segment.speech)):
            run = 0 if segment.speech[index] else run + 1
            if run >= max(best_length, _MIN_PAUSE_WINDOWS):  # ties go to the later pause
                best_length, best_middle = run, index + 1 - run // 2
        if best_middle is not None:
            return segment.window_start(best_middle)
        quietest = first + int(np.argmin(segment.energy[first:]))
        return segment.window_start(quietest) + WINDOW_SAMPLES // 2

    def _emit(self, segment: _OpenSegment, end: int, reason: EndReason) -> list[SpeechSegment]:
        self._open = None
        speech_samples = sum(segment.speech[:segment.windows_before(end)]) * WINDOW_SAMPLES
        if speech_samples < _samples(self.options.min_speech_ms):
            return []
        self._emitted_until = end
        return [SpeechSegment(self._buffer.slice(segment.start, end), segment.start, end, reason)]


def segment_file(samples: np.ndarray, options: SegmenterOptions | None = None,
                 detector_factory: Callable[[], VoiceDetector] = SileroVad) -> list[SpeechSegment]:
    """All speech segments of a whole recording (16 kHz mono int16), cut exactly as a live mic would be."""
    segmenter = Segmenter(options, detector_factory)
    segments: list[SpeechSegment] = []
    for begin in range(0, len(samples), _OFFLINE_CHUNK_SAMPLES):
        segments += segmenter.feed(samples[begin:begin + _OFFLINE_CHUNK_SAMPLES])
    return segments + segmenter.flush()
