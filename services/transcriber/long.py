"""A whole recording through one engine: cut at the pauses a live mic is cut at, each piece heard with context
past its cuts, the pieces' words joined."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from itertools import pairwise
from typing import TYPE_CHECKING

from services.transcriber.engines import Recognition, SpeechEngine
from shared.audio import SAMPLE_RATE_HZ, SegmenterOptions, segment_file
from shared.messages import Word
from shared.messages.language import DEFAULT_LANGUAGE

if TYPE_CHECKING:
    import numpy as np

Span = tuple[int, int]  # first and past-last sample of a piece

# Whisper drops the words a piece ends on when its audio stops right after them ("…sound or options kind of"
# came out "…sound or" at a cut of a meeting), and mishears the first words of a piece that starts mid-sentence.
# So each piece is heard with this much of its neighbours' audio, and keeps only the words whose middle lies on
# its own side of the cuts.
CONTEXT_SECONDS = 2.0


def transcribe_long(engine: SpeechEngine, samples: np.ndarray,
                    progress: Callable[[list[Span]], Iterable[Span]] = iter,
                    ) -> tuple[Recognition, int]:
    """A whole recording. Longer than one segment, it is cut at the pauses the live cutter finds, into pieces no
    longer than one segment; each piece is heard with CONTEXT_SECONDS of audio either side, and each word is kept
    by the piece that holds its middle. Returns what was heard and the number of pieces."""
    options = SegmenterOptions()
    if len(samples) <= options.max_segment_s * SAMPLE_RATE_HZ:
        return engine.transcribe(samples), 1
    limit = int(options.max_segment_s * SAMPLE_RATE_HZ)
    pieces: list[Span] = []  # the live cutter's segments, joined while they fit in one segment's length
    for segment in segment_file(samples, options):
        if pieces and segment.end_sample - pieces[-1][0] <= limit:
            pieces[-1] = (pieces[-1][0], segment.end_sample)
        else:
            pieces.append((segment.start_sample, segment.end_sample))
    cuts = [(end + start) / 2 / SAMPLE_RATE_HZ for (_, end), (start, _) in pairwise(pieces)]
    owned = zip([0.0, *cuts], [*cuts, len(samples) / SAMPLE_RATE_HZ], strict=True)
    words: list[Word] = []
    language, model = DEFAULT_LANGUAGE, ""
    context = int(CONTEXT_SECONDS * SAMPLE_RATE_HZ)
    for (start, end), (own_from, own_to) in zip(progress(pieces), owned, strict=True):
        begin = max(0, start - context)
        heard = engine.transcribe(samples[begin:end + context])
        offset = begin / SAMPLE_RATE_HZ
        shifted = (w.model_copy(update={"start_seconds": w.start_seconds + offset,
                                        "end_seconds": w.end_seconds + offset}) for w in heard.words)
        words += [w for w in shifted if own_from <= (w.start_seconds + w.end_seconds) / 2 < own_to]
        language, model = heard.language, heard.model
    return Recognition(" ".join(w.text for w in words), tuple(words), language, model), len(pieces)
