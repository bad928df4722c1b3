"""A room's living scene, updated once a window: what is still talked about stays where it is and grows, a new
topic enters where there is room, what is forgotten fades and leaves within two windows.

Weights: a talked-about element gains `GROW` × its keyword score (best 1.0), up to 1. The talk has a current
topic: it holds while at least `CONTINUES` of its elements' weight is still talked about, and a new one begins
when not. An element of the current topic not talked about keeps `HOLD` of its weight (a topic's details come and
go while it holds); one of a past topic keeps `DECAY`; under `LEAVE` it leaves, so even a full-weight element is
gone two windows after the talk moved on (1 → 0.35 → 0.12). The setting is sticky (night stays night until the
talk says otherwise); the mood is the window's VADER sentiment and energy, smoothed so one remark does not
repaint the sky.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence

from services.prompter.engines.mood import MOODS, sentiment
from shared.messages import derived_id
from shared.messages.prompt import MAX_STRENGTH, MIN_STRENGTH
from shared.messages.scene import MAX_ELEMENTS, Place, Scene, SceneElement, TimeOfDay, Weather

GROW, DECAY, LEAVE = 0.35, 0.35, 0.15
HOLD = 0.75  # what an element of the current topic keeps of its weight in a window that does not mention it
CONTINUES = 0.2  # the topic holds while this share of its elements' weight is still talked about
ENTER_BASE, ENTER_SCORE = 0.4, 0.4  # a new element's weight: ENTER_BASE + ENTER_SCORE × its score
MAX_LIVING = 8  # elements on the wall at once; a new topic waits for room only when all are still talked about
SMOOTHING = 0.5  # share of the previous mood kept each window
MARGIN = 0.08  # no element is centred closer than this to the picture's edge

_NIGHT = frozenset({"night", "moon", "star", "stars", "midnight", "evening", "owl", "bat", "fireworks", "dark",
                    "aurora", "stargazing", "bedtime", "campfire"})
_DAY = frozenset({"morning", "sunny", "sun", "noon", "afternoon", "daylight", "breakfast", "sunshine"})
_INDOOR = frozenset({"kitchen", "room", "table", "dinner", "lunch", "breakfast", "party", "birthday", "office",
                     "home", "bedroom", "classroom", "restaurant", "cafe", "indoors", "sofa", "couch", "oven"})
_OUTDOOR = frozenset({"garden", "park", "beach", "sea", "forest", "mountain", "mountains", "hike", "hiking",
                      "outside", "outdoors", "camping", "tent", "lake", "river", "field", "ski", "skiing", "sky"})
_WEATHER: dict[Weather, frozenset[str]] = {
    "snow": frozenset({"snow", "snowing", "snowman", "snowflake", "blizzard", "ski", "skiing", "sled"}),
    "rain": frozenset({"rain", "raining", "rainy", "umbrella", "storm", "thunder", "drizzle", "puddle"}),
    "cloudy": frozenset({"cloud", "clouds", "cloudy", "fog", "foggy", "grey", "overcast"}),
    "clear": frozenset({"sunny", "sunshine", "sun", "clear"}),
}
_WORD = re.compile(r"[a-z']+")


def update(scene: Scene | None, talked: Mapping[str, float], lines: Sequence[str], room: str) -> Scene:
    """The scene after a window whose picturable keywords were `talked` (keyword → score, best 1.0) and whose
    cleaned lines were `lines`. Deterministic: the same inputs give the same scene (ids derive from the room)."""
    previous = scene or Scene()
    window = previous.window + 1
    scores = {keyword.lower(): score for keyword, score in talked.items()}
    related = {element.id: _related(element.keyword, scores) for element in previous.elements}
    current = [e for e in previous.elements if e.topic == previous.topic]
    still = sum(e.weight for e in current if related[e.id] is not None)
    topic = previous.topic if still >= CONTINUES * sum(e.weight for e in current) > 0 else previous.topic + 1
    kept: list[SceneElement] = []
    left: list[str] = []
    for element in previous.elements:
        score = scores.pop(element.keyword.lower(), None) or related[element.id]
        decay = HOLD if element.topic == topic else DECAY
        if score is not None:
            kept.append(element.model_copy(update={"weight": min(1.0, element.weight + GROW * score),
                                                   "fading": False, "topic": topic}))
        elif element.weight * decay >= LEAVE:
            kept.append(element.model_copy(update={"weight": element.weight * decay, "fading": True}))
        else:
            left.append(element.id)
    kept, crowded = _make_room(kept, len(scores))
    left += [e.id for e in crowded]
    for keyword, score in sorted(scores.items(), key=lambda ks: (-ks[1], ks[0]))[:MAX_LIVING - len(kept)]:
        kept.append(SceneElement(id=derived_id(room, keyword, window).hex[:12], keyword=keyword[:64],
                                 weight=min(1.0, ENTER_BASE + ENTER_SCORE * score),
                                 x=_free_spot(kept),
                                 entered=window, topic=topic))
    words = {w for line in lines for w in _WORD.findall(line.lower())} | {
        w for e in kept for w in _WORD.findall(e.keyword.lower())}
    valence, energy = _feeling(lines)
    valence = SMOOTHING * previous.valence + (1 - SMOOTHING) * valence if scene else valence
    energy = SMOOTHING * previous.energy + (1 - SMOOTHING) * energy if scene else energy
    return Scene(window=window, topic=topic, elements=tuple(kept)[:MAX_ELEMENTS], left=tuple(left)[:MAX_ELEMENTS],
                 place=_place(words, previous.place), time_of_day=_time_of_day(words, previous.time_of_day),
                 weather=_weather(words, previous.weather),
                 mood=next(m.name for m in MOODS if valence >= m.from_compound),
                 valence=max(-1.0, min(1.0, valence)), energy=max(0.0, min(1.0, energy)))


def repaint_strength(painted: Scene, scene: Scene) -> float | None:
    """How much of the picture of `painted` to repaint for `scene`: MIN_STRENGTH when nothing but weights moved, up
    to MAX_STRENGTH as elements enter and leave and the setting changes; None (paint afresh) on a new topic or
    when nothing of the painted scene stays."""
    if scene.topic != painted.topic:
        return None
    before = {e.id for e in painted.elements}
    staying = sum(e.weight for e in scene.elements if e.id in before)
    if staying == 0:
        return None
    gone = sum(e.weight for e in painted.elements if e.id not in {s.id for s in scene.elements})
    changed = 1 - staying / (sum(e.weight for e in scene.elements) + gone)
    setting = [(painted.place, scene.place), (painted.time_of_day, scene.time_of_day), (painted.weather, scene.weather)]
    resets = sum(before != after for before, after in setting) / 3
    return round(min(MAX_STRENGTH, MIN_STRENGTH + (MAX_STRENGTH - MIN_STRENGTH) * min(1.0, changed + resets)), 3)


def _related(keyword: str, scores: Mapping[str, float]) -> float | None:
    """The score a window gave `keyword`, or half the best score of a keyword sharing a word with it ("pie" and
    "apple pie", "apples" and "apple pie": the selector names one thing differently from window to window)."""
    if keyword.lower() in scores:
        return scores[keyword.lower()]
    stems = _stems(keyword)
    return max((score / 2 for said, score in scores.items() if stems & _stems(said)), default=None)


def _stems(keyword: str) -> set[str]:
    return {word.rstrip("s") for word in _WORD.findall(keyword.lower()) if len(word) > 2}


def _make_room(kept: list[SceneElement], arriving: int) -> tuple[list[SceneElement], list[SceneElement]]:
    """Fading elements give way to arriving ones when the wall is full (the faintest first)."""
    over = len(kept) + arriving - MAX_LIVING
    if over <= 0:
        return kept, []
    fading = sorted((e for e in kept if e.fading), key=lambda e: (e.weight, e.id))[:over]
    return [e for e in kept if e not in fading], fading


def _free_spot(elements: Sequence[SceneElement]) -> float:
    """The middle of the widest free stretch between the elements (the picture's margins count as walls). Those
    fading out count too: they are still on the wall while the newcomer enters, and may be talked about again."""
    xs = sorted([MARGIN, 1 - MARGIN, *(e.x for e in elements)])
    if not elements:
        return 0.5
    gaps = [(b - a, (a + b) / 2) for a, b in itertools.pairwise(xs)]
    edges = [(2 * (xs[1] - MARGIN), MARGIN), (2 * (1 - MARGIN - xs[-2]), 1 - MARGIN)]  # hugging an edge
    return round(max(gaps + edges)[1], 4)


def _feeling(lines: Sequence[str]) -> tuple[float, float]:
    """Sentiment (VADER compound, mean per line) and energy (how little of the talk is neutral, and how much of
    it is exclaimed), each of this window alone."""
    if not lines:
        return 0.0, 0.5
    scores = [sentiment(line) for line in lines]
    valence = sum(s["compound"] for s in scores) / len(scores)
    exclaimed = sum(line.count("!") for line in lines) / len(lines)
    energy = sum(1 - s["neu"] for s in scores) / len(scores) * 1.5 + min(0.3, 0.15 * exclaimed) + 0.2
    return valence, min(1.0, energy)


def _place(words: set[str], previous: Place) -> Place:
    indoor, outdoor = len(words & _INDOOR), len(words & _OUTDOOR)
    return previous if indoor == outdoor else ("indoors" if indoor > outdoor else "outdoors")


def _time_of_day(words: set[str], previous: TimeOfDay) -> TimeOfDay:
    night, day = len(words & _NIGHT), len(words & _DAY)
    return previous if night == day else ("night" if night > day else "day")


def _weather(words: set[str], previous: Weather) -> Weather:
    counts = {weather: len(words & cue) for weather, cue in _WEATHER.items()}
    best = max(counts, key=lambda w: counts[w])
    return best if counts[best] else previous
