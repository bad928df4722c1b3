"""The poster's painting: four generative compositions drawn with antialiased numpy fields, no model."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

import numpy as np
from PIL import Image

from services.generator.engines import row_bands
from services.generator.engines.poster_look import Color, Finish, Palette


@dataclass(frozen=True)
class Frame:
    """The canvas size and the box the words will sit in (the art keeps it calm)."""

    width: int
    height: int
    text_box: tuple[int, int, int, int]  # left, top, right, bottom

    @property
    def text_on_left(self) -> bool:
        return self.text_box[0] < self.width - self.text_box[2]


def paint(frame: Frame, palette: Palette, finish: Finish, rng: np.random.Generator) -> np.ndarray:
    """An HxWx3 float32 picture in 0..1; the composition is the first draw of `rng`."""
    compose = _COMPOSITIONS[int(rng.integers(len(_COMPOSITIONS)))]
    canvas = _gradient(frame, palette.sky_top, palette.sky_bottom)
    compose(canvas, frame, palette, finish, rng)
    _scrim(canvas, frame, palette)
    if finish.texture:
        coarse, fine = _noise(rng, frame, 40), _noise(rng, frame, 150)
        for rows in row_bands(*canvas.shape[:2]):
            mottle = _band(coarse, frame, rows) + 0.35 * _band(fine, frame, rows) - 0.675
            canvas[rows] *= (1 - finish.texture * mottle)[..., None]
    if palette.dark:
        for rows in row_bands(*canvas.shape[:2]):
            canvas[rows] *= _vignette(frame, rows)[..., None]
    return np.clip(canvas, 0, 1, out=canvas)


def to_image(canvas: np.ndarray) -> Image.Image:
    """The float picture as 8-bit RGB, converted a band at a time: a 4096² canvas is 200 MB, and converting it
    whole made two more of it."""
    h, w = canvas.shape[:2]
    image = Image.new("RGB", (w, h))
    for rows in row_bands(*canvas.shape[:2]):
        image.paste(Image.fromarray((canvas[rows] * 255 + 0.5).astype(np.uint8), "RGB"), (0, rows.start))
    return image


# ---- compositions -------------------------------------------------------------------------------------


def _ridges(canvas: np.ndarray, frame: Frame, pal: Palette, finish: Finish, rng: np.random.Generator) -> None:
    """A landscape: a sun with its glow, then hills that darken and sharpen as they come near."""
    w, h = frame.width, frame.height
    sun_x = w * (rng.uniform(0.6, 0.85) if frame.text_on_left else rng.uniform(0.15, 0.4))
    sun_y, radius = h * rng.uniform(0.2, 0.38), h * rng.uniform(0.07, 0.12)
    glow = _low_res(frame, lambda x, y: np.exp(-np.hypot(x - sun_x, y - sun_y) / (radius * 3)))
    for rows in row_bands(*canvas.shape[:2]):
        canvas[rows] += (pal.accent * 0.45)[None, None, :] * _band(glow, frame, rows)[..., None]
    _disc(canvas, sun_x, sun_y, radius, _mix(pal.accent, np.ones(3, np.float32), 0.35), 0.95, finish.softness_px)
    layers = int(rng.integers(4, 7))
    for i in range(layers):
        t = i / (layers - 1)
        near = _mix(pal.shapes[0], pal.shapes[2], t)
        color = _mix(near, pal.sky_bottom, 0.6 * (1 - t) ** 1.5)
        ridge = h * (0.5 + 0.42 * t) - h * (0.11 - 0.05 * t) * _wander(rng, w, roughness=0.5 + 0.5 * t)
        _fill_below(canvas, ridge, color, finish.softness_px + 1.5 * (1 - t), shade=0.25 * t)


def _waves(canvas: np.ndarray, frame: Frame, pal: Palette, finish: Finish, rng: np.random.Generator) -> None:
    """Flowing bands that fill the frame from a calm top to a deep bottom."""
    w, h = frame.width, frame.height
    colors = (pal.sky_bottom, pal.shapes[0], pal.accent, pal.shapes[1], pal.shapes[2])
    bands = int(rng.integers(6, 10))
    for i in range(bands):
        t = i / (bands - 1)
        color = _mix(colors[i % len(colors)], pal.shapes[2], 0.5 * t) if i % len(colors) != 2 else pal.accent
        crest = h * (0.3 + 0.75 * t) - h * 0.08 * _wander(rng, w, roughness=0.15)
        _fill_below(canvas, crest, color, finish.softness_px, shade=0.15)


def _orbs(canvas: np.ndarray, frame: Frame, pal: Palette, finish: Finish, rng: np.random.Generator) -> None:
    """An aurora of soft light with a few crisp circles and rings floating in it."""
    w, h = frame.width, frame.height
    colors = (*pal.shapes, pal.accent)
    glows = (pal.shapes[0], pal.shapes[1], pal.sky_bottom, pal.shapes[2])
    blobs = [(rng.uniform(0, w), rng.uniform(0, h), rng.uniform(0.15, 0.35) * w) for _ in range(rng.integers(4, 7))]

    def aurora(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Blobs composited 'over' each other at low resolution: premultiplied RGB and coverage."""
        layers = np.zeros((*x.shape, 4), np.float32)
        for k, (cx, cy, sigma) in enumerate(blobs):
            alpha = 0.75 * np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * sigma**2))[..., None]
            layers = layers * (1 - alpha) + np.append(glows[k % 4], 1.0) * alpha
        return layers

    field = _low_res(frame, aurora)
    for rows in row_bands(*canvas.shape[:2]):
        band = canvas[rows]
        band *= 1 - _band(field[..., 3], frame, rows)[..., None]
        band += np.stack([_band(field[..., c], frame, rows) for c in range(3)], axis=-1)
    for _ in range(int(rng.integers(3, 7))):
        cx = w * (rng.uniform(0.45, 0.95) if frame.text_on_left else rng.uniform(0.05, 0.55))
        cy, radius = rng.uniform(0.1, 0.9) * h, rng.uniform(0.03, 0.16) * h
        ring = rng.random() < 0.4
        _disc(canvas, cx, cy, radius, colors[int(rng.integers(4))], 0.9, finish.softness_px,
              ring_px=max(2.0, radius * 0.08) if ring else 0.0)
    for _ in range(int(rng.integers(20, 60))):
        _disc(canvas, rng.uniform(0, w), rng.uniform(0, h), h * rng.uniform(0.002, 0.006),
              pal.ink if pal.dark else pal.sky_top, 0.5, 1.0)


def _bauhaus(canvas: np.ndarray, frame: Frame, pal: Palette, finish: Finish, rng: np.random.Generator) -> None:
    """A grid of quarter circles, half circles, discs and triangles on the side the words leave free."""
    w, h = frame.width, frame.height
    landscape = w >= h
    if landscape:
        cell = h // 3
        cols, rows, top = max(1, int(w * 0.55) // cell), 3, 0
        left = w - cols * cell - int(0.03 * w) if frame.text_on_left else int(0.03 * w)
    else:
        cell = int(w * 0.94) // 3
        cols, rows, left = 3, max(1, int(h * 0.55) // cell), (w - 3 * cell) // 2
        top = h - rows * cell - left
    colors = (pal.shapes[0], pal.shapes[1], pal.shapes[2], pal.accent, pal.sky_bottom)
    for r in range(rows):
        for c in range(cols):
            x0, y0 = left + c * cell, top + r * cell
            ground, figure = rng.choice(len(colors), size=2, replace=False)
            canvas[y0:y0 + cell, x0:x0 + cell] = colors[ground]
            _motif(canvas[y0:y0 + cell, x0:x0 + cell], colors[figure], int(rng.integers(5)), int(rng.integers(4)),
                   finish.softness_px)


def _motif(cell: np.ndarray, color: Color, kind: int, turn: int, softness: float) -> None:
    size = cell.shape[0]
    y, x = np.ogrid[0:size, 0:size]  # a column and a row: full-size grids were 45 MB a cell at 4096²
    y, x = y.astype(np.float32), x.astype(np.float32)
    x, y = [(x, y), (size - 1 - y, x), (size - 1 - x, size - 1 - y), (y, size - 1 - x)][turn]
    if kind == 0:  # quarter circle from a corner
        inside = size - np.hypot(x, y)
    elif kind == 1:  # half circle on an edge
        inside = size / 2 - np.hypot(x - size / 2, y)
    elif kind == 2:  # disc
        inside = size * 0.38 - np.hypot(x - size / 2, y - size / 2)
    elif kind == 3:  # triangle under the diagonal
        inside = (x - y) / np.sqrt(2)
    else:  # three stripes
        inside = np.abs((y % (size / 3)) - size / 6) - size / 12
    alpha = np.clip(inside / max(softness, 1.0) + 0.5, 0, 1)
    cell += (color - cell) * alpha[..., None]


_COMPOSITIONS: tuple[Callable[..., None], ...] = (_ridges, _waves, _orbs, _bauhaus)


# ---- drawing helpers ----------------------------------------------------------------------------------


def _mix(a: Color, b: Color, t: float) -> Color:
    return cast(Color, (a + (b - a) * t).astype(np.float32))


def _gradient(frame: Frame, top: Color, bottom: Color) -> np.ndarray:
    """Mostly vertical, slightly diagonal; linear, so a 2×2 grid upscaled is exact and cheap."""
    corners = np.array([[0.0, 0.15], [0.85, 1.0]], np.float32)
    canvas = np.empty((frame.height, frame.width, 3), np.float32)
    for rows in row_bands(*canvas.shape[:2]):
        canvas[rows] = top + (bottom - top) * _band(corners, frame, rows, Image.Resampling.BILINEAR)[..., None]
    return canvas


def _wander(rng: np.random.Generator, width: int, roughness: float) -> np.ndarray:
    """A skyline in -1..1: sines whose amplitude falls with frequency, like hills or swells."""
    x = np.linspace(0, 1, width, dtype=np.float32)
    out = np.zeros(width, np.float32)
    for octave in range(5):
        frequency = rng.uniform(1, 2) * 2**octave
        out += (roughness**octave) * np.sin(2 * np.pi * frequency * x + rng.uniform(0, 2 * np.pi))
    return out / (1 + roughness + roughness**2 + roughness**3 + roughness**4)


def _fill_below(canvas: np.ndarray, edge: np.ndarray, color: Color, softness: float, shade: float = 0.0) -> None:
    """Paint everything under `edge` (one y per column) with an antialiased, optionally shaded, edge."""
    h = canvas.shape[0]
    for band in row_bands(h, canvas.shape[1], max(0, int(edge.min() - softness * 2))):
        rows = np.arange(band.start, band.stop, dtype=np.float32)[:, None]
        alpha = np.clip((rows - edge[None, :]) / max(softness, 1.0) + 0.5, 0, 1)
        depth = np.clip((rows - edge[None, :]) / h, 0, 1)[..., None]
        target = color * (1 - shade * depth)
        region = canvas[band]
        region += (target - region) * alpha[..., None]


def _disc(canvas: np.ndarray, cx: float, cy: float, radius: float, color: Color, opacity: float,
          softness: float, ring_px: float = 0.0) -> None:
    h, w = canvas.shape[:2]
    pad = radius + softness * 2 + 1
    x0, x1, y0, y1 = max(0, int(cx - pad)), min(w, int(cx + pad) + 1), max(0, int(cy - pad)), min(h, int(cy + pad) + 1)
    if x0 >= x1 or y0 >= y1:
        return
    y, x = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    distance = np.hypot(x - cx, y - cy) - radius
    inside = ring_px / 2 - np.abs(distance + ring_px / 2) if ring_px else -distance
    alpha = opacity * np.clip(inside / max(softness, 1.0) + 0.5, 0, 1)
    region = canvas[y0:y1, x0:x1]
    region += (color - region) * alpha[..., None]


def _scrim(canvas: np.ndarray, frame: Frame, pal: Palette) -> None:
    """Veil the art on the words' side with the ground colour, fading across the frame so no edge shows."""
    left, _, right, bottom = frame.text_box
    w, h = frame.width, frame.height
    if w >= h:
        near, far = (right, right + 0.25 * w) if frame.text_on_left else (left, left - 0.25 * w)
        ramp = np.clip((np.arange(w, dtype=np.float32) - far) / (near - far), 0, 1)[None, :]
    else:
        ramp = np.clip((bottom + 0.2 * h - np.arange(h, dtype=np.float32)) / (0.2 * h), 0, 1)[:, None]
    alpha = (0.8 * ramp**1.6)[..., None]
    for rows in row_bands(*canvas.shape[:2]):
        band = canvas[rows]
        band += (pal.sky_top - band) * (alpha if w >= h else alpha[rows])


def _low_res(frame: Frame, field: Callable[[np.ndarray, np.ndarray], np.ndarray], scale: int = 8) -> np.ndarray:
    """A smooth field (HxW or HxWxC) on a coarse grid, upscaled a band at a time (`_band`): full-frame glows for
    the price of a thumbnail."""
    gw, gh = max(2, frame.width // scale), max(2, frame.height // scale)
    y, x = np.mgrid[0:gh, 0:gw].astype(np.float32)
    return field(x * frame.width / (gw - 1), y * frame.height / (gh - 1)).astype(np.float32)


def _band(small: np.ndarray, frame: Frame, rows: slice,
          resample: Image.Resampling = Image.Resampling.BICUBIC) -> np.ndarray:
    """`rows` of the coarse grid `small` upscaled to the frame: the whole upscale's rows (to float rounding),
    without holding the whole (67 MB a field at 4096²)."""
    gh, gw = small.shape
    box = (0.0, rows.start * gh / frame.height, float(gw), rows.stop * gh / frame.height)
    image = Image.fromarray(np.ascontiguousarray(small))
    return np.asarray(image.resize((frame.width, rows.stop - rows.start), resample, box=box))


def _noise(rng: np.random.Generator, frame: Frame, cells_across: int) -> np.ndarray:
    """Smooth noise in 0..1 as its coarse grid, `cells_across` wide (upscale with `_band`)."""
    cells_down = max(2, round(cells_across * frame.height / frame.width))
    return rng.random((cells_down, cells_across), dtype=np.float32)


def _vignette(frame: Frame, rows: slice) -> np.ndarray:
    vx = np.linspace(-1, 1, frame.width, dtype=np.float32)[None, :] ** 2
    vy = np.linspace(-1, 1, frame.height, dtype=np.float32)[rows, None] ** 2
    return 1 - 0.28 * (vx + vy) / 2
