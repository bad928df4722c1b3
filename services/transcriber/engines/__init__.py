"""Speech-to-text engines behind one small interface, chosen by configuration."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
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
    detected: Mapping[str, float] = field(default_factory=dict)  # auto: the languages detected, by probability

    def without_context(self, before_seconds: float, after_seconds: float, seconds: float) -> Recognition:
        """What was heard in `seconds` of audio whose first `before_seconds` and last `after_seconds` were its
        neighbours', heard for context (shared/audio/pieces.py): the words whose middle lies between, and the text
        they make. Without context, all of it."""
        if not before_seconds and not after_seconds:
            return self
        end = seconds - after_seconds if after_seconds else math.inf
        words = tuple(w for w in self.words if before_seconds <= (w.start_seconds + w.end_seconds) / 2 < end)
        return replace(self, text=" ".join(w.text for w in words), words=words)

    def timed_from(self, seconds: float) -> Recognition:
        """The same, its word times counted from `seconds` into its audio (a word begun before then, from 0)."""
        if not seconds:
            return self
        return replace(self, words=tuple(w.shifted(-seconds) for w in self.words))


class SpeechEngine(Protocol):
    """Turns 16 kHz mono int16 samples into text. `name` and `model` label transcripts and metrics.

    `language` is the code to hear (`de`), `auto` to detect it, or None for the engine's configured default.
    With `auto`, an engine that detects before it decodes weighs its detection against `prior`, the room's recent
    languages as shares (services/transcriber/languages.py), and reports the detection in `Recognition.detected`.
    """

    name: str
    model: str

    def transcribe(self, samples: np.ndarray, language: str | None = None,
                   prior: Mapping[str, float] | None = None) -> Recognition: ...


class EngineError(RuntimeError):
    """A transcription attempt failed in a way a retry may fix; `reason` is a short metric label."""

    def __init__(self, message: str, reason: str = "error") -> None:
        super().__init__(message)
        self.reason = reason


class EngineFatalError(EngineError):
    """Retrying cannot help (bad API key, missing model): the worker stops and says why."""
