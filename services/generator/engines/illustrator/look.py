"""How an illustration looks: the background of its setting and mood, and each style's finish.

Everything full-frame is done with Pillow's C routines (row gradients, polygons, look-up tables, multiply),
and the per-glyph treatments (outline, glow, soft edges, monochrome) are cached with the raster, which keeps a
1080p picture within a few hundred milliseconds on one core. The e-paper finish (`paper`, `in_inks`) draws for a
panel of a few inks: bold outlines, and flat fills in the inks themselves, so a dither has nothing to break up.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageEnhance, ImageFilter, ImageOps

from services.generator.engines import row_bands
from services.generator.engines.illustrator.catalog import Glyph
from services.generator.engines.illustrator.raster import ImageCache, image_bytes, raster
from services.generator.engines.illustrator.scene import Ground, Scene
from shared.inks import Inks

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

PAPER_OUTLINE = 0.03  # the e-paper finish's outline, as a fraction of the glyph: a line a dither cannot fray
_CHROMA_BOOST = 2.0  # a picture's colourfulness, raised before its colours are matched to the inks
_LIGHTNESS_WEIGHT = 0.5  # lightness against hue when matching them

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


SEA_BAND = 0.07  # of the height: the sea below a beach's horizon


def background(scene: Scene, width: int, height: int, look: Look, warmth: int, rng: np.random.Generator,
               light: float = 1.0, chroma: float = 1.0, flat: bool = False) -> Image.Image:
    """Sky and ground (or wall and table) as row gradients (`flat`: each one colour, for a panel of few inks),
    with hills or sea at the horizon and stars at night."""
    horizon = int(scene.horizon)
    indoor = scene.ground is Ground.INDOOR
    top, low = _WALL if indoor else _SKY[scene.night or look.palette == "neon"]
    far, near = _GROUND[scene.ground]
    colors = [treat(c, look, warmth, scene.night and not indoor, light, chroma) for c in (top, low, far, near)]
    rows = np.empty((height, 3), np.float32)
    t = _ramp(horizon, flat)
    rows[:horizon] = np.array(colors[0]) * (1 - t) + np.array(colors[1]) * t
    t = _ramp(height - horizon, flat) ** 0.8
    rows[horizon:] = np.array(colors[2]) * (1 - t) + np.array(colors[3]) * t
    image = Image.fromarray(rows.astype(np.uint8)[:, None, :], "RGB").resize((width, height), Image.Resampling.NEAREST)
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
        band = height * SEA_BAND
        sea = _ints(treat(_SEA, look, warmth, scene.night, light, chroma))
        draw.rectangle([0, horizon - 1, width, horizon + band], fill=sea)
        return image
    hill = _ints(_mix(colors[1], colors[2], 0.55))
    phase, waves = rng.uniform(0, 6.3), rng.uniform(1.5, 3.5)
    xs = np.linspace(0, width, 48)
    ys = horizon - height * 0.05 * (1 + np.sin(phase + xs / width * waves * 6.3)) / 2 - height * 0.01
    draw.polygon([(0, horizon + 2), *zip(xs.tolist(), ys.tolist(), strict=True), (width, horizon + 2)], fill=hill)
    return image


def _ramp(rows: int, flat: bool) -> np.ndarray:
    """0 to 1 down `rows` rows, as a column; all ½ when `flat`."""
    return np.full((max(rows, 1), 1), 0.5) if flat else np.linspace(0, 1, max(rows, 1))[:, None]


def _ints(color: RGB) -> tuple[int, int, int]:
    return int(color[0]), int(color[1]), int(color[2])


_STYLED: ImageCache[tuple[Image.Image, int]] = ImageCache(32 * 2**20, lambda entry: image_bytes(entry[0]))


def paper(look: Look) -> Look:
    """A style's e-paper finish: its palette with bold outlines, and nothing a dither would turn into dots (soft
    edges, glow, paper texture, grain, vignette)."""
    return replace(look, outline=max(look.outline, PAPER_OUTLINE), glow=False, soften=0.0, texture=0.0, grain=0.0,
                   vignette=0.0)


def styled(glyph: Glyph, size: int, family: str, on_paper: bool = False) -> tuple[Image.Image, int]:
    """The glyph with its style's treatment (its e-paper finish when `on_paper`), and the padding added around it
    (for outline or glow); cached."""
    return _STYLED.get_or_make((glyph.hexcode, size, family, on_paper), lambda: _style(glyph, size, family, on_paper))


def _style(glyph: Glyph, size: int, family: str, on_paper: bool) -> tuple[Image.Image, int]:
    look = LOOKS.get(family, LOOKS["default"])
    look = paper(look) if on_paper else look
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
    """Frame-wide treatment: texture, grain, vignette, letterbox, pixels (in place, but for pixels)."""
    width, height = image.size
    if look.texture:
        _multiply(image, _noise(width, height, 24, look.texture, rng))
    if look.grain:
        _multiply(image, _noise(width, height, 2, look.grain, rng))
    if look.vignette:
        _multiply(image, _vignette(width, height, look.vignette))
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


def in_inks(image: Image.Image, inks: Inks) -> Image.Image:
    """Each colour as the ink it is most like, in the inks' canonical colours (what the panel's driver takes),
    with specks of a pixel or two folded into what surrounds them.

    Colours are matched in OKLab, where distance follows what an eye tells apart, against the canonical inks:
    what they are called (the sky is the blue ink, the outline the black), not how dull a panel shows them. The
    picture's colourfulness is raised first, since a screen's pastels are nearer white than any coloured ink, and
    lightness counts half, so a dark green field is the green ink and not the black."""
    palette_image = image.convert("RGB").quantize(256, Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
    colors = _oklab(np.array(palette_image.getpalette() or [0, 0, 0], np.float32).reshape(-1, 3))
    colors[:, 0] *= _LIGHTNESS_WEIGHT
    colors[:, 1:] *= _CHROMA_BOOST
    targets = _oklab(np.array(inks.colors, np.float32))
    targets[:, 0] *= _LIGHTNESS_WEIGHT
    nearest = ((colors[:, None, :] - targets[None]) ** 2).sum(-1).argmin(1)
    lut = [int(nearest[i]) if i < len(nearest) else 0 for i in range(256)]
    indices = _despeckle(Image.frombytes("L", image.size, palette_image.tobytes()).point(lut), len(targets))
    inked = Image.frombytes("P", image.size, indices.tobytes())
    inked.putpalette([c for rgb in inks.colors for c in rgb])
    return inked.convert("RGB")


def _despeckle(indices: Image.Image, inks: int) -> Image.Image:
    """Each pixel the ink most common among it and its eight neighbours (its own on a tie), so a speck of a pixel
    or two joins what surrounds it. Counted per ink with a 3×3 box blur: a tenth of Pillow's ModeFilter's time."""
    shown = np.asarray(indices)
    counts = np.stack([np.asarray(Image.fromarray(np.where(shown == ink, 28, 0).astype(np.uint8))
                                  .filter(ImageFilter.BoxBlur(1))) for ink in range(inks)]).astype(np.int16)
    counts += np.arange(inks, dtype=np.int16)[:, None, None] == shown[None]  # 28 per neighbour: +1 breaks ties only
    return Image.fromarray(counts.argmax(axis=0).astype(np.uint8), "L")


def _oklab(rgb: np.ndarray) -> np.ndarray:
    """sRGB rows (0-255) in OKLab (Björn Ottosson's matrices): distances there follow what an eye tells apart."""
    c = rgb / 255.0
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    lms = np.cbrt(linear @ _TO_LMS.T)
    return lms @ _TO_OKLAB.T


_TO_LMS = np.array([[0.4122214708, 0.5363325363, 0.0514459929], [0.2119034982, 0.6806995451, 0.1073969566],
                    [0.0883024619, 0.2817188376, 0.6299787005]], np.float32)
_TO_OKLAB = np.array([[0.2104542553, 0.7936177850, -0.0040720468], [1.9779984951, -2.4285922050, 0.4505937099],
                      [0.0259040371, 0.7827717662, -0.8086757660]], np.float32)


def _multiply(image: Image.Image, factor: Image.Image) -> None:
    """`image` times `factor` (grey, its size), a band of rows at a time: an RGB copy of the factor and the product
    each cost as much as the picture (64 MB at 4096²)."""
    width, height = image.size
    for rows in row_bands(height, width):
        box = (0, rows.start, width, rows.stop)
        image.paste(ImageChops.multiply(image.crop(box), factor.crop(box).convert("RGB")), box)


def _noise(width: int, height: int, cell: int, strength: float, rng: np.random.Generator) -> Image.Image:
    """Multiplicative mottling: values near white, `cell` pixels per noise sample (2 = film grain)."""
    shape = (max(1, height // cell), max(1, width // cell))
    values = (255 * (1 - strength * rng.random(shape, dtype=np.float32))).astype(np.uint8)
    return Image.fromarray(values, "L").resize((width, height), Image.Resampling.BICUBIC)


def _vignette(width: int, height: int, strength: float) -> Image.Image:
    y, x = np.mgrid[0:64, 0:64].astype(np.float32) / 63 - 0.5
    fall = 1 - strength * np.clip(np.hypot(x, y) * 1.5 - 0.25, 0, 1) ** 1.6
    return Image.fromarray((fall * 255).astype(np.uint8), "L").resize((width, height), Image.Resampling.BICUBIC)
