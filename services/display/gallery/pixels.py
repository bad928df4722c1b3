"""How many pixels the display decodes at most: a picture is checked from its header before a pixel of it is.

A few kilobytes of PNG can promise gigabytes of pixels (a decompression bomb). Pillow's own guard only warns below
twice its default, so the display sets its cap itself, for everything it decodes (variants, e-ink pictures) and
for every picture it is sent (refused before it is stored, so no frame is sent one to decode either).
"""

from __future__ import annotations

import io

from PIL import Image, UnidentifiedImageError

MAX_PIXELS = 7680 * 4320  # an 8K picture: 133 MB as RGBA once decoded; every generator paints far less


class TooManyPixels(ValueError):
    """A picture whose header promises more pixels than the display decodes, or bytes that are no picture."""


def check(data: bytes) -> tuple[int, int]:
    """Refuse bytes that are no picture Pillow reads, or one over `MAX_PIXELS`, from the header alone; its size."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise TooManyPixels(f"not a picture the display can read: {exc}") from exc
    if width * height > MAX_PIXELS:
        raise TooManyPixels(f"a picture of {width}×{height} pixels is over the display's cap of {MAX_PIXELS}")
    return width, height
