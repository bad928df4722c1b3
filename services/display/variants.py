"""Image variants: each frame gets the picture at its screen's width, in a format its browser reads.

Every frame of a room asks for a new picture in the same instant, so bytes are what the fan-out costs: a 960 px
tablet needs not the 1920 px original, and WebP is a third smaller than JPEG. Widths snap up to a few buckets so
an image has few variants (never upscaled); each variant is made once in a worker thread however many frames ask
at the same moment (the first request starts it, the rest await the same task) and kept in a bounded LRU.
"""

from __future__ import annotations

import asyncio
import functools
import io
from collections import OrderedDict
from collections.abc import Callable, Hashable

from PIL import Image

from services.display import metrics
from services.display.gallery import Original

WIDTHS = (640, 960, 1280, 1920, 2560, 3840)
WEBP = "image/webp"
_CACHE_BYTES = 64 * 2**20
_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", WEBP: "WEBP"}
_SAVE: dict[str, dict[str, int]] = {"JPEG": {"quality": 85}, "PNG": {"compress_level": 6},
                                    "WEBP": {"quality": 82, "method": 2}}  # 2: a third of 4's time, 6 % larger

Key = Hashable  # (image id, width, type) for a variant; e-ink pictures name their panel and look too


class BadWidth(ValueError):
    """`?w=` that is no width we serve."""


def bucket(raw: str | None) -> int | None:
    """The served width for `?w=`: the smallest bucket at least that wide; None (no `w`) is the original's."""
    if raw is None:
        return None
    try:
        width = int(raw)
    except ValueError:
        width = 0
    if not 1 <= width <= WIDTHS[-1]:
        raise BadWidth(f"w must be a width in pixels from 1 to {WIDTHS[-1]} (served as one of "
                       f"{', '.join(map(str, WIDTHS))}), not {raw[:20]!r}")
    return next(w for w in WIDTHS if w >= width)


def accepts_webp(accept: str) -> bool:
    """Whether an Accept header takes image/webp (named with a q above 0; browsers that decode it say so)."""
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        if media.lower() == WEBP:
            q = next((p.partition("=")[2] for p in params if p.lower().startswith("q=")), "1")
            try:
                return float(q) > 0
            except ValueError:
                return False
    return False


def render(original: Original, width: int, mime_type: str) -> bytes:
    """The original scaled down to `width` (if narrower) and encoded as `mime_type`; the same bytes every time."""
    with Image.open(io.BytesIO(original.data)) as image:
        height = max(1, round(image.height * width / image.width))
        image.draft("RGB", (width, height))  # JPEG: decode at a fraction of the size when that is enough
        picture = (image.resize((width, height), Image.Resampling.LANCZOS, reducing_gap=2.0) if width < image.width
                   else image.copy())
    kind = _FORMATS[mime_type]
    if kind == "JPEG" and picture.mode not in ("RGB", "L"):
        picture = picture.convert("RGB")
    out = io.BytesIO()
    picture.save(out, kind, **_SAVE[kind])
    metrics.IMAGE_VARIANTS.labels(mime_type).inc()
    return out.getvalue()


class Variants:
    """Variants by (image id, width, type), or any key naming one picture made from an original (an e-ink
    panel's), made once each and kept within a byte budget (oldest used go)."""

    def __init__(self, max_bytes: int = _CACHE_BYTES) -> None:
        self.max_bytes = max_bytes
        self._done: OrderedDict[Key, bytes] = OrderedDict()
        self._size = 0
        self._making: dict[Key, asyncio.Task[bytes]] = {}

    async def get(self, original: Original, width: int, mime_type: str) -> bytes:
        """The variant's bytes; runs on the event loop, so the dicts need no lock."""
        return await self.made((original.id, width, mime_type), functools.partial(render, original, width, mime_type))

    async def made(self, key: Key, make: Callable[[], bytes]) -> bytes:
        """The bytes `make` returns for `key`, made once in a worker thread however many ask at once."""
        if (data := self._done.get(key)) is not None:
            self._done.move_to_end(key)
            return data
        task = self._making.get(key)
        if task is None:
            task = asyncio.create_task(asyncio.to_thread(make))
            self._making[key] = task
            task.add_done_callback(lambda done: self._finish(key, done))
        return await asyncio.shield(task)  # a frame that hangs up does not cancel the others' variant

    def _finish(self, key: Key, task: asyncio.Task[bytes]) -> None:
        del self._making[key]
        if task.cancelled() or task.exception() is not None:
            return
        self._done[key] = data = task.result()
        self._size += len(data)
        while self._size > self.max_bytes and len(self._done) > 1:
            self._size -= len(self._done.popitem(last=False)[1])
