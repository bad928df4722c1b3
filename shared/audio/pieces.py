"""A whole recording planned as the pieces it is heard in (`voxframe transcribe`, uploads): each of the live
cutter's segments with its neighbours' audio either side as context, and the part of it whose words are its own."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from shared.audio.segmenter import SegmenterOptions, SpeechSegment
from shared.messages import EndReason
from shared.messages.audio import SAMPLE_RATE_HZ

# Whisper drops the words a piece ends on when its audio stops right after them ("…sound or options kind of"
# came out "…sound or" at a cut of a meeting), and mishears the first words of a piece that starts mid-sentence
# (JFK's first phrase, cut at its 1 s pause, came out "am I fellow"). So each piece is heard with this much of its
# neighbours' audio, and keeps only the words whose middle lies in its own part.
CONTEXT_SECONDS = 2.0


@dataclass(frozen=True)
class Piece:
    """Samples [begin, end) to hear, context included; its own part is [own_start, own_end). Own parts meet
    halfway between two segments, so every word heard is one piece's own."""

    begin: int
    end: int
    own_start: int
    own_end: int
    end_reason: EndReason

    @property
    def own_seconds(self) -> tuple[float, float]:
        """Where its own part lies in the recording."""
        return self.own_start / SAMPLE_RATE_HZ, self.own_end / SAMPLE_RATE_HZ

    @property
    def context_before_seconds(self) -> float:
        return (self.own_start - self.begin) / SAMPLE_RATE_HZ

    @property
    def context_after_seconds(self) -> float:
        return (self.end - self.own_end) / SAMPLE_RATE_HZ


def plan_pieces(segments: Sequence[SpeechSegment], total_samples: int,
                options: SegmenterOptions | None = None) -> list[Piece]:
    """The pieces of a whole recording of `total_samples` that the live cutter cut into `segments`. One that fits
    in one segment is one piece, heard whole (cut at its pauses, JFK's first phrase was misheard); a longer one is
    a piece per segment, with CONTEXT_SECONDS of audio either side."""
    if total_samples <= (options or SegmenterOptions()).max_segment_s * SAMPLE_RATE_HZ:
        return [Piece(0, total_samples, 0, total_samples, EndReason.END_OF_INPUT)]
    cuts = [(before.end_sample + after.start_sample) // 2 for before, after in pairwise(segments)]
    context = int(CONTEXT_SECONDS * SAMPLE_RATE_HZ)
    pieces = []
    for segment, own_from, own_to in zip(segments, [0, *cuts], [*cuts, total_samples], strict=True):
        begin, end = max(0, segment.start_sample - context), min(total_samples, segment.end_sample + context)
        pieces.append(Piece(begin, end, max(begin, own_from), min(end, own_to), segment.end_reason))
    return pieces
