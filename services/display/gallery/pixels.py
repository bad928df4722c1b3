"""How many pixels the display decodes at most: a picture is checked from its header before a pixel of it is.

A few kilobytes of PNG can promise gigabytes of pixels (a decompression bomb). Pillow's own guard only warns below
twice its default, so the display sets its cap itself, for everything it decodes (variants, e-ink pictures) and
for every picture it is sent (refused before it is stored, so no frame is sent one to decode either).
"""

from __future__ import annotations

import io
from typing import NamedTuple

from PIL import Image, UnidentifiedImageError

MAX_PIXELS = 7680 * 4320  # an 8K picture: 133 MB as RGBA once decoded; every generator paints far less


class TooManyPixels(ValueError):
    """A picture whose header promises more pixels than the display decodes."""


class NotAPicture(ValueError):
    """Bytes in which Pillow finds no picture it reads."""


class Header(NamedTuple):
    """What a picture's header says it is, whatever a message claims."""

    mime_type: str  # the format Pillow found as a MIME type (image/png, image/jpeg, ...), else its name ("QOI")
    size: tuple[int, int]


def check(data: bytes) -> Header:
    """Refuse bytes that are no picture Pillow reads, or one over `MAX_PIXELS`, from the header alone; its header."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            found, (width, height) = image.format or "", image.size
    except UnidentifiedImageError:
        raise NotAPicture("no picture format the display reads") from None  # its text names a BytesIO's address
    except (OSError, ValueError) as exc:
        raise NotAPicture(f"a broken picture: {exc}") from exc
    if width * height > MAX_PIXELS:
        raise TooManyPixels(f"a picture of {width}×{height} pixels is over the display's cap of {MAX_PIXELS}")
    return Header(Image.MIME.get(found, found), (width, height))
