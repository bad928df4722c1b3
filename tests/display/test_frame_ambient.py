"""A living scene's picture between windows, in real headless Chromium: where the layout says (a night sky, the
sea, a flame) it moves, gently; nothing else does; with reduced motion, or on an e-ink screen, nothing moves."""

from __future__ import annotations

import io
import time

import numpy as np
import pytest
from PIL import Image, ImageDraw

from shared.messages.image import DrawnElement, Layout
from tests.display.conftest import DisplayProcess, make_image, publish
from tests.display.test_browser import wait_until_shown
from tests.support import Broker

pytestmark = pytest.mark.browser

SIZE = (640, 360)
HORIZON, SEA = 0.58, (0.0, 0.58, 1.0, 0.65)
FIRE, TENT = (0.12, 0.6, 0.28, 0.92), (0.6, 0.62, 0.8, 0.92)
MOVED = 16  # a pixel whose colour changes by more than this moved (screenshots are PNG: no noise below it)


def night_picture(room: str):
    """An illustrator picture of a night by the sea: sky, sea band, ground, a campfire that flickers and a tent."""
    image = Image.new("RGB", SIZE, (30, 40, 90))
    draw = ImageDraw.Draw(image)
    draw.rectangle([0, HORIZON * SIZE[1], SIZE[0], SIZE[1]], fill=(200, 180, 120))
    draw.rectangle([0, SEA[1] * SIZE[1], SIZE[0], SEA[3] * SIZE[1]], fill=(40, 90, 150))
    for box, color in ((FIRE, (240, 120, 30)), (TENT, (60, 150, 70))):
        draw.rectangle([box[0] * SIZE[0], box[1] * SIZE[1], box[2] * SIZE[0], box[3] * SIZE[1]], fill=color)
    out = io.BytesIO()
    image.save(out, "PNG")
    layout = Layout(elements=(DrawnElement(id="fire1", box=FIRE, motion="flicker"), DrawnElement(id="tent1", box=TENT)),
                    horizon=HORIZON, stars=True, sea=SEA)
    return make_image(room=room, image=out.getvalue(), size=SIZE, backend="illustrator", regions=(FIRE, TENT),
                      layout=layout)


def frames(page, seconds: float) -> np.ndarray:
    """Screenshots in a row for `seconds` (each takes tens of milliseconds), as one array of RGB frames."""
    shots, deadline = [], time.monotonic() + seconds
    while time.monotonic() < deadline or len(shots) < 2:
        shots.append(np.asarray(Image.open(io.BytesIO(page.screenshot())).convert("RGB"), dtype=np.int16))
    return np.stack(shots)


def mask(*boxes: tuple[float, float, float, float], grow: float = 0.0) -> np.ndarray:
    """The pixels within the boxes, each grown by `grow` of its size on every side."""
    out = np.zeros((SIZE[1], SIZE[0]), bool)
    for left, top, right, bottom in boxes:
        dx, dy = (right - left) * grow, (bottom - top) * grow
        out[max(0, int((top - dy) * SIZE[1])):int((bottom + dy) * SIZE[1]) + 1,
            max(0, int((left - dx) * SIZE[0])):int((right + dx) * SIZE[0]) + 1] = True
    return out


def show(broker: Broker, display: DisplayProcess, page, room: str) -> str:
    page.goto(f"{display.url}/frame/{room}?caption=off")
    page.wait_for_selector("#waiting p")
    picture = night_picture(room)
    publish(broker, picture)
    wait_until_shown(page, str(picture.id))
    return str(picture.id)


def test_the_picture_moves_where_its_layout_says_and_gently(broker: Broker, display: DisplayProcess,
                                                            browser) -> None:
    page = browser.new_page(viewport={"width": SIZE[0], "height": SIZE[1]})
    image_id = show(broker, display, page, "ambient-room")
    page.wait_for_function("id => document.querySelector('#ambient .ambience')?.dataset.imageId === id",
                           arg=image_id)
    shots = frames(page, 3.0)  # a star's twinkle and a swell of the sea take seconds
    moved = (np.abs(shots - shots[0]).max(axis=3) > MOVED).any(axis=0)
    sky = mask((0.0, 0.0, 1.0, HORIZON))
    assert moved[sky].any(), "no star twinkled"
    assert moved[mask(SEA) & ~mask(FIRE, grow=0.12)].any(), "the sea stood still"
    assert moved[mask(FIRE)].any(), "the flame stood still"
    allowed = sky | mask(SEA) | mask(FIRE, grow=0.12)  # a flame grows up to 8 % and glows a little past its box
    assert not moved[~allowed].any(), np.argwhere(moved & ~allowed)[:5]  # the tent and the ground stay still
    # calm: from one screenshot to the next only a little of the picture changes, and not by much
    steps = np.abs(np.diff(shots, axis=0)).max(axis=3)
    assert max(float((step > MOVED).mean()) for step in steps) < 0.05
    assert float(np.abs(np.diff(shots, axis=0)).mean()) < 1.5
    page.close()


@pytest.mark.parametrize("screen", ["reduced-motion", "e-ink"])
def test_with_reduced_motion_or_on_e_ink_nothing_moves(broker: Broker, display: DisplayProcess, browser,
                                                       screen: str) -> None:
    page = browser.new_page(viewport={"width": SIZE[0], "height": SIZE[1]},
                            reduced_motion="reduce" if screen == "reduced-motion" else "no-preference")
    if screen == "e-ink":  # an e-ink browser matches the media feature `update: slow`; Chromium cannot emulate it
        page.add_init_script("""{ const real = window.matchMedia.bind(window);
            window.matchMedia = (query) => /update:\\s*slow/.test(query)
              ? Object.assign(new EventTarget(), { matches: true, media: query }) : real(query); }""")
    show(broker, display, page, f"still-{screen}")
    shots = frames(page, 3.0)
    assert page.locator("#ambient .ambience").count() == 0
    assert not (np.abs(shots - shots[0]) > 0).any()
    page.close()
