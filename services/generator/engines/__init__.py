"""The one interface every image backend implements, and the checks its output must pass."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Protocol

from PIL import Image

from shared.messages.image import MAX_IMAGE_BYTES, MAX_IMAGE_SIDE, Layout
from shared.messages.prompt import DEFAULT_HEIGHT, DEFAULT_WIDTH, Finish
from shared.messages.scene import Scene

MIME_BY_FORMAT = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}  # Pillow format → MIME
MAX_PIXELS = 4096 * 4096
NOTHING_TO_DRAW = "nothing_to_draw"  # a BackendError reason: the prompt, not the backend, is at fault
_SAVE_OPTIONS: dict[str, dict[str, int]] = {"PNG": {"compress_level": 3}, "JPEG": {"quality": 92, "subsampling": 0},
                                            "WEBP": {"quality": 90}}


@dataclass(frozen=True)
class StartImage:
    """The room's last picture (encoded, decoded cleanly once), to paint the next one over: `strength` is how
    much of it to repaint (img2img's strength; an image edit keeps what the prompt does not change)."""

    data: bytes
    mime_type: str
    strength: float


@dataclass(frozen=True)
class ImageRequest:
    """What to paint: the prompt's words plus the size, count and seed the generator settled on."""

    text: str
    keywords: tuple[str, ...] = ()
    style: str = ""
    mood: str = "neutral"
    width: int = DEFAULT_WIDTH
    height: int = DEFAULT_HEIGHT
    num_images: int = 1
    seed: int = 0
    scene: Scene | None = None  # a room's living scene: paint its elements where it places them
    language: str = "en"  # what the keywords are in (`text` is English): the illustrator draws their gloss
    finish: Finish = "screen"  # or an e-paper panel's inks (shared/inks.py) to draw in
    start: StartImage | None = None  # paint over this picture (the backends that can: diffusers, openai)


@dataclass(frozen=True)
class Picture:
    """One encoded image that decoded cleanly, with who painted it."""

    data: bytes
    mime_type: str
    width: int
    height: int
    backend: str
    fallback: bool = False
    depicted: tuple[str, ...] = ()  # the keywords the picture shows (the illustrator knows; others leave it empty)
    regions: tuple[tuple[float, float, float, float], ...] = ()  # where they are: fractions, left top right bottom
    layout: Layout | None = None  # a living scene as drawn (the illustrator's), for the frame's motion


class ImageBackend(Protocol):
    """Paints `request.num_images` pictures or raises `BackendError`."""

    def generate(self, request: ImageRequest) -> list[Picture]: ...


class BackendError(Exception):
    """A backend could not paint; `reason` is a metric label, `retryable` says whether trying again may help,
    `retry_after_seconds` when (the server's Retry-After)."""

    def __init__(self, message: str, reason: str = "error", retryable: bool = False,
                 retry_after_seconds: float | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.retryable = retryable
        self.retry_after_seconds = retry_after_seconds


def checked_picture(data: bytes, backend: str, max_bytes: int = MAX_IMAGE_BYTES) -> Picture:
    """Decode `data` completely, so garbage from a backend is an error here and never reaches a frame."""
    if not data:
        raise BackendError(f"{backend} returned an empty image", reason="invalid_image")
    if len(data) > max_bytes:
        raise BackendError(f"{backend} returned {len(data)} bytes, over the {max_bytes}-byte limit",
                           reason="invalid_image")
    try:
        with Image.open(io.BytesIO(data)) as image:
            image_format, (width, height) = image.format, image.size
            if width * height > MAX_PIXELS or max(width, height) > MAX_IMAGE_SIDE:  # a message could not carry it
                raise BackendError(f"{backend} returned a {width}×{height} image, over {MAX_PIXELS} pixels or "
                                   f"{MAX_IMAGE_SIDE} a side", reason="invalid_image")
            image.load()
    except BackendError:
        raise
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise BackendError(f"{backend} returned bytes that are not a decodable image: {exc}",
                           reason="invalid_image") from exc
    mime_type = MIME_BY_FORMAT.get(image_format or "")
    if mime_type is None:
        raise BackendError(f"{backend} returned a {image_format} image; expected PNG, JPEG or WebP",
                           reason="invalid_image")
    return Picture(data, mime_type, width, height, backend)


def row_bands(height: int, width: int, first_row: int = 0) -> list[slice]:
    """The rows from `first_row` down, in bands of about a million pixels: full-frame work done a band at a time keeps
    its temporaries that small (a full-size one is 64 MB as RGB at 4096², 200 MB as the poster's float canvas)."""
    step = max(1, (1 << 20) // max(width, 1))
    return [slice(top, min(top + step, height)) for top in range(first_row, height, step)]


def encode_image(image: Image.Image, image_format: str = "PNG") -> bytes:
    """PNG keeps typeset words crisp; JPEG and WebP are for photographic output when size matters."""
    options = _SAVE_OPTIONS.get(image_format)
    if options is None:
        raise ValueError(f"cannot encode {image_format!r}; choose one of {', '.join(_SAVE_OPTIONS)}")
    buffer = io.BytesIO()
    (image if image.mode == "RGB" else image.convert("RGB")).save(buffer, image_format, **options)  # no 64 MB copy
    return buffer.getvalue()
