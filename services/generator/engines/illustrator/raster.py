"""OpenMoji SVG → RGBA bitmap with resvg (a Rust renderer in a PyPI wheel: no system libraries), cached by
(glyph, size) because the same few things are drawn again and again while a room talks about them."""

from __future__ import annotations

import io
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from functools import lru_cache
from typing import Generic, TypeVar

import resvg_py
from PIL import Image

from services.generator.engines.illustrator.catalog import Glyph, svg_text

T = TypeVar("T")


class ImageCache(Generic[T]):
    """Least recently used entries within a byte budget: a count cannot bound memory when one glyph is 40 px
    and the next 600 px."""

    def __init__(self, max_bytes: int, size_of: Callable[[T], int]) -> None:
        self.max_bytes, self.size_of = max_bytes, size_of
        self._entries: OrderedDict[Hashable, T] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()  # the gpu-server paints on its own thread

    def get_or_make(self, key: Hashable, make: Callable[[], T]) -> T:
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]
        value = make()
        with self._lock:
            if key not in self._entries:
                self._entries[key] = value
                self._bytes += self.size_of(value)
            while self._bytes > self.max_bytes and len(self._entries) > 1:
                _, old = self._entries.popitem(last=False)
                self._bytes -= self.size_of(old)
        return value


def image_bytes(image: Image.Image) -> int:
    return image.width * image.height * len(image.getbands())


_RASTERS: ImageCache[Image.Image] = ImageCache(16 * 2**20, image_bytes)
# 48 … 1230 px. Larger glyphs (a 4096² picture's) are drawn at their own size: from the next bucket up one was
# drawn at up to 4152², 69 MB, to be scaled down.
_BUCKETS = tuple(round(48 * 1.5**k) for k in range(9))


def raster(glyph: Glyph, size: int) -> Image.Image:
    """The glyph drawn in a `size`×`size` box, cropped to its ink (so "bottom" is where it stands).

    resvg draws each glyph once per size bucket (steps of 1.5× up to 1230 px) and Pillow scales that down, which
    costs a tenth of drawing it again: a complex glyph at 600 px is ~50 ms of resvg. The result is shared, so callers
    must not draw on it."""
    size = max(1, size)
    bucket = next((b for b in _BUCKETS if b >= size), size)
    drawn = _RASTERS.get_or_make((glyph.hexcode, bucket), lambda: _render(glyph, bucket))
    if bucket == size:
        return drawn
    scale = size / bucket
    return drawn.resize((max(1, round(drawn.width * scale)), max(1, round(drawn.height * scale))),
                        Image.Resampling.BICUBIC)


def _render(glyph: Glyph, size: int) -> Image.Image:
    png = resvg_py.svg_to_bytes(svg_string=_svg(glyph), width=size, height=size, skip_system_fonts=True)
    with Image.open(io.BytesIO(bytes(png))) as image:
        rgba = image.convert("RGBA")
    box = rgba.getchannel("A").getbbox()
    return rgba.crop(box) if box else rgba


@lru_cache(maxsize=512)
def _svg(glyph: Glyph) -> str:
    return svg_text(glyph)
