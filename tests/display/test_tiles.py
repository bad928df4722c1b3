"""One scene across several panels (`?tile=CxR:i`): what the real display serves an e-ink panel of a wall, decoded,
and what a frame page of a wall shows in headless Chromium."""

from __future__ import annotations

import io

import numpy as np
import pytest
import requests
from PIL import Image, ImageDraw

from tests.display.conftest import DisplayProcess, make_image, publish
from tests.display.test_browser import pixel, wait_until_shown
from tests.display.test_eink_frames import shown
from tests.support import Broker

RED, BLUE, GREEN, YELLOW = (220, 30, 30), (30, 30, 220), (30, 180, 60), (240, 220, 30)


def quarters(size: tuple[int, int]) -> bytes:
    """A picture in four coloured quarters: red, blue on top; green, yellow below."""
    width, height = size
    image = Image.new("RGB", size)
    draw = ImageDraw.Draw(image)
    for (x, y), color in zip(((0, 0), (1, 0), (0, 1), (1, 1)), (RED, BLUE, GREEN, YELLOW), strict=True):
        draw.rectangle((x * width // 2, y * height // 2, (x + 1) * width // 2, (y + 1) * height // 2), fill=color)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def mostly(image: Image.Image, color: tuple[int, int, int]) -> float:
    """The share of pixels nearer `color` than any other quarter's colour."""
    pixels = np.asarray(image.convert("RGB"), dtype=int)
    colors = np.array([RED, BLUE, GREEN, YELLOW])
    nearest = ((pixels[:, :, None, :] - colors[None, None]) ** 2).sum(-1).argmin(-1)
    return float((nearest == [RED, BLUE, GREEN, YELLOW].index(color)).mean())


def test_each_e_ink_panel_of_a_wall_gets_its_quarter(broker: Broker, display: DisplayProcess) -> None:
    """A 2×2 wall of 800×480 panels showing a 1600×960 picture: each panel is served its quarter, decoded from
    what came over HTTP; tiles are told apart by their ETag; a tile that is none, or too big a wall, is a 400."""
    shown(broker, display, make_image(image=quarters((1600, 960)), size=(1600, 960)))
    url = f"{display.url}/eink/living-room/spectra6-800x480.png"
    etags = set()
    for index, color in enumerate((RED, BLUE, GREEN, YELLOW)):
        served = requests.get(f"{url}?tile=2x2:{index}&dither=none&inks=nominal", timeout=30)
        assert served.status_code == 200, served.text
        image = Image.open(io.BytesIO(served.content))
        assert image.size == (800, 480)
        assert mostly(image, color) > 0.95, f"tile {index} shows its quarter"
        etags.add(served.headers["etag"])
    assert len(etags) == 4
    for raw, words in (("3x1:3", "tile is"), ("4x4:0", "over the")):
        refused = requests.get(f"{display.url}/eink/living-room/spectra6-1600x1200.png?tile={raw}", timeout=5)
        assert refused.status_code == 400 and words in refused.json()["error"]


@pytest.mark.browser
def test_two_frame_screens_side_by_side_show_one_picture(broker: Broker, display: DisplayProcess, browser) -> None:
    """Two 640×360 screens as a 2×1 wall under a 1280×360 picture: each shows its half, filling the screen; a
    third screen without a tile shows the whole picture."""
    image = make_image(image=quarters((1280, 360)), size=(1280, 360))
    pages = {}
    for name, query in (("left", "tile=2x1:0&"), ("right", "tile=2x1:1&"), ("whole", "")):
        page = browser.new_page(viewport={"width": 640, "height": 360})
        page.goto(f"{display.url}/frame/living-room?{query}caption=off")
        pages[name] = page
    publish(broker, image)
    for page in pages.values():
        wait_until_shown(page, str(image.id))
    left, right, whole = pages["left"], pages["right"], pages["whole"]
    assert pixel(left, 160, 90)[0] > 180 and pixel(left, 480, 270)[1] > 150, "the left half: red over green"
    assert pixel(right, 160, 90)[2] > 180 and pixel(right, 480, 270)[0] > 200, "the right half: blue over yellow"
    assert pixel(whole, 160, 120)[0] > 180 and pixel(whole, 480, 120)[2] > 180, "untiled: the whole picture"
    assert left.evaluate("document.querySelector('.slide.shown img').src").endswith("?w=1280")  # the wall's width
    for page in pages.values():
        page.close()
