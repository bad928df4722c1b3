"""Pictures without the conversation's words, for whoever may not read them.

Some backends typeset words on the picture: the poster (every fallback) sets the keywords and the prompt, the
illustrator writes the keywords it could not draw. Served to a frame without the token or a pairing for the
picture's room, such a picture would give away what the API hides, so that frame gets the wordless variant:
the picture shrunk to a few pixels across and blown up again, which keeps its colours and composition (the room
still changes with the talk) and no letter. Made once per image in a worker thread, kept in a small LRU.
"""

from __future__ import annotations

import asyncio
import io
from collections import OrderedDict
from typing import TYPE_CHECKING

from PIL import Image, ImageFilter

if TYPE_CHECKING:
    from services.display.gallery import Original

TYPESETTING_BACKENDS = frozenset({"poster", "illustrator"})  # the generator's engines that set words in pixels
SAMPLE_WIDTH = 16  # pixels across the picture is reduced to: no glyph survives, the colours do
SERVED_WIDTH = 640  # the wordless variant holds no detail a wider one would show
_KEEP = 256  # wordless variants kept (about 10-30 KB each)


def typeset(backend: str, fallback: bool) -> bool:
    """Whether a picture from this backend may carry words of the conversation in its pixels."""
    return fallback or backend in TYPESETTING_BACKENDS


def render(original: Original) -> Original:
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
    return original._replace(id=f"{original.id}-wordless", mime_type="image/jpeg", width=width, data=out.getvalue(),
                             typeset=False)


class Wordless:
    """Wordless variants by image id, each made once however many frames ask at once; lives on the event loop."""

    def __init__(self, keep: int = _KEEP) -> None:
        self.keep = keep
        self._done: OrderedDict[str, Original] = OrderedDict()
        self._making: dict[str, asyncio.Task[Original]] = {}

    async def of(self, original: Original) -> Original:
        if (done := self._done.get(original.id)) is not None:
            self._done.move_to_end(original.id)
            return done
        task = self._making.get(original.id)
        if task is None:
            task = self._making[original.id] = asyncio.create_task(asyncio.to_thread(render, original))
            task.add_done_callback(lambda made: self._finish(original.id, made))
        return await asyncio.shield(task)

    def _finish(self, image_id: str, task: asyncio.Task[Original]) -> None:
        del self._making[image_id]
        if task.cancelled() or task.exception() is not None:
            return
        self._done[image_id] = task.result()
        while len(self._done) > self.keep:
            self._done.popitem(last=False)
