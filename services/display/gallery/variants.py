"""Image variants: each frame gets the picture at its screen's width, in a format its browser reads.

Every frame of a room asks for a new picture in the same instant, so bytes are what the fan-out costs: a 960 px
tablet needs not the 1920 px original, and WebP is a third smaller than JPEG. Widths snap up to a few buckets so
an image has few variants (never upscaled); each variant is made once however many frames ask at the same moment
(the first request starts it, the rest await the same task) and kept in a bounded LRU.

Renders are the display's costliest work and anyone may ask for one, so they run on their own few threads with a
bounded queue: beyond it a request gets the nearest size already made (the original at worst), never a place in
line, so a storm of distinct variants costs the display a fixed amount of CPU and delays no other request.
Decoding is capped in pixels (`pixels.py`).
"""

from __future__ import annotations

import asyncio
import functools
import io
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

from PIL import Image

from services.display import metrics
from services.display.gallery import pixels
from services.display.gallery.store import Original

WIDTHS = (640, 960, 1280, 1920, 2560, 3840)
WEBP = "image/webp"
_CACHE_BYTES = 64 * 2**20
_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", WEBP: "WEBP"}
_SAVE: dict[str, dict[str, int]] = {"JPEG": {"quality": 85}, "PNG": {"compress_level": 6},
                                    "WEBP": {"quality": 82, "method": 2}}  # 2: a third of 4's time, 6 % larger

Key = Hashable  # (image id, width, type) for a variant; e-ink pictures name their panel and look too


class BadWidth(ValueError):
    """`?w=` that is no width we serve."""


class Served(NamedTuple):
    """What a request gets: the variant it asked for, or (`exact` false) the nearest one there was."""

    data: bytes
    width: int
    mime_type: str
    exact: bool


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
    pixels.check(original.data)
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
    panel's), made once each and kept within a byte budget (oldest used go); at most `threads` render at once and
    `queue` more wait, on threads of their own."""

    def __init__(self, threads: int, queue: int, max_bytes: int = _CACHE_BYTES) -> None:
        self.max_bytes = max_bytes
        self.room = threads + queue
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="display-render")
        self._done: OrderedDict[Key, bytes] = OrderedDict()
        self._size = 0
        self._making: dict[Key, asyncio.Future[bytes]] = {}

    async def get(self, original: Original, width: int, mime_type: str) -> Served:
        """The variant, or the nearest one made when the queue is full; runs on the event loop (no locks)."""
        key = (original.id, width, mime_type)
        if self.busy(key):
            metrics.VARIANT_FALLBACKS.inc()
            return self.nearest(original, width, mime_type)
        return Served(await self.made(key, functools.partial(render, original, width, mime_type)), width, mime_type,
                      exact=True)

    def busy(self, key: Key) -> bool:
        """Whether making `key` would queue beyond the limit: not made, not being made, and the queue full."""
        return key not in self._done and key not in self._making and len(self._making) >= self.room

    async def made(self, key: Key, make: Callable[[], bytes]) -> bytes:
        """The bytes `make` returns for `key`, made once on the render threads however many ask at once. Waits its
        turn whatever the queue: callers that may be refused ask `busy` first; those with a right to the picture
        (e-ink frames) come here directly."""
        if (data := self._done.get(key)) is not None:
            self._done.move_to_end(key)
            return data
        making = self._making.get(key)
        if making is None:
            making = asyncio.get_running_loop().run_in_executor(self._pool, make)
            self._making[key] = making
            making.add_done_callback(lambda done: self._finish(key, done))
        return await asyncio.shield(making)  # a frame that hangs up does not cancel the others' variant

    def nearest(self, original: Original, width: int, mime_type: str) -> Served:
        """The made variant closest to `width` (the narrowest at least as wide first) in the type asked for or
        the original's, the original itself among them."""
        made = [Served(data, key[1], key[2], exact=False) for key, data in self._done.items()
                if isinstance(key, tuple) and len(key) == 3 and key[0] == original.id
                and key[2] in (mime_type, original.mime_type)]
        made.append(Served(original.data, original.width, original.mime_type, exact=False))
        return min(made, key=lambda v: (v.width < width, abs(v.width - width), v.mime_type != mime_type))

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _finish(self, key: Key, made: asyncio.Future[bytes]) -> None:
        del self._making[key]
        if made.cancelled() or made.exception() is not None:
            return
        self._done[key] = data = made.result()
        self._size += len(data)
        while self._size > self.max_bytes and len(self._done) > 1:
            self._size -= len(self._done.popitem(last=False)[1])
