"""How a poster looks: a palette and a finish chosen from the prompt's style, mood and keywords."""

from __future__ import annotations

import colorsys
import hashlib
from dataclasses import dataclass

import numpy as np

Color = np.ndarray  # float32 RGB in 0..1


@dataclass(frozen=True)
class Finish:
    """The feel of a style: light or dark ground, how saturated, how soft the edges, which typeface."""

    dark: bool = False
    saturation: float = 0.55
    softness_px: float = 1.5  # edge blur; watercolor bleeds, pop art is crisp
    texture: float = 0.05  # strength of the low-frequency paper/canvas mottling
    serif: bool = False
    hue_spread_deg: float = 35.0  # analogous colours around the base hue


# Matched by substring, first hit wins; anything else is "default". The poster and the illustrator each give
# every family a finish of their own.
FAMILIES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("watercolor", "watercolour", "aquarelle"), "watercolor"),
    (("neon", "cyberpunk", "synthwave", "vaporwave", "night"), "neon"),
    (("oil", "impressionis", "renaissance", "baroque"), "oil"),
    (("pastel", "dream", "soft"), "pastel"),
    (("ink", "sketch", "pencil", "charcoal", "noir", "monochrome"), "ink"),
    (("pop", "comic", "bauhaus", "flat", "poster", "minimal"), "pop"),
    (("photo", "cinematic", "realistic"), "cinematic"),
    (("storybook", "fairy tale", "children"), "storybook"),
    (("pixel", "8-bit", "16-bit"), "pixel"),
)
_FINISHES = {
    "watercolor": Finish(saturation=0.5, softness_px=6, texture=0.06, serif=True),
    "neon": Finish(dark=True, saturation=0.95, softness_px=1.5, texture=0.03, hue_spread_deg=70),
    "oil": Finish(dark=True, saturation=0.6, softness_px=3, texture=0.1, serif=True),
    "pastel": Finish(saturation=0.38, softness_px=4, texture=0.04),
    "ink": Finish(saturation=0.08, softness_px=2, texture=0.08, serif=True, hue_spread_deg=10),
    "pop": Finish(saturation=0.8, softness_px=1.0, texture=0.0),
    "cinematic": Finish(dark=True, saturation=0.45, softness_px=2, texture=0.03),
}

_WARM_MOODS = ("happy", "joy", "positive", "excited", "warm", "playful", "upbeat", "cheer")
_COOL_MOODS = ("sad", "negative", "angry", "tense", "dark", "gloomy", "anxious", "melanchol", "wistful", "somber",
               "sombre")


def style_family(style: str) -> str:
    lowered = style.lower()
    return next((family for words, family in FAMILIES if any(word in lowered for word in words)), "default")


def finish_for(style: str) -> Finish:
    return _FINISHES.get(style_family(style), Finish())


def warmth(mood: str) -> int:
    """+1 for a warm mood, -1 for a cool one, 0 otherwise."""
    lowered = mood.lower()
    if any(m in lowered for m in _WARM_MOODS):
        return 1
    return -1 if any(m in lowered for m in _COOL_MOODS) else 0


def stable_int(*parts: object) -> int:
    """A 64-bit number from the parts, the same on every machine and run (unlike `hash`)."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big")


@dataclass(frozen=True)
class Palette:
    """Ground gradient, three shape colours from near to far, an accent and the ink for type."""

    sky_top: Color
    sky_bottom: Color
    shapes: tuple[Color, Color, Color]
    accent: Color
    ink: Color
    dark: bool


def _hls(hue_deg: float, lightness: float, saturation: float) -> Color:
    rgb = colorsys.hls_to_rgb((hue_deg % 360) / 360, min(max(lightness, 0), 1), min(max(saturation, 0), 1))
    return np.array(rgb, dtype=np.float32)


def palette_for(keywords: tuple[str, ...], style: str, mood: str, finish: Finish) -> Palette:
    """Same words and style, same colours: the hue comes from the keywords, the mood nudges its warmth."""
    hue: float = stable_int("hue", *(k.lower() for k in keywords[:3]), style.lower()) % 360
    if warmth(mood):
        hue = _toward(hue, 35 if warmth(mood) > 0 else 220, 0.45)
    spread, sat = finish.hue_spread_deg, finish.saturation
    if finish.dark:
        sky_top, sky_bottom = _hls(hue + spread, 0.08, sat * 0.6), _hls(hue - spread * 0.5, 0.22, sat * 0.7)
        shapes = (_hls(hue, 0.5, sat), _hls(hue - spread, 0.38, sat), _hls(hue + spread, 0.28, sat * 0.8))
        ink = _hls(hue, 0.95, 0.15)
    else:
        sky_top, sky_bottom = _hls(hue + spread, 0.93, sat * 0.5), _hls(hue - spread * 0.5, 0.84, sat * 0.6)
        shapes = (_hls(hue, 0.62, sat), _hls(hue - spread, 0.48, sat), _hls(hue + spread * 0.6, 0.32, sat * 0.9))
        ink = _hls(hue + spread * 0.6, 0.14, min(sat, 0.5))
    accent = _hls(hue + 180, 0.6 if finish.dark else 0.55, max(sat, 0.6))
    return Palette(sky_top, sky_bottom, shapes, accent, ink, finish.dark)


def _toward(hue: float, target: float, amount: float) -> float:
    delta = (target - hue + 180) % 360 - 180
    return (hue + delta * amount) % 360
