"""How an illustration looks: the background of its setting and mood, and each style's finish.

Everything full-frame is done with Pillow's C routines (row gradients, polygons, look-up tables, multiply),
and the per-glyph treatments (outline, glow, soft edges, monochrome) are cached with the raster, which keeps a
1080p picture within a few hundred milliseconds on one core.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageEnhance, ImageFilter, ImageOps

from services.generator.engines.illustrator.catalog import Glyph
from services.generator.engines.illustrator.raster import ImageCache, image_bytes, raster
from services.generator.engines.illustrator.scene import Ground, Scene

RGB = tuple[float, float, float]


@dataclass(frozen=True)
class Look:
    """A style family's finish: palette treatment, glyph treatment and frame treatment."""

    palette: str = "natural"  # natural, neon, pastel, sepia, vivid, teal-orange, warm
    outline: float = 0.0  # dark outline width, as a fraction of the glyph size (pop art, storybook)
    glow: bool = False  # neon light around each thing
    soften: float = 0.0  # blur of glyph edges, fraction of glyph size (watercolor bleeds)
    mono: bool = False  # ink and pencil: no colour
    saturation: float = 1.0
    texture: float = 0.0  # paper/canvas mottling strength
    grain: float = 0.0  # fine film grain strength
    vignette: float = 0.0
    letterbox: bool = False
    pixel: bool = False


LOOKS = {
    "default": Look(),
    "watercolor": Look(palette="warm", soften=0.004, saturation=0.85, texture=0.09),
    "oil": Look(palette="warm", saturation=1.25, texture=0.07, grain=0.05, vignette=0.35),
    "neon": Look(palette="neon", glow=True, saturation=1.4, vignette=0.3),
    "pastel": Look(palette="pastel", saturation=0.65, soften=0.003, texture=0.03),
    "ink": Look(palette="sepia", mono=True, texture=0.08),
    "pop": Look(palette="vivid", outline=0.035, saturation=1.45),
    "cinematic": Look(palette="teal-orange", grain=0.06, vignette=0.5, letterbox=True),
    "storybook": Look(palette="warm", outline=0.015, saturation=1.1, texture=0.05),
    "pixel": Look(palette="vivid", pixel=True, saturation=1.2),
}

_SKY = {False: ((105, 165, 228), (206, 228, 246)), True: ((10, 16, 46), (44, 56, 108))}
_GROUND = {Ground.GRASS: ((132, 178, 96), (72, 132, 62)), Ground.SNOW: ((222, 230, 242), (248, 250, 253)),
           Ground.SAND: ((228, 204, 150), (242, 218, 166)), Ground.INDOOR: ((156, 104, 62), (118, 74, 44))}
_WALL = ((238, 224, 198), (214, 194, 164))
_SEA = (58, 138, 198)


def _mix(a: RGB, b: RGB, t: float) -> RGB:
    return (a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t)


def treat(color: RGB, look: Look, warmth: int, night: bool, light: float = 1.0, chroma: float = 1.0) -> RGB:
    """A background colour through the style's palette and the mood (warm moods golden, cool ones grey-blue),
    then a living scene's light (lightness factor) and chroma (colourfulness factor)."""
    r, g, b = color
    lum = 0.3 * r + 0.59 * g + 0.11 * b
    if look.palette == "neon":
        r, g, b = _mix((r, g, b), (r * 0.25 + 10, g * 0.1 + 4, b * 0.35 + 30), 0.85)
    elif look.palette == "pastel":
        r, g, b = _mix((r, g, b), (250, 246, 250), 0.45)
    elif look.palette == "sepia":
        k = 0.72 + 0.28 * lum / 255
        r, g, b = 246 * k, 236 * k, 214 * k
    elif look.palette == "vivid":
        r, g, b = _mix((lum, lum, lum), (r, g, b), 1.35)
    elif look.palette == "teal-orange":
        r, g, b = (r * 0.9, g * 1.0, b * 1.08) if lum < 140 else (r * 1.08, g * 0.98, b * 0.86)
    elif look.palette == "warm":
        r, g, b = r * 1.04, g * 1.0, b * 0.93
    if warmth:
        r, g, b = r * (1 + 0.07 * warmth), g * (1 + 0.01 * warmth), b * (1 - 0.07 * warmth)
        if warmth < 0:
            r, g, b = _mix((r, g, b), (lum * 0.85, lum * 0.88, lum * 0.95), 0.35)
    if night and look.palette != "neon":
        r, g, b = r * 0.55, g * 0.6, b * 0.8
    if light != 1.0 or chroma != 1.0:
        grey = (0.3 * r + 0.59 * g + 0.11 * b,) * 3
        r, g, b = (c * light for c in _mix(grey, (r, g, b), chroma))
    return (min(max(r, 0), 255), min(max(g, 0), 255), min(max(b, 0), 255))


def background(scene: Scene, width: int, height: int, look: Look, warmth: int,
               rng: np.random.Generator, light: float = 1.0, chroma: float = 1.0) -> Image.Image:
    """Sky and ground (or wall and table) as row gradients, with hills or sea at the horizon and stars at night."""
    horizon = int(scene.horizon)
    indoor = scene.ground is Ground.INDOOR
    top, low = _WALL if indoor else _SKY[scene.night or look.palette == "neon"]
    far, near = _GROUND[scene.ground]
    colors = [treat(c, look, warmth, scene.night and not indoor, light, chroma) for c in (top, low, far, near)]
    rows = np.empty((height, 3), np.float32)
    t = np.linspace(0, 1, max(horizon, 1))[:, None]
    rows[:horizon] = np.array(colors[0]) * (1 - t) + np.array(colors[1]) * t
    t = np.linspace(0, 1, max(height - horizon, 1))[:, None] ** 0.8
    rows[horizon:] = np.array(colors[2]) * (1 - t) + np.array(colors[3]) * t
    image = Image.fromarray(np.repeat(rows.astype(np.uint8)[:, None, :], width, axis=1), "RGB")
    draw = ImageDraw.Draw(image)
    unit = min(width, height)
    if indoor:
        draw.line([(0, horizon), (width, horizon)], fill=_ints(_mix(colors[2], (255, 240, 220), 0.35)),
                  width=max(1, unit // 120))
        return image
    if scene.night or look.palette == "neon":
        for _ in range(int(width * horizon / 9000)):
            x, y, r = rng.uniform(0, width), rng.uniform(0, horizon * 0.9), rng.uniform(0.4, 1.3) * unit / 700
            draw.ellipse([x - r, y - r, x + r, y + r], fill=_ints(_mix(colors[1], (255, 250, 230), 0.8)))
    if scene.ground is Ground.SAND:
        band = height * 0.07
        sea = _ints(treat(_SEA, look, warmth, scene.night, light, chroma))
        draw.rectangle([0, horizon - 1, width, horizon + band], fill=sea)
        return image
    hill = _ints(_mix(colors[1], colors[2], 0.55))
    phase, waves = rng.uniform(0, 6.3), rng.uniform(1.5, 3.5)
    xs = np.linspace(0, width, 48)
    ys = horizon - height * 0.05 * (1 + np.sin(phase + xs / width * waves * 6.3)) / 2 - height * 0.01
    draw.polygon([(0, horizon + 2), *zip(xs.tolist(), ys.tolist(), strict=True), (width, horizon + 2)], fill=hill)
    return image


def _ints(color: RGB) -> tuple[int, int, int]:
    return int(color[0]), int(color[1]), int(color[2])


_STYLED: ImageCache[tuple[Image.Image, int]] = ImageCache(32 * 2**20, lambda entry: image_bytes(entry[0]))


def styled(glyph: Glyph, size: int, family: str) -> tuple[Image.Image, int]:
    """The glyph with its style's treatment, and the padding added around it (for outline or glow); cached."""
    return _STYLED.get_or_make((glyph.hexcode, size, family), lambda: _style(glyph, size, family))


def _style(glyph: Glyph, size: int, family: str) -> tuple[Image.Image, int]:
    look = LOOKS.get(family, LOOKS["default"])
    image = raster(glyph, size)
    pad = int(size * max(look.outline * 1.5, 0.12 if look.glow else 0, look.soften * 2)) + 1
    if look.mono:
        alpha = image.getchannel("A")
        image = ImageOps.colorize(ImageOps.autocontrast(image.convert("L")), (38, 30, 24), (250, 244, 230))
        image.putalpha(alpha)
    elif look.saturation != 1.0:
        alpha = image.getchannel("A")
        image = ImageEnhance.Color(image.convert("RGB")).enhance(look.saturation).convert("RGBA")
        image.putalpha(alpha)
    if look.palette == "pastel":
        alpha = image.getchannel("A")
        image = Image.blend(image, Image.new("RGBA", image.size, (255, 250, 252, 255)), 0.22)
        image.putalpha(alpha)
    canvas = Image.new("RGBA", (image.width + 2 * pad, image.height + 2 * pad), (0, 0, 0, 0))
    canvas.alpha_composite(image, (pad, pad))
    if look.outline:
        # a dilation by blur and threshold: Pillow's MaxFilter costs the square of its width
        radius = max(1.0, size * look.outline / 2)
        alpha = canvas.getchannel("A").filter(ImageFilter.GaussianBlur(radius)).point(lambda v: 255 if v > 8 else 0)
        ink = (24, 18, 30, 255) if family != "storybook" else (88, 58, 36, 255)
        outlined = Image.new("RGBA", canvas.size, ink)
        outlined.putalpha(alpha)
        outlined.alpha_composite(canvas)
        canvas = outlined
    if look.glow:
        glow = canvas.filter(ImageFilter.GaussianBlur(max(1, size * 0.05)))
        glow = ImageEnhance.Brightness(glow).enhance(1.6)
        glow.alpha_composite(canvas)
        canvas = glow
    if look.soften:
        canvas = canvas.filter(ImageFilter.GaussianBlur(max(0.5, size * look.soften)))
    return canvas, pad


def finish(image: Image.Image, look: Look, rng: np.random.Generator) -> Image.Image:
    """Frame-wide treatment: texture, grain, vignette, letterbox, pixels."""
    width, height = image.size
    if look.texture:
        image = ImageChops.multiply(image, _noise(width, height, 24, look.texture, rng))
    if look.grain:
        image = ImageChops.multiply(image, _noise(width, height, 2, look.grain, rng))
    if look.vignette:
        image = ImageChops.multiply(image, _vignette(width, height, look.vignette))
    if look.letterbox and width > height:
        bar = int(height * 0.07)
        draw = ImageDraw.Draw(image)
        draw.rectangle([0, 0, width, bar], fill=(0, 0, 0))
        draw.rectangle([0, height - bar, width, height], fill=(0, 0, 0))
    if look.pixel:
        block = max(2, min(width, height) // 110)
        small = image.resize((max(1, width // block), max(1, height // block)), Image.Resampling.BOX)
        image = small.resize((width, height), Image.Resampling.NEAREST)
    return image


def _noise(width: int, height: int, cell: int, strength: float, rng: np.random.Generator) -> Image.Image:
    """Multiplicative mottling: values near white, `cell` pixels per noise sample (2 = film grain)."""
    shape = (max(1, height // cell), max(1, width // cell))
    values = (255 * (1 - strength * rng.random(shape, dtype=np.float32))).astype(np.uint8)
    return Image.fromarray(values, "L").resize((width, height), Image.Resampling.BICUBIC).convert("RGB")


def _vignette(width: int, height: int, strength: float) -> Image.Image:
    y, x = np.mgrid[0:64, 0:64].astype(np.float32) / 63 - 0.5
    fall = 1 - strength * np.clip(np.hypot(x, y) * 1.5 - 0.25, 0, 1) ** 1.6
    return Image.fromarray((fall * 255).astype(np.uint8), "L").resize((width, height), Image.Resampling.BICUBIC) \
        .convert("RGB")
