"""AudioSegment → engine → Transcript, with the stage's own metrics."""

from __future__ import annotations

import logging
import time

import numpy as np

from services.transcriber.engines import EngineError, SpeechEngine
from services.transcriber.languages import RoomLanguages
from services.transcriber.metrics import (
    AUDIO_SECONDS,
    ENGINE_ERRORS,
    ENGINE_INFO,
    REAL_TIME_FACTOR,
    SEGMENTS_WITHOUT_TEXT,
    TRANSCRIPTION_SECONDS,
)
from shared.audio import SAMPLE_RATE_HZ
from shared.bus import Unprocessable
from shared.messages import AudioSegment, Transcript
from shared.messages.language import DEFAULT_LANGUAGE

_LOGGER = logging.getLogger(__name__)


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
    so the job can count them. Word times count from the segment's own part (`start_at`): of a segment carrying
    its neighbours' audio as context, only its own words, timed past the context before it."""

    def __init__(self, engine: SpeechEngine, language: str = DEFAULT_LANGUAGE) -> None:
        self.engine = engine
        self.language = language  # for segments whose room or upload names none (VOXFRAME_LANGUAGE)
        self.rooms = RoomLanguages()  # what each room set to auto has been speaking

    def __call__(self, segment: AudioSegment) -> Transcript | None:
        samples = samples_of(segment)
        talk = segment.room if segment.job_id is None else f"job:{segment.job_id}"  # an upload is a talk of its own
        engine = self.engine.name
        started = time.perf_counter()
        try:
            heard = self.engine.transcribe(samples, segment.language or self.language, self.rooms.prior(talk))
            heard = heard.without_context(segment.context_before_seconds, segment.context_after_seconds,
                                          segment.duration_seconds).timed_from(segment.context_before_seconds)
        except EngineError as exc:
            ENGINE_ERRORS.labels(engine, exc.reason).inc()
            raise
        seconds = time.perf_counter() - started
        audio_seconds = segment.duration_seconds
        self.rooms.heard(talk, heard.detected, audio_seconds)
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
        return segment.derive(
            Transcript, key="", audio_id=str(segment.id), text=heard.text, words=heard.words,
            language=heard.language, engine=engine, model=heard.model or self.engine.model,
            audio_seconds=audio_seconds, processing_seconds=seconds, sequence=segment.sequence)
