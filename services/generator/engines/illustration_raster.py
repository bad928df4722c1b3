"""OpenMoji SVG → RGBA bitmap with resvg (a Rust renderer in a PyPI wheel: no system libraries), cached by
(glyph, size) because the same few things are drawn again and again while a room talks about them."""

from __future__ import annotations

import io
from functools import lru_cache

import resvg_py
from PIL import Image

from services.generator.engines.illustration_catalog import Glyph, svg_text


@lru_cache(maxsize=256)
def raster(glyph: Glyph, size: int) -> Image.Image:
    """The glyph drawn in a `size`×`size` box, cropped to its ink (so "bottom" is where it stands); shared,
    so callers must not draw on it."""
    size = max(1, size)
    png = resvg_py.svg_to_bytes(svg_string=_svg(glyph), width=size, height=size, skip_system_fonts=True)
    with Image.open(io.BytesIO(bytes(png))) as image:
        rgba = image.convert("RGBA")
    box = rgba.getchannel("A").getbbox()
    return rgba.crop(box) if box else rgba


@lru_cache(maxsize=512)
def _svg(glyph: Glyph) -> str:
    return svg_text(glyph)
