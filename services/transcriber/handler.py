"""AudioSegment → engine → Transcript, with the stage's own metrics."""

from __future__ import annotations

import logging
import time

import numpy as np
from prometheus_client import Counter, Histogram, Info

from services.transcriber.engines import EngineError, SpeechEngine
from shared.audio import SAMPLE_RATE_HZ
from shared.bus import Unprocessable
from shared.messages import AudioSegment, Transcript
from shared.metrics import SECONDS_BUCKETS

_LOGGER = logging.getLogger(__name__)


TRANSCRIPTION_SECONDS = Histogram("voxframe_transcriber_transcription_seconds",
                                  "Time the engine took for one segment", ["engine"], buckets=SECONDS_BUCKETS)
REAL_TIME_FACTOR = Histogram("voxframe_transcriber_real_time_factor",
                             "Engine seconds per second of audio (below 1 keeps up with one mic)", ["engine"],
                             buckets=(0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 5))
AUDIO_SECONDS = Counter("voxframe_transcriber_audio_seconds_total", "Seconds of audio transcribed", ["engine"])
SEGMENTS_WITHOUT_TEXT = Counter("voxframe_transcriber_segments_without_text_total",
                                "Segments in which the engine heard no words", ["engine"])
ENGINE_ERRORS = Counter("voxframe_transcriber_engine_errors_total", "Failed engine calls", ["engine", "reason"])
ENGINE_INFO = Info("voxframe_transcriber_engine", "The engine and model this replica loaded")


def describe_engine(engine: SpeechEngine) -> None:
    ENGINE_INFO.info({"engine": engine.name, "model": engine.model})


class BadAudio(Unprocessable):
    """The segment is not the pipeline's audio format (16 kHz mono s16le) or holds no samples."""


def samples_of(segment: AudioSegment) -> np.ndarray:
    """The segment's int16 samples, or BadAudio saying what is wrong (the bus dead-letters it at once)."""
    if segment.sample_rate_hz != SAMPLE_RATE_HZ or segment.channels != 1:
        raise BadAudio(f"audio is {segment.sample_rate_hz} Hz × {segment.channels} channel(s); the transcriber "
                       f"takes {SAMPLE_RATE_HZ} Hz mono s16le (convert with shared.audio.to_pipeline_format)")
    if not segment.pcm:
        raise BadAudio("audio segment holds no samples")
    return np.frombuffer(segment.pcm, dtype="<i2").astype(np.int16, copy=False)


class TranscriptionHandler:
    """Publishes a Transcript per segment with words; upload-job segments get one even when empty,
    so the job can count them."""

    def __init__(self, engine: SpeechEngine) -> None:
        self.engine = engine

    def __call__(self, segment: AudioSegment) -> Transcript | None:
        samples = samples_of(segment)
        engine = self.engine.name
        started = time.perf_counter()
        try:
            heard = self.engine.transcribe(samples)
        except EngineError as exc:
            ENGINE_ERRORS.labels(engine, exc.reason).inc()
            raise
        seconds = time.perf_counter() - started
        audio_seconds = segment.duration_seconds
        TRANSCRIPTION_SECONDS.labels(engine).observe(seconds)
        REAL_TIME_FACTOR.labels(engine).observe(seconds / audio_seconds)
        AUDIO_SECONDS.labels(engine).inc(audio_seconds)
        _LOGGER.info("%s #%d: %.1f s of audio in %.2f s (RTF %.2f), %d words", segment.source, segment.sequence,
                     audio_seconds, seconds, seconds / audio_seconds, len(heard.words))
        _LOGGER.debug("heard %r", heard.text)  # conversation stays out of the logs unless asked for
        if not heard.text:
            SEGMENTS_WITHOUT_TEXT.labels(engine).inc()
            if segment.job_id is None:
                return None
        return segment.derive(  # type: ignore[return-value]
            Transcript, key="", audio_id=str(segment.id), text=heard.text, words=heard.words,
            language=heard.language, engine=engine, model=self.engine.model, audio_seconds=audio_seconds,
            processing_seconds=seconds, sequence=segment.sequence)
