"""The scene grammar: where each depicted thing goes, how big, and in what order it is painted.

Sky things float high, landscape sits on the horizon, animals, people and tents stand on the ground (nearer is
lower and larger), food and objects take the foreground, or the table indoors. The top keyword is the largest
and nearest; the seed picks the composition (hero left, centre or right, horizon height, spacing).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum
from itertools import pairwise

import numpy as np

from services.generator.engines.illustrator.catalog import Glyph, Zone


class Ground(Enum):
    GRASS = "grass"
    SNOW = "snow"
    SAND = "sand"
    INDOOR = "indoor"


@dataclass(frozen=True)
class Item:
    """A keyword and the illustration that depicts it; `rank` 0 is the most important."""

    keyword: str
    glyph: Glyph
    rank: int
    plural: bool = False


@dataclass(frozen=True)
class Placement:
    glyph: Glyph
    x: float  # centre, pixels
    bottom: float  # where it stands, pixels
    size: int  # pixels
    depth: float  # 0 = nearest, 1 = at the horizon: haze and smaller shadows
    shadow: bool

    def box(self, width: int, height: int) -> tuple[float, float, float, float]:
        """Where the thing is drawn (left, top, right, bottom) as fractions of the picture, clipped to it: a frame
        that crops the picture to its panel keeps these whole."""
        half = self.size / 2
        return (max(0.0, (self.x - half) / width), max(0.0, (self.bottom - self.size) / height),
                min(1.0, (self.x + half) / width), min(1.0, self.bottom / height))


def covered(box: tuple[float, float, float, float], other: tuple[float, float, float, float]) -> float:
    """The share of `other`'s area that `box` covers (boxes as `Placement.box` gives them): how much a living
    scene's newcomer hides of what stays."""
    w = min(box[2], other[2]) - max(box[0], other[0])
    h = min(box[3], other[3]) - max(box[1], other[1])
    area = (other[2] - other[0]) * (other[3] - other[1])
    return max(0.0, w) * max(0.0, h) / area if area > 0 else 0.0


@dataclass(frozen=True)
class Scene:
    night: bool
    ground: Ground
    horizon: float  # pixels from the top; indoors, the table's front edge
    placements: tuple[Placement, ...]  # in painting order, back to front


_NIGHT = {"night", "moon", "star", "stars", "midnight", "evening", "owl", "bat", "milky", "fireworks", "dark",
          "aurora", "lights", "stargazing", "crescent", "sleep", "bedtime"}
_SNOW = {"snow", "ski", "skis", "skier", "skiing", "snowman", "snowflake", "winter", "ice", "sled", "snowboarder",
         "snowboard", "snow-capped", "penguin", "frozen", "igloo", "glacier"}
_SAND = {"beach", "sea", "ocean", "wave", "waves", "surf", "surfing", "sand", "island", "shell", "crab", "swimming",
         "sandcastle", "sunscreen", "tropical", "desert", "camel", "palm"}
_INDOOR = {"kitchen", "room", "table", "dinner", "lunch", "breakfast", "party", "birthday", "office", "home",
           "living", "bedroom", "classroom", "restaurant", "cafe", "indoors", "sofa", "couch"}
BASE_SIZE = {Zone.SKY: 0.2, Zone.LAND: 0.42, Zone.GROUND: 0.36, Zone.TABLE: 0.3}
_COMPOSITIONS = ("left", "centre", "right", "spread")


def words_of(items: list[Item]) -> set[str]:
    return {w for item in items for w in (*item.keyword.lower().split(), *item.glyph.name.split())}


def setting(items: list[Item]) -> tuple[bool, Ground]:
    """Night or day, and what the ground is, from the keywords and what depicts them."""
    words = words_of(items)
    outdoors = any(item.glyph.zone in (Zone.LAND, Zone.SKY) for item in items) or bool(words & (_SNOW | _SAND))
    counts = {Ground.SNOW: len(words & _SNOW), Ground.SAND: len(words & _SAND), Ground.INDOOR: len(words & _INDOOR)}
    if not outdoors and (counts[Ground.INDOOR] or all(item.glyph.zone is Zone.TABLE for item in items)):
        counts[Ground.INDOOR] += 2
    ground = max(counts, key=lambda g: counts[g]) if max(counts.values()) else Ground.GRASS
    return bool(words & _NIGHT), ground


def compose(items: list[Item], width: int, height: int, rng: np.random.Generator) -> Scene:
    """Deterministic for the same items, size and generator state."""
    night, ground = setting(items)
    layout = _COMPOSITIONS[int(rng.integers(len(_COMPOSITIONS)))]
    unit = min(width, height * 1.2)
    horizon = height * (rng.uniform(0.6, 0.7) if ground is Ground.INDOOR else rng.uniform(0.52, 0.64))
    by_zone: dict[Zone, list[Item]] = {zone: [] for zone in Zone}
    for item in items:
        by_zone[standing_zone(item.glyph.zone, ground)].append(item)
    zone_of = {item: zone for zone, members in by_zone.items() for item in members}
    placements: list[Placement] = []
    sky = by_zone[Zone.SKY]
    below = sorted((item for zone in (Zone.LAND, Zone.GROUND, Zone.TABLE) for item in by_zone[zone]),
                   key=lambda item: item.rank)  # one row of columns: things below the sky do not hide each other
    for group, mirror in ((sky, True), (below, False)):  # the sky's lead thing balances the ground's
        spots = [_spot(item, zone_of[item], height, horizon, unit, ground, rng) for item in group]
        xs = _columns(len(group), width, layout, rng, mirror)
        xs = _spread(xs, [spot.size * (1.7 if item.plural else 1.0) for item, spot in zip(group, spots, strict=True)],
                     width)
        for item, x, spot in zip(group, xs, spots, strict=True):
            placements += with_copies(item, zone_of[item], replace(spot, x=x), width, rng)
    return Scene(night, ground, horizon, back_to_front(placements, ground))


def standing_zone(zone: Zone, ground: Ground) -> Zone:
    """Where a thing of `zone` stands on this ground: indoors, people, pets and landscape stand behind the table."""
    return Zone.GROUND if ground is Ground.INDOOR and zone in (Zone.LAND, Zone.GROUND) else zone


def back_to_front(placements: list[Placement], ground: Ground) -> tuple[Placement, ...]:
    """The painting order: by zone (sky first), then the farther (higher-standing) before the nearer."""
    order = list(Zone)
    return tuple(sorted(placements, key=lambda p: (order.index(standing_zone(p.glyph.zone, ground)), p.bottom)))


def _columns(count: int, width: int, layout: str, rng: np.random.Generator, mirror: bool) -> list[float]:
    """Horizontal centres for `count` things, the first (most important) where the composition wants it."""
    if not count:
        return []
    hero = {"left": 0.3, "centre": 0.5, "right": 0.7, "spread": rng.uniform(0.25, 0.75)}[layout]
    hero = 1 - hero if mirror and layout != "centre" else hero + (0.22 if mirror else 0)
    slots = [0.1 + 0.8 * (i + 0.5) / count for i in range(count)]
    slots.sort(key=lambda s: abs(s - hero))
    jitter = 0.25 * 0.8 / count
    return [width * hero] + [width * (s + rng.uniform(-jitter, jitter)) for s in slots[1:]]


def _spread(xs: list[float], sizes: list[float], width: int) -> list[float]:
    """Push things apart until neighbours overlap by at most a quarter, keeping the first where it is; if the
    row is wider than the frame, everything moves to fit (overlap grows rather than things leaving the frame)."""
    if len(xs) < 2:
        return xs
    xs = list(xs)
    order = sorted(range(len(xs)), key=lambda i: xs[i])
    hero = order.index(0)
    for step in (1, -1):
        for a, b in pairwise(order[hero::step]):
            gap = 0.75 * (sizes[a] + sizes[b]) / 2 * 0.85
            xs[b] = max(xs[b], xs[a] + gap) if step == 1 else min(xs[b], xs[a] - gap)
    low, high = min(xs[i] - sizes[i] * 0.5 for i in order), max(xs[i] + sizes[i] * 0.5 for i in order)
    if high - low > width:
        scale = width / (high - low)
        return [(x - low) * scale for x in xs]
    shift = max(0.0, -low) - max(0.0, high - width)
    return [x + shift for x in xs]


@dataclass(frozen=True)
class Spot:
    """Where one thing stands before its copies are added: its size and foot in pixels, its depth and shadow."""

    size: float
    bottom: float
    depth: float
    shadow: bool
    x: float = 0.0


def _spot(item: Item, zone: Zone, height: int, horizon: float, unit: float, ground: Ground,
          rng: np.random.Generator) -> Spot:
    """How big, how far and standing where (by the zone and the keyword's importance)."""
    importance = 1.35 if item.rank == 0 else max(0.6, 1.0 - 0.09 * item.rank)
    size = BASE_SIZE[zone] * unit * importance
    if zone is Zone.SKY:
        return Spot(size, height * rng.uniform(0.18, 0.36) + size * 0.5, 0.5, False)
    if zone is Zone.LAND:
        return Spot(size, horizon + height * 0.03, 0.75, False)
    if zone is Zone.GROUND and ground is not Ground.INDOOR:
        near = 1.0 if item.rank == 0 else rng.uniform(0.35, 0.8)
        return Spot(size * (0.6 + 0.4 * near), horizon + (height * 0.94 - horizon) * near, 1.0 - near, True)
    if zone is Zone.GROUND:
        return Spot(size, horizon - height * rng.uniform(0.02, 0.08), 0.3, False)
    front = height * 0.9 if ground is not Ground.INDOOR else horizon + (height - horizon) * rng.uniform(0.3, 0.6)
    return Spot(size, front, 0.0, True)


def with_copies(item: Item, zone: Zone, spot: Spot, width: int, rng: np.random.Generator) -> list[Placement]:
    """A plural ("stars", "shells") is drawn as a small group around the main one."""
    main = Placement(item.glyph, spot.x, spot.bottom, _quantised(spot.size), spot.depth, spot.shadow)
    if not item.plural or zone is Zone.LAND:
        return [main]
    extra = []
    for k in (1, 2) if zone in (Zone.SKY, Zone.GROUND) else (1,):
        side = -1 if k % 2 else 1
        dx = side * spot.size * rng.uniform(0.55, 0.8)
        dy = -spot.size * rng.uniform(0.05, 0.25) if zone is not Zone.SKY else -spot.size * rng.uniform(-0.5, 0.5)
        extra.append(Placement(item.glyph, min(max(spot.x + dx, 0.0), width), spot.bottom + dy,
                               _quantised(spot.size * 0.72), min(1.0, spot.depth + 0.1), main.shadow))
    return [*extra, main]


def _quantised(size: float) -> int:
    """Sizes on a 6 % ladder, so the raster cache is hit across seeds instead of missed by a pixel."""
    return max(2, round(1.06 ** round(float(np.log(max(size, 2.0)) / np.log(1.06)))))
