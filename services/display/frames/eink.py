"""E-ink pictures: the room's picture fitted to a panel, toned, and dithered to the panel's few inks.

An e-paper panel shows a handful of inks, and its "white" is a grey-blue paper: dithering against the nominal
RGB leaves the picture washed out and specked. So a panel kind names its inks twice: the canonical colours its
driver expects in the file, and (where someone measured a real panel) what those inks look like. The picture is
dithered against the measured inks by `epaper-dithering` (error diffusion in a Rust core; tone
compression fitted to the measured range) and written with the canonical ones, so a driver maps each pixel to
an ink by exact colour.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from typing import Literal

import epaper_dithering as dithering
from PIL import Image, ImageDraw, ImageFont

from services.display.frames.tiles import Tile
from services.display.gallery import pixels
from shared.inks import INKS
from shared.messages.prompt import Finish

Box = tuple[float, float, float, float]  # left, top, right, bottom as fractions of the picture

@dataclass(frozen=True)
class Panel:
    """A frame kind: the panel's pixels and its inks (`finish` names them, and the illustrator draws in them)."""

    name: str
    width: int
    height: int
    finish: Finish
    about: str

    @property
    def inks(self) -> dithering.ColorPalette:
        return INKS[self.finish].canonical

    @property
    def measured(self) -> dithering.ColorPalette | None:
        return INKS[self.finish].measured

    @property
    def palette(self) -> list[tuple[int, int, int]]:
        """The canonical colours, in ink order: every pixel of what we serve is one of them."""
        return INKS[self.finish].colors


PANELS = {p.name: p for p in (
    Panel("spectra6-800x480", 800, 480, "spectra6", "Spectra 6, 7.3\" (Inky Impression 7.3\" 2025, Waveshare 7.3\" E)"),
    Panel("spectra6-1600x1200", 1600, 1200, "spectra6", "Spectra 6, 13.3\" (Inky Impression 13.3\")"),
    Panel("spectra6-600x400", 600, 400, "spectra6", "Spectra 6, 4\" (Inky Impression 4\" 2025)"),
    Panel("acep7-800x480", 800, 480, "acep7", "ACeP 7-colour, 7.3\" (Inky Impression 7.3\", Waveshare 7.3\" F)"),
    Panel("acep7-600x448", 600, 448, "acep7", "ACeP 7-colour, 5.7\" (Inky Impression 5.7\")"),
    Panel("grey4-800x480", 800, 480, "grey4", "4 greys, 7.5\" (Waveshare 7.5\" V2 in 4-grey mode)"),
    Panel("bw-800x480", 800, 480, "bw", "black and white, 7.5\" (TRMNL, Waveshare 7.5\" V2)"),
)}

DITHERS = {"floyd-steinberg": dithering.DitherMode.FLOYD_STEINBERG, "atkinson": dithering.DitherMode.ATKINSON,
           "burkes": dithering.DitherMode.BURKES, "none": dithering.DitherMode.NONE}
FORMATS = {"png": "image/png", "bmp": "image/bmp"}
Fit = Literal["keep", "cover", "contain"]
_MAX_SATURATION = 2.0


class BadLook(ValueError):
    """A query parameter that is no look we render (the message names the allowed values)."""


@dataclass(frozen=True)
class Look:
    """How to make the panel's picture: orientation, fit, dither, tone, and the inks to dither against."""

    portrait: bool = False
    fit: Fit = "keep"
    dither: str = "floyd-steinberg"
    saturation: float = 1.0
    tone: float | None = None  # dynamic-range compression 0-1; None: fitted to the measured inks ("auto")
    measured: bool = True
    format: str = "png"
    tile: Tile = field(default_factory=Tile)

    @classmethod
    def parse(cls, query: dict[str, str], format: str = "png") -> Look:
        """From `?orientation=&fit=&dither=&saturation=&tone=&inks=&tile=`; BadLook naming what is allowed."""
        orientation = query.get("orientation", "landscape")
        if orientation not in ("landscape", "portrait"):
            raise BadLook(f"orientation is landscape or portrait, not {orientation[:20]!r}")
        fit = query.get("fit", "keep")
        if fit not in ("keep", "cover", "contain"):
            raise BadLook(f"fit is keep (crop, but never through a depicted thing), cover or contain, not {fit[:20]!r}")
        dither = query.get("dither", "floyd-steinberg")
        if dither not in DITHERS:
            raise BadLook(f"dither is one of {', '.join(DITHERS)}, not {dither[:20]!r}")
        inks = query.get("inks", "measured")
        if inks not in ("measured", "nominal"):
            raise BadLook(f"inks is measured or nominal, not {inks[:20]!r}")
        if format not in FORMATS:
            raise BadLook(f"the picture comes as {' or '.join('.' + f for f in FORMATS)}, not .{format[:10]}")
        saturation = _number(query.get("saturation", "1"), "saturation", 0.0, _MAX_SATURATION)
        raw_tone = query.get("tone", "auto")
        tone = None if raw_tone == "auto" else _number(raw_tone, "tone", 0.0, 1.0)
        try:
            tile = Tile.parse(query.get("tile"))
        except ValueError as exc:
            raise BadLook(str(exc)) from exc
        return cls(orientation == "portrait", fit, dither, saturation, tone, inks == "measured", format,  # type: ignore[arg-type]
                   tile)

    def size(self, panel: Panel) -> tuple[int, int]:
        """One panel's pixels, turned for portrait."""
        return (panel.height, panel.width) if self.portrait else (panel.width, panel.height)

    def wall(self, panel: Panel) -> tuple[int, int]:
        """The pixels of the whole wall of panels the picture is fitted to (one panel's unless tiled)."""
        width, height = self.size(panel)
        return width * self.tile.columns, height * self.tile.rows

    @property
    def key(self) -> str:
        """Names this look in a cache key and an ETag."""
        tone = "auto" if self.tone is None else f"{self.tone:g}"
        return (f"{'p' if self.portrait else 'l'}.{self.fit}.{self.dither}.s{self.saturation:g}.t{tone}"
                f".{'m' if self.measured else 'n'}.{self.format}.{self.tile.key}")


def _number(raw: str, name: str, low: float, high: float) -> float:
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not low <= value <= high:
        raise BadLook(f"{name} is a number from {low:g} to {high:g}, not {raw[:20]!r}")
    return value


def render(data: bytes, panel: Panel, look: Look, regions: tuple[Box, ...] = ()) -> bytes:
    """The picture at the panel's size (fitted to the whole wall and cut to the panel's tile, when `look.tile` is
    one) in only the panel's canonical colours, encoded as `look.format`.

    A picture drawn in this panel's inks already (the illustrator's e-paper finish) is mapped ink for ink, not
    dithered: it has no colour to mix, and dots would only fray its outlines."""
    wall = look.wall(panel)
    pixels.check(data)
    with Image.open(io.BytesIO(data)) as image:
        image.draft("RGB", wall)  # JPEG: decode at a fraction of the size when that is enough
        rgb = image.convert("RGB")
    inked = drawn_in(rgb, panel)
    fitted = fit(rgb, *wall, look.fit, regions).crop(look.tile.box(*look.size(panel)))
    measured = panel.measured if look.measured and panel.measured is not None and not inked else None
    dithered = dithering.dither_image(
        fitted, measured or panel.inks, mode=DITHERS["none" if inked else look.dither], saturation=look.saturation,
        tone=("auto" if look.tone is None else look.tone) if measured else 0.0)  # gamut compression: 1.6× the time
    dithered.putpalette([c for rgb in panel.palette for c in rgb])  # same ink order: write the canonical colours
    if look.format == "bmp" and len(panel.palette) == 2:
        dithered = dithered.convert("1", dither=Image.Dither.NONE)  # a 1-bit BMP, as TRMNL's firmware draws it
    out = io.BytesIO()
    # zlib level 1: a quarter of the default's time for 8 % more bytes, on a LAN
    dithered.save(out, "PNG" if look.format == "png" else "BMP", **({"compress_level": 1} if look.format == "png"
                                                                     else {}))
    return out.getvalue()


def drawn_in(image: Image.Image, panel: Panel) -> bool:
    """Whether every pixel of `image` is one of the panel's canonical inks (Pillow stops counting past them)."""
    used = image.getcolors(len(panel.palette))
    return used is not None and {rgb for _, rgb in used} <= set(panel.palette)


def fit(image: Image.Image, width: int, height: int, how: Fit, regions: tuple[Box, ...] = ()) -> Image.Image:
    """`image` at width×height: cropped to fill (keeping every depicted region whole) or letterboxed on white.

    `keep` crops when the regions fit in the crop and letterboxes when they don't; `cover` always crops (centred on
    the regions), `contain` always letterboxes."""
    crop = crop_box(image.width, image.height, width / height, regions)
    if how == "contain" or (how == "keep" and crop is None):
        scale = min(width / image.width, height / image.height)
        inner = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))),
                             Image.Resampling.LANCZOS, reducing_gap=2.0)
        canvas = Image.new("RGB", (width, height), (255, 255, 255))
        canvas.paste(inner, ((width - inner.width) // 2, (height - inner.height) // 2))
        return canvas
    box = crop or crop_box(image.width, image.height, width / height, ()) or (0, 0, image.width, image.height)
    return image.resize((width, height), Image.Resampling.LANCZOS, box=box, reducing_gap=2.0)


def crop_box(image_width: int, image_height: int, aspect: float,
          regions: tuple[Box, ...]) -> tuple[float, float, float, float] | None:
    """The largest window of `aspect` that holds every region whole, as near the centre of them as it can be;
    None when the regions are too wide (or tall) for any such window."""
    if image_width / image_height > aspect:  # too wide: crop the sides
        span, full, scale = image_height * aspect, image_width, image_width
        lo, hi = (min(r[0] for r in regions), max(r[2] for r in regions)) if regions else (0.5, 0.5)
    else:
        span, full, scale = image_width / aspect, image_height, image_height
        lo, hi = (min(r[1] for r in regions), max(r[3] for r in regions)) if regions else (0.5, 0.5)
    lo, hi = lo * scale, hi * scale
    if hi - lo > span + 0.5:
        return None
    start = min(max((lo + hi) / 2 - span / 2, 0.0), full - span)
    if image_width / image_height > aspect:
        return (start, 0.0, start + span, float(image_height))
    return (0.0, start, float(image_width), start + span)


def card(panel: Panel, look: Look, lines: tuple[str, ...]) -> bytes:
    """A few lines of black text on white at the panel's size (what a frame shows before it has a picture)."""
    width, height = look.size(panel)
    image = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    size = max(12, min(width, height) // 12)
    font = ImageFont.load_default(size=size)
    top = (height - len(lines) * size * 3 // 2) // 2
    for i, line in enumerate(lines):
        draw.text((width / 2, top + i * size * 3 // 2), line, fill=(0, 0, 0), font=font, anchor="ma")
    out = io.BytesIO()
    image.save(out, "PNG")
    return render(out.getvalue(), panel, Look(portrait=look.portrait, dither="none", measured=False,
                                              format=look.format))
