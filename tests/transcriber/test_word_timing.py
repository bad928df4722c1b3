"""The word-timing repair overrides one internal method of faster-whisper (engines/word_timing.py): these tests
fail when a faster-whisper release changes what it relies on, or no longer needs it."""

from __future__ import annotations

import inspect
from typing import Any

import faster_whisper
import pytest
from faster_whisper import WhisperModel

from services.transcriber.engines import EngineFatalError
from services.transcriber.engines.whisper import FasterWhisperEngine
from services.transcriber.engines.word_timing import TESTED_RELEASES, incompatibility


def test_the_installed_faster_whisper_is_one_the_repair_was_checked_on() -> None:
    assert faster_whisper.__version__.startswith(TESTED_RELEASES), faster_whisper.__version__
    assert incompatibility() is None


def test_faster_whisper_still_drops_a_segment_aligned_to_no_time() -> None:
    """What the repair is for: when this fails, faster-whisper keeps such segments itself and the override can go."""
    assert 'segment["start"] == segment["end"]' in inspect.getsource(WhisperModel.generate_segments)


class _RenamedHook(WhisperModel):  # type: ignore[misc]  # faster_whisper ships no type hints
    def add_word_timestamps(self, segments: list[Any], tokenizer: Any, encoder_output: Any, frames: int,
                            prepend_punctuations: str, append_punctuations: str, last_speech_timestamp: float,
                            ) -> float:
        return last_speech_timestamp


def test_a_changed_hook_is_named_and_the_engine_refuses_to_load(monkeypatch: pytest.MonkeyPatch) -> None:
    """A release whose method takes other parameters (here one renamed), or that is gone, is caught by name; the
    engine then stops with a configuration error instead of hearing differently without a word."""
    assert "num_frames" in str(incompatibility(_RenamedHook))
    assert "has no WhisperModel.add_word_timestamps" in str(incompatibility(type("Bare", (), {}))), "gone"
    monkeypatch.setattr(WhisperModel, "add_word_timestamps", _RenamedHook.add_word_timestamps)
    with pytest.raises(EngineFatalError, match="word-timing repair does not fit"):
        FasterWhisperEngine()

