"""One hearing per room: when several mics of a room hear the same utterance, only the best one's segment goes on.

Each mic announces every segment it is about to publish (`Heard`: times, loudness, envelope) to the room's other
mics, holds it for a moment, and then drops it if another mic announced the same sound (covering it in time *and*
alike in envelope, see `shared.audio.fingerprint`) and heard it better. The rule is the same on every mic and
symmetric (score, then mic name), so of two mics that hear each other and cut an utterance alike exactly one
keeps it; a mic that misses the other's notice keeps its own. Arbitration therefore never loses speech: when unsure,
it transcribes twice. A mic with no peer heard from lately holds nothing, so a one-mic room pays no latency.

Covering, not overlapping: two mics may cut one utterance differently (one ends it at a pause the other keeps
inside, e.g. when only one counts it short), and a long segment dropped for a better-heard first part, whose
second part is in turn dropped for the long one, would leave that second part to nobody. So a segment is dropped
only for one that leaves at most `uncovered_seconds_for` of it out: a split leaves a whole end silence and the
speech beyond it out, while the same cut on two mics differs by VAD windows and clock skew.

The hold must outlast the latest another mic may cut the same utterance: mics of a room can disagree on whether a
segment is short (`SegmenterOptions.short_speech_s`: 2.98 s of speech on one, 3.02 s on the other) and end it
`end_silence_spread_ms` apart, and a notice sent that late must still find the segment held.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from shared.audio.fingerprint import envelope_db, loudness, similarity
from shared.audio.segmenter import SegmenterOptions
from shared.messages import AudioSegment, Heard, MicStatus

_LOGGER = logging.getLogger(__name__)

_CLAIMS_KEPT_SECONDS = 60.0  # other mics' notices older than this cannot overlap anything still held
# The whole hold before short segments waited longer: a notice of a cut made when ours was reaches us well within it
# (the broker, and a busy machine: two mics' cuts of one utterance came within 80 ms of each other, 2887a00).
NOTICE_SECONDS = 0.4


def hold_seconds_for(segmenter: SegmenterOptions) -> float:
    """The hold of mics that cut with `segmenter`: another may end the same utterance its spread later, and then
    its notice travels."""
    return segmenter.end_silence_spread_ms / 1000 + NOTICE_SECONDS


def uncovered_seconds_for(segmenter: SegmenterOptions) -> float:
    """How much of a segment another mic's may leave out and still be the same cut, with `segmenter`: half the
    pause any mic splits at. The same cut on two mics differs by less (edges mostly under 0.1 s apart on copies
    6-12 dB down with noise, ../shared/audio/real; clock skew within the fingerprint's MAX_LAG_SECONDS)."""
    return segmenter.end_silence_ms / 2000


@dataclass(frozen=True)
class ArbitrationOptions:
    # how long a segment waits for other mics' notices of the same sound
    hold_seconds: float = hold_seconds_for(SegmenterOptions())
    min_similarity: float = 0.7  # envelope similarity above which two overlapping segments are one sound
    # how much of a segment another mic's may leave out and still drop it
    uncovered_seconds: float = uncovered_seconds_for(SegmenterOptions())
    peer_seconds: float = 5.0  # another mic heard from within this long is worth waiting for


@dataclass
class _Held:
    due: float
    segment: AudioSegment
    heard: Heard
    envelope: np.ndarray


@dataclass(frozen=True)
class Claim:
    """Another mic's notice, with its envelope as an array."""

    heard: Heard
    envelope: np.ndarray


class Arbiter:
    """One mic's side of its room's arbitration. `hold`/`release` run on the capture side, `on_heard`/`on_status`
    on the bus's work thread; a lock guards what both touch."""

    def __init__(self, room: str, mic: str, options: ArbitrationOptions = ArbitrationOptions(),
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.room, self.mic, self.options = room, mic, options
        self._clock = clock
        self._lock = threading.Lock()
        self._held: list[_Held] = []
        self._claims: collections.deque[tuple[float, Claim]] = collections.deque()
        self._peers: dict[str, float] = {}

    def hold(self, segment: AudioSegment) -> Heard:
        """Take a segment to be published; returns the notice to send the room's other mics now."""
        envelope = envelope_db(np.frombuffer(segment.pcm, dtype="<i2"))
        heard = segment.derive(Heard, key="heard", segment_id=str(segment.id), start_at=segment.start_at,
                               end_at=segment.end_at, envelope_db=tuple(int(v) for v in envelope),
                               score=round(loudness(envelope), 3))
        now = self._clock()
        with self._lock:
            wait = self.options.hold_seconds if self._has_peers(now) else 0.0
            self._held.append(_Held(now + wait, segment, heard, envelope))
        return heard

    def release(self, everything: bool = False) -> tuple[list[AudioSegment], list[tuple[AudioSegment, str]]]:
        """Segments whose hold is over (or all, at the end): (kept, [(dropped, the mic that heard it better)])."""
        now = self._clock()
        kept: list[AudioSegment] = []
        dropped: list[tuple[AudioSegment, str]] = []
        with self._lock:
            due = [h for h in self._held if everything or h.due <= now]
            self._held = [h for h in self._held if not (everything or h.due <= now)]
            for held in due:
                winner = self._heard_better(held)
                if winner is None:
                    kept.append(held.segment)
                else:
                    dropped.append((held.segment, winner))
                    _LOGGER.info("Segment %d also heard by %s, better: left to it", held.segment.sequence, winner)
        return kept, dropped

    @property
    def holding(self) -> int:
        with self._lock:
            return len(self._held)

    def on_heard(self, heard: Heard) -> None:
        if heard.room != self.room or heard.source == self.mic:
            return
        now = self._clock()
        with self._lock:
            self._peers[heard.source] = now
            self._claims.append((now, Claim(heard, np.asarray(heard.envelope_db, dtype=np.int16))))
            while self._claims and now - self._claims[0][0] > _CLAIMS_KEPT_SECONDS:
                self._claims.popleft()

    def on_status(self, status: MicStatus) -> None:
        """Other mics' statuses (about once a second) say who is listening, before they hear anything."""
        if status.room == self.room and status.source != self.mic and not status.muted:
            with self._lock:
                self._peers[status.source] = self._clock()

    def _has_peers(self, now: float) -> bool:
        return any(now - seen <= self.options.peer_seconds for seen in self._peers.values())

    def _heard_better(self, held: _Held) -> str | None:
        mine = held.heard
        for _, claim in self._claims:
            other = claim.heard
            if ((other.score, other.source) <= (mine.score, mine.source)
                    or not _covers(other, mine, self.options.uncovered_seconds)):
                continue
            if similarity(held.envelope, mine.start_at.timestamp(), claim.envelope,
                          other.start_at.timestamp()) >= self.options.min_similarity:
                return other.source
        return None


def _covers(other: Heard, mine: Heard, uncovered_seconds: float) -> bool:
    """`other` overlaps `mine` and leaves at most `uncovered_seconds` of it out."""
    overlap = (min(mine.end_at, other.end_at) - max(mine.start_at, other.start_at)).total_seconds()
    return overlap > 0 and (mine.end_at - mine.start_at).total_seconds() - overlap <= uncovered_seconds
