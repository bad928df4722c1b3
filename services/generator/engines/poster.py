"""The `poster` backend: what a frame shows without a GPU, and whenever the real backend is down.

An honest picture: a generative composition whose colours come from the keywords and style, with the words
themselves typeset on it, so nobody mistakes it for a painting of the conversation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from services.generator.engines import MIME_BY_FORMAT, ImageRequest, Picture, encode_image
from services.generator.engines.poster_art import Frame, paint, to_image
from services.generator.engines.poster_look import Finish, Palette, finish_for, palette_for, stable_int

NAME = "poster"
# fonts-dejavu-core on Debian; Pillow's own font is the last resort so a bare container still renders words.
_FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"), Path("/usr/share/fonts/TTF"))
_FACES = {
    "label": "DejaVuSans-Bold.ttf", "headline-sans": "DejaVuSans-Bold.ttf", "headline-serif": "DejaVuSerif-Bold.ttf",
    "body-sans": "DejaVuSans.ttf", "body-serif": "DejaVuSerif.ttf",
    "caption-sans": "DejaVuSans-Oblique.ttf", "caption-serif": "DejaVuSerif-Italic.ttf",
}
Font = ImageFont.FreeTypeFont
_WORD = re.compile(r"[^\W\d_][\w'-]{2,}")
# Controls and line or paragraph breaks: each word is laid out on one line, and Pillow's layout fails on a line
# break inside one ("raqm_layout() failed": a keyword "dog\nbone" from the bus failed the last-resort backend).
_BREAKS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


class PosterBackend:
    """Paints `num_images` variations (one per index) in well under a second each, on one core."""

    def __init__(self, image_format: str = "PNG") -> None:
        if image_format not in MIME_BY_FORMAT:
            raise ValueError(f"poster format must be one of {', '.join(MIME_BY_FORMAT)}, not {image_format!r}")
        self.image_format = image_format

    def generate(self, request: ImageRequest) -> list[Picture]:
        pictures = []
        for index in range(request.num_images):
            image = render(request, index)
            pictures.append(Picture(encode_image(image, self.image_format), MIME_BY_FORMAT[self.image_format],
                                    image.width, image.height, NAME))
        return pictures


def render(request: ImageRequest, index: int = 0) -> Image.Image:
    """The same request and index give the same pixels; another seed or index gives another composition."""
    keywords = tuple(_BREAKS.sub(" ", k) for k in request.keywords) or tuple(
        dict.fromkeys(_WORD.findall(request.text)))[:6] or (_BREAKS.sub(" ", request.text),)
    finish = finish_for(request.style)
    palette = palette_for(keywords, request.style, request.mood, finish)
    key = ("poster", request.text, *keywords, request.style, request.mood, request.seed, index)
    w, h = request.width, request.height
    lines = _layout(keywords, request, palette, finish, w, h, left=stable_int("side", *key) % 2 == 0)
    frame = Frame(w, h, _bounds(lines))
    rng = np.random.default_rng(stable_int(*key))
    image = to_image(paint(frame, palette, finish, rng))
    draw = ImageDraw.Draw(image)
    for line in lines:
        line.draw(draw)
    return image


@dataclass(frozen=True)
class _Line:
    text: str
    font: Font
    fill: tuple[int, int, int]
    x: float
    y: float
    tracking: float = 0.0

    @property
    def box(self) -> tuple[int, int, int, int]:
        left, top, right, bottom = self.font.getbbox(self.text)
        extra = self.tracking * max(0, len(self.text) - 1)
        return int(self.x + left), int(self.y + top), int(self.x + right + extra), int(self.y + bottom)

    def draw(self, draw: ImageDraw.ImageDraw) -> None:
        if not self.tracking:
            draw.text((self.x, self.y), self.text, font=self.font, fill=self.fill)
            return
        x = self.x
        for char in self.text:
            draw.text((x, self.y), char, font=self.font, fill=self.fill)
            x += self.font.getlength(char) + self.tracking


def _layout(keywords: tuple[str, ...], request: ImageRequest, palette: Palette, finish: Finish,
            w: int, h: int, left: bool) -> list[_Line]:
    """Label, headline, keywords and the prompt itself, stacked in a column on one side (on top if portrait)."""
    unit = min(w, h)
    landscape = w >= h
    block_w = w * (0.4 if landscape else 0.84)
    x = w * 0.07 if (left or not landscape) else w * 0.93 - block_w
    face = "serif" if finish.serif else "sans"
    ink, accent = _rgb(palette.ink), _rgb(palette.accent)
    soft_ink = _rgb(palette.ink + (palette.sky_top - palette.ink) * 0.3)
    headline = keywords[0].upper() if not finish.serif else keywords[0][:1].upper() + keywords[0][1:]
    mood = "" if request.mood.lower() in ("", "neutral") else request.mood
    label = " · ".join(part for part in (request.style, mood) if part).upper()
    rows: list[tuple[list[str], Font, tuple[int, int, int], float, float]] = []
    label_font = load_font("label", unit * 0.026)
    if label:
        rows.append(([label], label_font, accent, unit * 0.006, 0.9))
    headline_font, headline_lines = _fit_headline(headline, face, block_w, unit)
    rows.append((headline_lines, headline_font, ink, 0.0, 0.2))
    rest = " · ".join(keywords[1:6])
    if rest:
        body_font = load_font(f"body-{face}", unit * 0.042)
        rows.append((_wrap(rest, body_font, block_w, 2), body_font, ink, 0.0, 0.8))
    caption_font = load_font(f"caption-{face}", unit * 0.027)
    rows.append((_wrap(request.text, caption_font, block_w, 3), caption_font, soft_ink, 0.0, 0.0))
    lines: list[_Line] = []
    y = 0.0
    for texts, font, fill, tracking, gap in rows:
        size = getattr(font, "size", 10)
        for text in texts:
            lines.append(_Line(text, font, fill, x, y, tracking))
            y += size * 1.18
        y += size * gap
    top = h * 0.09 if not landscape else (h - y) / 2
    return [_Line(line.text, line.font, line.fill, line.x, line.y + top, line.tracking) for line in lines]


def _fit_headline(text: str, face: str, width: float, unit: int) -> tuple[ImageFont.FreeTypeFont, list[str]]:
    """As large as the column allows; a phrase that would get too small breaks onto two lines."""
    largest = unit * 0.16
    font = load_font(f"headline-{face}", largest)
    size = min(largest, largest * width / max(font.getlength(text), 1))
    lines = [text]
    if size < unit * 0.085 and " " in text:
        words = text.split()
        split = min(range(1, len(words)), key=lambda i: abs(len(" ".join(words[:i])) - len(" ".join(words[i:]))))
        lines = [" ".join(words[:split]), " ".join(words[split:])]
        longest = max(font.getlength(line) for line in lines)
        size = min(largest, largest * width / max(longest, 1))
    size = max(size, unit * 0.05)
    font = load_font(f"headline-{face}", size)
    while size > unit * 0.05 and max(font.getlength(line) for line in lines) > width:
        size *= 0.95
        font = load_font(f"headline-{face}", size)
    return font, [_ellipsize(line, font, width) for line in lines]


def _wrap(text: str, font: Font, width: float, max_lines: int) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        if lines and font.getlength(f"{lines[-1]} {word}") <= width:
            lines[-1] = f"{lines[-1]} {word}"
        elif len(lines) < max_lines:
            lines.append(word)
        else:
            lines[-1] = lines[-1] + " " + word  # overflow: trimmed with an ellipsis below
            break
    return [_ellipsize(line, font, width) for line in lines]


def _ellipsize(text: str, font: Font, width: float) -> str:
    """The longest prefix that fits with an ellipsis, found by halving: a prompt's one long word (a gpu-server
    prompt may be thousands of characters) costs a few layouts, not one per character (minutes)."""
    if font.getlength(text) <= width:
        return text
    fits, too_long = 0, len(text)
    while too_long - fits > 1:
        middle = (fits + too_long) // 2
        if font.getlength(text[:middle] + "…") <= width:
            fits = middle
        else:
            too_long = middle
    return text[:fits].rstrip() + "…"


def _bounds(lines: list[_Line]) -> tuple[int, int, int, int]:
    boxes = [line.box for line in lines]
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def _rgb(color: np.ndarray) -> tuple[int, int, int]:
    r, g, b = (round(float(c) * 255) for c in np.clip(color, 0, 1))
    return r, g, b


@lru_cache(maxsize=64)
def _font_at(face: str, size: int) -> Font:
    for folder in _FONT_DIRS:
        path = folder / _FACES[face]
        if path.exists():
            return ImageFont.truetype(str(path), size)
    return ImageFont.load_default(size)  # type: ignore[return-value]  # FreeType build: a FreeTypeFont


def load_font(face: str, size: float) -> Font:
    return _font_at(face, max(6, int(size)))
