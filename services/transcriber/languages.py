"""Which language a segment of a room set to `auto` is in: the engine's detection, weighed against what the room
has been speaking, so that one short line (a name, "okay", a cough Whisper calls Welsh) does not flip the room,
while a clear sentence in another language at a mixed table is heard in its own.

The room's prior is the engine's detections of its recent speech, weighted by seconds of speech and fading with
each segment; it is built from the detections, never from the choices, so it cannot talk itself into a language.
Each transcriber replica keeps its own (replicas share a room's segments, so each sees a sample of its speech).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping

PRIOR_FLOOR = 0.05  # a language the room has not spoken yet keeps this much of a chance (set before measuring)
# A room whose prior gives one language at least ROOM_SURE is sure of it: a segment is heard in another language
# only when that one is detected at CLEAR or more. Whisper base takes short lines of espeak-ng's French for English
# at 0.56-0.79 (bench-languages' dev scenes), and only the detection of such a line, not the room, says so.
ROOM_SURE = 0.6
CLEAR = 0.8
KEEP_PER_SEGMENT = 0.8  # what the room's evidence keeps at each new segment: about the last five lines count
MAX_ROOMS = 1000  # rooms remembered (the least recently heard go first): a hostile stream of names stays bounded
MAX_LANGUAGES = 8  # per room, the likeliest only


def choose_language(detected: Mapping[str, float], prior: Mapping[str, float]) -> str:
    """The language to hear a segment in: in a room sure of its language, that one unless another is clearly
    detected; else detection × (floor + the room's prior share), the largest."""
    if not detected:
        raise ValueError("nothing was detected to choose from")
    room = max(prior, key=prior.__getitem__, default=None)
    if room is not None and prior[room] >= ROOM_SURE:
        other = max(detected, key=detected.__getitem__)
        return other if other != room and detected[other] >= CLEAR else room
    return max(detected, key=lambda language: detected[language] * (PRIOR_FLOOR + prior.get(language, 0.0)))


class RoomLanguages:
    """Per room, the languages its recent speech was detected in, as shares that sum to one (empty: no prior)."""

    def __init__(self) -> None:
        self._evidence: OrderedDict[str, dict[str, float]] = OrderedDict()

    def prior(self, room: str) -> dict[str, float]:
        evidence = self._evidence.get(room, {})
        total = sum(evidence.values())
        return {language: weight / total for language, weight in evidence.items()} if total else {}

    def heard(self, room: str, detected: Mapping[str, float], speech_seconds: float) -> None:
        """Add one segment's detection (language → probability) with the seconds of speech it rests on. The
        shares are squared (and summed to one again): a detection torn between two languages is weak evidence
        of the one it leans to, so an unsure line takes little of the room from a language it was sure of."""
        if not detected or speech_seconds <= 0:
            return
        evidence = self._evidence.pop(room, {})
        merged = {language: weight * KEEP_PER_SEGMENT for language, weight in evidence.items()}
        squared = sum(probability ** 2 for probability in detected.values())
        for language, probability in detected.items():
            merged[language] = merged.get(language, 0.0) + probability ** 2 / squared * speech_seconds
        self._evidence[room] = dict(sorted(merged.items(), key=lambda item: -item[1])[:MAX_LANGUAGES])
        while len(self._evidence) > MAX_ROOMS:
            self._evidence.popitem(last=False)
