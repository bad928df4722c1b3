"""Pictures without the conversation's words, for whoever may not read them.

Some backends typeset words on the picture: the poster (every fallback) sets the keywords and the prompt, the
illustrator writes the keywords it could not draw. Served to a frame without the token or a pairing for the
picture's room, such a picture would give away what the API hides, so that frame gets the wordless variant:
the picture shrunk to a few pixels across and blown up again, which keeps its colours and composition (the room
still changes with the talk) and no letter. Made once per image on the render threads (`variants.py`), whose
bounded queue it shares: beyond it the request is refused (`RendersBusy`, a 503) rather than queued, as there is
no nearer size without words to serve.
"""

from __future__ import annotations

import functools
import io
from typing import TYPE_CHECKING

from PIL import Image, ImageFilter

if TYPE_CHECKING:
    from services.display.gallery.store import Original
    from services.display.gallery.variants import Variants

TYPESETTING_BACKENDS = frozenset({"poster", "illustrator"})  # the generator's engines that set words in pixels
SAMPLE_WIDTH = 16  # pixels across the picture is reduced to: no glyph survives, the colours do
SERVED_WIDTH = 640  # the wordless variant holds no detail a wider one would show


class RendersBusy(RuntimeError):
    """The wordless variant is not made yet and the render queue is full: nothing else may stand in for it."""


def typeset(backend: str, fallback: bool) -> bool:
    """Whether a picture from this backend may carry words of the conversation in its pixels."""
    return fallback or backend in TYPESETTING_BACKENDS


def render(original: Original) -> bytes:
    """The wordless variant: a JPEG at most SERVED_WIDTH wide, from a SAMPLE_WIDTH-pixel-wide reduction."""
    with Image.open(io.BytesIO(original.data)) as image:
        image.draft("RGB", (SAMPLE_WIDTH * 8, SAMPLE_WIDTH * 8))
        height = max(1, round(image.height * SAMPLE_WIDTH / image.width))
        sample = image.convert("RGB").resize((SAMPLE_WIDTH, height), Image.Resampling.BOX)
        width = min(SERVED_WIDTH, image.width)
        size = (width, max(1, round(image.height * width / image.width)))
    picture = sample.resize(size, Image.Resampling.BICUBIC).filter(ImageFilter.GaussianBlur(width / SAMPLE_WIDTH / 2))
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=80)
    return out.getvalue()


async def of(variants: Variants, original: Original) -> Original:
    """The picture's wordless variant, as an original of its own (frames get it at their width from there);
    raises RendersBusy when it is not made yet and the render queue is full."""
    key = ("wordless", original.id)
    if variants.busy(key):
        raise RendersBusy("the display is busy making pictures; try again in a few seconds")
    data = await variants.made(key, functools.partial(render, original))
    return original._replace(id=f"{original.id}-wordless", mime_type="image/jpeg",
                             width=min(SERVED_WIDTH, original.width), data=data, typeset=False)
