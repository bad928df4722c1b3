"""Speech-to-text engines behind one small interface, chosen by configuration."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from shared.messages import Word
from shared.messages.language import DEFAULT_LANGUAGE


@dataclass(frozen=True)
class Recognition:
    """What an engine heard in one stretch of audio; word times count from its first sample."""

    text: str
    words: tuple[Word, ...] = ()
    language: str = DEFAULT_LANGUAGE
    model: str = ""  # which of the engine's models heard it, when it has several


class SpeechEngine(Protocol):
    """Turns 16 kHz mono int16 samples into text. `name` and `model` label transcripts and metrics.

    `language` is the code to hear (`de`), `auto` to detect it, or None for the engine's configured default.
    """

    name: str
    model: str

    def transcribe(self, samples: np.ndarray, language: str | None = None) -> Recognition: ...


class EngineError(RuntimeError):
    """A transcription attempt failed in a way a retry may fix; `reason` is a short metric label."""

    def __init__(self, message: str, reason: str = "error") -> None:
        super().__init__(message)
        self.reason = reason


class EngineFatalError(EngineError):
    """Retrying cannot help (bad API key, missing model): the worker stops and says why."""
