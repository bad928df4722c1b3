"""faster-whisper's word alignment, kept from dropping a segment that it squeezes into no time.

With word timestamps on, faster-whisper moves a segment's bounds to its first and last word and then skips a
segment whose bounds meet (transcribe.py: `segment["start"] == segment["end"]`). A short segment between two
pauses ("one," of "one, two, three") can align to a single instant and vanish, though Whisper's own timestamp
tokens gave it a span and the engine without word timestamps keeps it. faster-whisper has no public hook for
this, so `WordTimedWhisper` overrides one internal method, `WhisperModel.add_word_timestamps`, and relies on
what `incompatibility` checks: that method's parameters, that `generate_segments` calls it, and the segment
dicts' keys. An engine refuses to load where those changed (a clear error, not a silent change of what is
heard); tests/transcriber/test_word_timing.py fails on a faster-whisper release that changes them.
"""

from __future__ import annotations

import inspect
import logging
from typing import Any

import faster_whisper
from faster_whisper import WhisperModel

_LOGGER = logging.getLogger(__name__)

TESTED_RELEASES = ("1.2.",)  # faster-whisper versions whose internals were read for this override
HOOK = "add_word_timestamps"
HOOK_PARAMETERS = ("self", "segments", "tokenizer", "encoder_output", "num_frames", "prepend_punctuations",
                   "append_punctuations", "last_speech_timestamp")
SEGMENT_KEYS = ('"start"', '"end"', '"tokens"', '"words"')  # read and written on faster-whisper's segment dicts


def incompatibility(model_class: type = WhisperModel) -> str | None:
    """Why the override cannot be trusted on this faster-whisper (what it relies on changed), or None."""
    hook = getattr(model_class, HOOK, None)
    if hook is None:
        return f"faster-whisper {faster_whisper.__version__} has no WhisperModel.{HOOK}"
    parameters = tuple(inspect.signature(hook).parameters)
    if parameters != HOOK_PARAMETERS:
        return f"WhisperModel.{HOOK} takes {parameters}, where {HOOK_PARAMETERS} was relied on"
    caller = getattr(model_class, "generate_segments", None)
    if caller is None or f"self.{HOOK}(" not in inspect.getsource(caller):
        return f"WhisperModel.generate_segments no longer calls self.{HOOK}"
    missing = [key for key in SEGMENT_KEYS if key not in inspect.getsource(hook)]
    return f"WhisperModel.{HOOK} no longer uses the segment keys {missing}" if missing else None


class WordTimedWhisper(WhisperModel):  # type: ignore[misc]  # faster_whisper ships no type hints
    """WhisperModel that keeps a segment whose words its alignment squeezes into no time: it gets back its
    timestamp span (clipped to its neighbours), its words spread evenly across it, and its tokens go into
    `guessed`, so that guards.py judges its words by those estimated times, more strictly."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        problem = incompatibility()
        if problem:
            raise RuntimeError(f"the word-timing repair does not fit this faster-whisper: {problem}")
        if not faster_whisper.__version__.startswith(TESTED_RELEASES):
            _LOGGER.warning("faster-whisper %s: the word-timing repair was checked on %s only",
                            faster_whisper.__version__, ", ".join(f"{r}x" for r in TESTED_RELEASES))
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
