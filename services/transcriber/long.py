"""A whole recording through one engine, heard in the pieces shared/audio/pieces.py plans (as an upload is), the
pieces' own words joined."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from services.transcriber.engines import Recognition, SpeechEngine
from shared.audio import SAMPLE_RATE_HZ, Piece, plan_pieces, segment_file
from shared.messages import Word
from shared.messages.language import DEFAULT_LANGUAGE

if TYPE_CHECKING:
    import numpy as np


def transcribe_long(engine: SpeechEngine, samples: np.ndarray,
                    progress: Callable[[list[Piece]], Iterable[Piece]] = iter,
                    ) -> tuple[Recognition, int]:
    """A whole recording: one that fits in Whisper's window is heard whole; a longer one in pieces of the segments
    the live cutter finds, joined up to that window, each heard with its neighbours' audio either side and keeping
    its own words. Returns what was heard (word times from the recording's start) and the number of pieces."""
    pieces = plan_pieces(segment_file(samples), len(samples))
    if len(pieces) == 1 and pieces[0].end - pieces[0].begin == len(samples):
        return engine.transcribe(samples), 1
    words: list[Word] = []
    language, model = DEFAULT_LANGUAGE, ""
    for piece in progress(pieces):
        heard = engine.transcribe(samples[piece.begin:piece.end]).without_context(
            piece.context_before_seconds, piece.context_after_seconds, (piece.end - piece.begin) / SAMPLE_RATE_HZ)
        words += [w.shifted(piece.begin / SAMPLE_RATE_HZ) for w in heard.words]
        language, model = heard.language, heard.model
    return Recognition(" ".join(w.text for w in words), tuple(words), language, model), len(pieces)
