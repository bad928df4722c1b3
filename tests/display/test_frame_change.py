"""A living scene's next picture in real headless Chromium: what changed is animated, what stays stays put."""

from __future__ import annotations

import io
import time

import pytest
from PIL import Image, ImageDraw

from tests.display.conftest import DisplayProcess, make_image, publish
from tests.display.test_browser import wait_until_shown
from tests.support import Broker

pytestmark = pytest.mark.browser

SIZE = (640, 360)
SKY = (40, 70, 120)
STAYS, LEAVES, ENTERS = (0.1, 0.5, 0.3, 0.9), (0.4, 0.5, 0.55, 0.9), (0.7, 0.3, 0.9, 0.9)
GREEN, RED, YELLOW = (40, 170, 60), (210, 40, 40), (240, 210, 30)


def scene_picture(room: str, *things: tuple[tuple[float, float, float, float], tuple[int, int, int]]):
    """An illustrator picture of boxes, each drawn where its region says."""
    image = Image.new("RGB", SIZE, SKY)
    for box, color in things:
        ImageDraw.Draw(image).rectangle([box[0] * SIZE[0], box[1] * SIZE[1], box[2] * SIZE[0] - 1,
                                         box[3] * SIZE[1] - 1], fill=color)
    out = io.BytesIO()
    image.save(out, "PNG")
    return make_image(room=room, image=out.getvalue(), size=SIZE, backend="illustrator",
                      regions=tuple(box for box, _ in things))


def screenshot(page) -> Image.Image:
    return Image.open(io.BytesIO(page.screenshot())).convert("RGB")


def at(frame: Image.Image, box: tuple[float, float, float, float]) -> tuple[int, int, int]:
    """The colour at the middle of a region (the viewport is the picture's size)."""
    return frame.getpixel((int((box[0] + box[2]) / 2 * SIZE[0]), int((box[1] + box[3]) / 2 * SIZE[1])))


def share(frame: Image.Image, box: tuple[float, float, float, float], color: tuple[int, int, int]) -> float:
    """How much of a region shows the colour."""
    crop = frame.crop((int(box[0] * SIZE[0]) + 2, int(box[1] * SIZE[1]) + 2, int(box[2] * SIZE[0]) - 2,
                       int(box[3] * SIZE[1]) - 2))
    pixels = list(crop.get_flattened_data())
    return sum(distance(p, color) < 40 for p in pixels) / len(pixels)


def distance(a: tuple[int, ...], b: tuple[int, ...]) -> int:
    return max(abs(x - y) for x, y in zip(a, b, strict=True))


def show_first(broker: Broker, display: DisplayProcess, page, room: str):
    page.goto(f"{display.url}/frame/{room}?caption=off")
    page.wait_for_selector("#waiting p")
    before = scene_picture(room, (STAYS, GREEN), (LEAVES, RED))
    publish(broker, before)
    wait_until_shown(page, str(before.id))
    return scene_picture(room, (STAYS, GREEN), (ENTERS, YELLOW))


def test_a_living_scenes_change_grows_in_and_fades_out(broker: Broker, display: DisplayProcess, browser) -> None:
    page = browser.new_page(viewport={"width": SIZE[0], "height": SIZE[1]})
    refused: list[str] = []
    page.on("console", lambda message: "Refused to" in message.text and refused.append(message.text))
    after = show_first(broker, display, page, "change-room")
    first = screenshot(page)
    # half speed, so even a loaded machine's slow screenshots catch the frames in between
    page.context.new_cdp_session(page).send("Animation.setPlaybackRate", {"playbackRate": 0.5})
    publish(broker, after)
    page.wait_for_function("id => document.getElementById('stage').dataset.imageId === id", arg=str(after.id))
    frames, deadline = [], time.monotonic() + 20
    while page.evaluate("() => 'changing' in document.getElementById('stage').dataset"):
        assert time.monotonic() < deadline, "the change never finished"
        frames.append(screenshot(page))
    wait_until_shown(page, str(after.id))
    last = screenshot(page)
    assert distance(at(first, LEAVES), RED) < 12 and share(first, ENTERS, YELLOW) == 0
    assert distance(at(last, LEAVES), SKY) < 12 and share(last, ENTERS, YELLOW) > 0.95
    assert all(distance(at(f, STAYS), GREEN) < 12 for f in [*frames, last])  # what stays, stays put
    # neither a cut nor a stall: frames in between show the newcomer partly grown and the leaver partly faded
    assert any(0.05 < share(f, ENTERS, YELLOW) < 0.9 for f in frames), [share(f, ENTERS, YELLOW) for f in frames]
    assert any(distance(at(f, LEAVES), RED) > 25 and distance(at(f, LEAVES), SKY) > 25 for f in frames), \
        [at(f, LEAVES) for f in frames]
    assert refused == []  # the patches live within the page's Content-Security-Policy
    page.close()


def test_with_reduced_motion_a_change_is_a_plain_swap(broker: Broker, display: DisplayProcess, browser) -> None:
    page = browser.new_page(viewport={"width": SIZE[0], "height": SIZE[1]}, reduced_motion="reduce")
    after = show_first(broker, display, page, "calm-room")
    page.evaluate("""() => { window.patched = false;
        new MutationObserver(() => { window.patched ||= !!document.querySelector('#change .change'); })
          .observe(document.getElementById('change'), { childList: true, subtree: true }); }""")
    publish(broker, after)
    wait_until_shown(page, str(after.id))
    frame = screenshot(page)
    assert share(frame, ENTERS, YELLOW) > 0.95 and distance(at(frame, LEAVES), SKY) < 12
    assert page.evaluate("() => window.patched") is False
    page.close()
