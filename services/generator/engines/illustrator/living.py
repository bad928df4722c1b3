"""A room's living scene laid out: each element where the scene says (its `x`), at a height and depth fixed by
its id, sized by its weight, placed oldest first; each slides aside from those that entered before it until it
covers little of them, so what stays keeps its place and a newcomer finds room beside it.
The setting picks day or night and the ground, the mood the light and colour. All of it comes from the prompt,
so the generator keeps no state and any replica paints the same place for the same element."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np

from services.generator.engines.illustrator.catalog import Zone
from services.generator.engines.illustrator.scene import (
    BASE_SIZE,
    Ground,
    Item,
    Placement,
    Scene,
    Spot,
    back_to_front,
    setting,
    standing_zone,
    with_copies,
)
from services.generator.engines.poster_look import stable_int
from shared.messages.scene import Scene as LivingScene
from shared.messages.scene import SceneElement

MAX_COVER = 0.4  # an entering element may cover at most this share of one that stays
_STEP = 0.02  # of the width, per try when sliding an entering element aside


@dataclass(frozen=True)
class Tone:
    """How the mood and weather light the picture: lightness and colourfulness factors around 1."""

    light: float = 1.0
    chroma: float = 1.0


def tone(living: LivingScene) -> Tone:
    """Cheerful and lively: brighter and more colourful; gloomy and flat: darker and greyer; rain or cloud: grey."""
    light = 1.0 + 0.2 * living.valence
    chroma = (0.75 + 0.5 * living.energy) * (1.0 + 0.3 * living.valence)
    if living.weather in ("rain", "cloudy"):
        light, chroma = light * 0.88, chroma * 0.6
    return Tone(min(1.25, max(0.7, light)), min(1.5, max(0.3, chroma)))


def _fraction(element: SceneElement, what: str) -> float:
    """A number in [0, 1) fixed by the element's id: where it stands stays put from window to window."""
    return stable_int("living", element.id, what) % 10_000 / 10_000


def compose_living(items: list[Item], elements: Mapping[str, SceneElement], living: LivingScene, width: int,
                   height: int) -> Scene:
    """`elements` maps each item's keyword to its scene element. The oldest is placed where the scene puts it;
    each younger one as near its `x` as the older ones allow (so its place depends only on older elements)."""
    _, found = setting(items)
    ground = Ground.INDOOR if living.place == "indoors" else Ground.SNOW if living.weather == "snow" \
        else found if found in (Ground.SAND, Ground.SNOW) else Ground.GRASS
    horizon = height * (0.64 if ground is Ground.INDOOR else 0.58)
    unit = min(width, height * 1.2)
    oldest_first = sorted(items, key=lambda i: (elements[i.keyword].entered, elements[i.keyword].id))
    placements: list[Placement] = []
    solid: list[Placement] = []  # what stays: a newcomer may stand over what is fading out, never over these
    for item in oldest_first:
        element = elements[item.keyword]
        zone = standing_zone(item.glyph.zone, ground)
        spot = _clear(element, zone, width, height, horizon, unit, ground, solid)
        rng = np.random.default_rng(stable_int("living", element.id))
        drawn = with_copies(item, zone, spot, width, rng)
        placements += drawn
        solid += [] if element.fading else drawn
    return Scene(living.time_of_day == "night", ground, horizon, back_to_front(placements, ground))


def _clear(element: SceneElement, zone: Zone, width: int, height: int, horizon: float, unit: float,
           ground: Ground, placed: list[Placement]) -> Spot:
    """The element's spot, moved as little as it takes to cover at most MAX_COVER of anything placed before it:
    first sideways at its own depth, then sideways at other depths; where nothing qualifies, the least cover."""
    best, best_cover = None, float("inf")
    own = _fraction(element, "where")
    for where in (own, (own + 0.5) % 1, (own + 0.25) % 1, (own + 0.75) % 1):
        spot = _spot(element, zone, width, height, horizon, unit, ground, where)
        x, cover = _clear_x(spot, placed, width)
        if cover <= MAX_COVER:
            return replace(spot, x=x)
        if cover < best_cover:
            best, best_cover = replace(spot, x=x), cover
    assert best is not None
    return best


def _spot(element: SceneElement, zone: Zone, width: int, height: int, horizon: float, unit: float,
          ground: Ground, where: float) -> Spot:
    size = BASE_SIZE[zone] * unit * (0.6 + 0.3 * element.weight)
    haze = 0.45 if element.fading else 0.0  # on its way out: it pales into the air
    x = element.x * width
    if zone is Zone.SKY:
        return Spot(size, height * (0.16 + 0.16 * where) + size * 0.5, 0.5 + haze, False, x)
    if zone is Zone.LAND:
        return Spot(size, horizon + height * 0.03, 0.75 + haze / 2, False, x)
    if zone is Zone.GROUND and ground is not Ground.INDOOR:
        near = 0.35 + 0.55 * where
        return Spot(size * (0.6 + 0.4 * near), horizon + (height * 0.94 - horizon) * near, 1.0 - near + haze, True, x)
    if zone is Zone.GROUND:
        return Spot(size, horizon - height * (0.02 + 0.06 * where), 0.3 + haze, False, x)
    front = height * 0.9 if ground is not Ground.INDOOR else horizon + (height - horizon) * (0.3 + 0.3 * where)
    return Spot(size, front, haze, True, x)


def _box(x: float, bottom: float, size: float) -> tuple[float, float, float, float]:
    return x - size / 2, bottom - size, x + size / 2, bottom


def _covered(box: tuple[float, float, float, float], other: tuple[float, float, float, float]) -> float:
    """The share of `other` that `box` covers."""
    w = min(box[2], other[2]) - max(box[0], other[0])
    h = min(box[3], other[3]) - max(box[1], other[1])
    area = (other[2] - other[0]) * (other[3] - other[1])
    return max(0.0, w) * max(0.0, h) / area if area > 0 else 0.0


def _clear_x(spot: Spot, placed: list[Placement], width: int) -> tuple[float, float]:
    """The nearest centre to the scene's `x` at which the element covers at most MAX_COVER of each thing already
    placed (or, where none does, the one that covers least), and how much it covers there."""
    low, high = spot.size / 2, width - spot.size / 2
    best, best_cover = spot.x, float("inf")
    for k in range(int(1 / _STEP) * 2 + 1):
        offset = (k + 1) // 2 * _STEP * width * (1 if k % 2 else -1)
        x = min(max(spot.x + offset, low), high)
        cover = max((_covered(_box(x, spot.bottom, spot.size), _box(p.x, p.bottom, p.size)) for p in placed),
                    default=0.0)
        if cover <= MAX_COVER:
            return x, cover
        if cover < best_cover:
            best, best_cover = x, cover
    return best, best_cover
