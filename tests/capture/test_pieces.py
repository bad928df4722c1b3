"""How a whole recording is planned into the pieces it is heard in: few, each within 25 s, cut at pauses."""

from __future__ import annotations

import itertools

import numpy as np

from shared.audio import SAMPLE_RATE_HZ, SpeechSegment, plan_pieces
from shared.audio.pieces import CONTEXT_SECONDS, MAX_PIECE_SECONDS
from shared.messages import EndReason


def _segments(spans_s: list[tuple[float, float]]) -> list[SpeechSegment]:
    return [SpeechSegment(np.zeros(0, np.int16), int(a * SAMPLE_RATE_HZ), int(b * SAMPLE_RATE_HZ), EndReason.SILENCE)
            for a, b in spans_s]


def test_a_long_recording_of_short_segments_is_heard_in_few_pieces_each_within_the_most_a_piece_holds() -> None:
    """Nine minutes of 210 sentences of ~1.6 s a second apart (the long-upload e2e test's shape): a piece per
    segment padded every one to Whisper's 30 s; joined, a sixth as many or fewer, and every second is one piece's
    own."""
    spans, t = [], 1.0
    for i in range(210):
        length = 1.2 + 0.8 * (i % 5) / 4
        spans.append((t - 0.3, t + length + 0.5))  # pre- and post-roll, as the cutter keeps
        t += length + 1.0
    total = int((t + 1.0) * SAMPLE_RATE_HZ)
    segments = _segments(spans)
    pieces = plan_pieces(segments, total)

    assert len(pieces) <= len(segments) / 6, len(pieces)
    assert all(p.end - p.begin <= MAX_PIECE_SECONDS * SAMPLE_RATE_HZ for p in pieces)
    assert pieces[0].own_start == 0 and pieces[-1].own_end == total
    assert all(a.own_end == b.own_start for a, b in itertools.pairwise(pieces))  # own parts tile the recording
    for segment in segments:  # every segment's speech is one piece's own, and heard whole by it
        [owner] = [p for p in pieces if p.own_start <= segment.start_sample and segment.end_sample <= p.own_end]
        assert owner.begin <= segment.start_sample and segment.end_sample <= owner.end
    cuts = [p.own_end for p in pieces[:-1]]  # only at pauses: between two segments, never inside one
    assert not any(s.start_sample < cut < s.end_sample for s in segments for cut in cuts)
    context = CONTEXT_SECONDS * SAMPLE_RATE_HZ
    assert all(p.own_start - p.begin == min(context, p.own_start - p.begin) for p in pieces)
    assert pieces[-1].end_reason is EndReason.SILENCE


def test_segments_join_until_the_next_would_pass_the_most_a_piece_holds() -> None:
    segments = _segments([(1.0, 3.0), (4.0, 20.0), (21.0, 24.0), (30.0, 52.0), (60.0, 62.0)])
    pieces = plan_pieces(segments, 70 * SAMPLE_RATE_HZ)
    assert [(p.begin / SAMPLE_RATE_HZ, p.end / SAMPLE_RATE_HZ) for p in pieces] == [
        (0.0, 22.0), (19.0, 26.0), (28.0, 54.0), (58.0, 64.0)]  # 22 s heard, then 26 s would pass 25; a longer
    # segment than a piece holds is a piece alone, with its context


def test_a_recording_that_fits_in_one_piece_is_heard_whole() -> None:
    total = int(MAX_PIECE_SECONDS * SAMPLE_RATE_HZ)
    [piece] = plan_pieces(_segments([(1.0, 5.0), (12.0, 15.0), (20.0, 24.5)]), total)
    assert (piece.begin, piece.end, piece.own_start, piece.own_end) == (0, total, 0, total)
    assert piece.end_reason is EndReason.END_OF_INPUT
