"""A room's living scene laid out: each element where the scene says (its `x`), at a height and depth fixed by
its id, sized by its weight. Its place depends on nothing else in the scene, so what stays keeps its place while
others come and go (the prompter gives a newcomer an `x` in the free room between the others).
The setting picks day or night and the ground, the mood the light and colour. All of it comes from the prompt,
so the generator keeps no state and any replica paints the same place for the same element."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np

from services.generator.engines.illustrator.catalog import Glyph, Zone
from services.generator.engines.illustrator.look import SEA_BAND
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
from shared.messages.image import DrawnElement, Falling, Layout, Motion
from shared.messages.scene import Scene as LivingScene
from shared.messages.scene import SceneElement

_MOTION: dict[str, Motion] = {  # by illustration name; whatever else is drawn keeps still
    "fire": "flicker", "candle": "flicker", "diya lamp": "flicker", "sparkler": "flicker", "star": "twinkle",
    "glowing star": "twinkle", "shooting star": "twinkle", "sparkles": "twinkle", "fireworks": "twinkle"}


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
    """`elements` maps each item's keyword to its scene element. Each stands at the scene's `x`, at the depth its id
    fixes, sized by its weight: its place depends on nothing else in the scene, so it stays put while others come
    and go (the prompter puts a newcomer's `x` in the free room between the others)."""
    _, found = setting(items)
    ground = Ground.INDOOR if living.place == "indoors" else Ground.SNOW if living.weather == "snow" \
        else found if found in (Ground.SAND, Ground.SNOW) else Ground.GRASS
    horizon = height * (0.64 if ground is Ground.INDOOR else 0.58)
    unit = min(width, height * 1.2)
    placements: list[Placement] = []
    for item in items:
        element = elements[item.keyword]
        zone = standing_zone(item.glyph.zone, ground)
        spot = _spot(element, zone, width, height, horizon, unit, ground, _fraction(element, "where"))
        spot = replace(spot, x=min(max(spot.x, spot.size / 2), width - spot.size / 2))
        placements += with_copies(item, zone, spot, width, np.random.default_rng(stable_int("living", element.id)))
    return Scene(living.time_of_day == "night", ground, horizon, back_to_front(placements, ground))


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


def drawn(items: list[Item], elements: Mapping[str, SceneElement], living: LivingScene, scene: Scene, width: int,
          height: int) -> Layout:
    """The scene as `compose_living` laid it out, for a frame: each element's box (its main copy, the largest)
    by id with its motion (flames flicker, stars twinkle), the horizon, and the setting's motion (a night sky's
    stars, falling snow or rain, the sea at a beach)."""
    main: dict[Glyph, Placement] = {}
    for placement in scene.placements:
        if placement.glyph not in main or placement.size > main[placement.glyph].size:
            main[placement.glyph] = placement
    horizon = scene.horizon / height
    return Layout(
        elements=tuple(DrawnElement(id=elements[item.keyword].id, box=main[item.glyph].box(width, height),
                                    motion=_MOTION.get(item.glyph.name, "still")) for item in items),
        horizon=horizon, stars=scene.night and scene.ground is not Ground.INDOOR,
        falling=_falling(living),
        sea=(0.0, horizon, 1.0, min(1.0, horizon + SEA_BAND)) if scene.ground is Ground.SAND else None)


def _falling(living: LivingScene) -> Falling:
    if living.place == "indoors":
        return "none"
    return "snow" if living.weather == "snow" else "rain" if living.weather == "rain" else "none"
