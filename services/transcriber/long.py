"""A whole recording through one engine: cut at pauses as a live mic would be, transcribed, joined."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from services.transcriber.engines import Recognition, SpeechEngine
from shared.audio import SAMPLE_RATE_HZ, SegmenterOptions, segment_file
from shared.messages import Word

if TYPE_CHECKING:
    import numpy as np

    from shared.audio import SpeechSegment


def transcribe_long(engine: SpeechEngine, samples: np.ndarray,
                    progress: Callable[[list[SpeechSegment]], Iterable[SpeechSegment]] = iter,
                    ) -> tuple[Recognition, int]:
    """A whole recording; longer than one segment, it is cut at pauses as a live mic would be, then joined."""
    options = SegmenterOptions()
    if len(samples) <= options.max_segment_s * SAMPLE_RATE_HZ:
        return engine.transcribe(samples), 1
    texts: list[str] = []
    words: list[Word] = []
    language = "en"
    segments = segment_file(samples, options)
    for segment in progress(segments):
        heard = engine.transcribe(segment.samples)
        offset = segment.start_sample / SAMPLE_RATE_HZ
        texts += [heard.text] if heard.text else []
        words += [w.model_copy(update={"start_seconds": w.start_seconds + offset,
                                       "end_seconds": w.end_seconds + offset}) for w in heard.words]
        language = heard.language
    return Recognition(" ".join(texts), tuple(words), language), len(segments)
