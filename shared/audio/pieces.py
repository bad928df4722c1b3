"""A whole recording planned as the pieces it is heard in (`voxframe transcribe`, uploads): runs of the live
cutter's segments joined up to 25 s (Whisper hears 30 s at a time), each with its neighbours' audio either side as
context, and the part of it whose words are its own."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from shared.audio.segmenter import SpeechSegment
from shared.messages import EndReason
from shared.messages.audio import SAMPLE_RATE_HZ

# Whisper drops the words a piece ends on when its audio stops right after them ("…sound or options kind of"
# came out "…sound or" at a cut of a meeting), and mishears the first words of a piece that starts mid-sentence
# (JFK's first phrase, cut at its 1 s pause, came out "am I fellow"). So each piece is heard with this much of its
# neighbours' audio, and keeps only the words whose middle lies in its own part.
CONTEXT_SECONDS = 2.0
# Whisper pads every input to a 30 s window and runs its encoder over all of it, so a piece of 5 s costs what one
# of 30 s does. Consecutive segments are joined into one piece while the audio it hears, context included, fits
# this: the long-upload test's nine minutes of short sentences went from 210 pieces to 28 and half the CPU. Pieces
# filling all 30 s lost more speech that Whisper skipped whole in the window (108 deletions there against 68, the
# engine hearing such stretches again; docs/services/transcriber.md).
MAX_PIECE_SECONDS = 25.0


@dataclass(frozen=True)
class Piece:
    """Samples [begin, end) to hear, context included; its own part is [own_start, own_end). Own parts meet
    halfway between two segments of different pieces, so every word heard is one piece's own."""

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


def plan_pieces(segments: Sequence[SpeechSegment], total_samples: int) -> list[Piece]:
    """The pieces of a whole recording of `total_samples` that the live cutter cut into `segments`. One that fits
    in MAX_PIECE_SECONDS is one piece, heard whole (cut at its pauses, JFK's first phrase was misheard); a longer
    one is cut only where the cutter found a pause: consecutive segments join into one piece while it, with
    CONTEXT_SECONDS of audio either side, fits MAX_PIECE_SECONDS (a longer segment is a piece alone)."""
    window, context = int(MAX_PIECE_SECONDS * SAMPLE_RATE_HZ), int(CONTEXT_SECONDS * SAMPLE_RATE_HZ)
    if total_samples <= window:
        return [Piece(0, total_samples, 0, total_samples, EndReason.END_OF_INPUT)]
    runs: list[list[SpeechSegment]] = []
    for segment in segments:
        heard_from = max(0, runs[-1][0].start_sample - context) if runs else 0
        if runs and min(total_samples, segment.end_sample + context) - heard_from <= window:
            runs[-1].append(segment)
        else:
            runs.append([segment])
    cuts = [(before[-1].end_sample + after[0].start_sample) // 2 for before, after in pairwise(runs)]
    pieces = []
    for run, own_from, own_to in zip(runs, [0, *cuts], [*cuts, total_samples], strict=True):
        begin, end = max(0, run[0].start_sample - context), min(total_samples, run[-1].end_sample + context)
        pieces.append(Piece(begin, end, max(begin, own_from), min(end, own_to), run[-1].end_reason))
    return pieces
