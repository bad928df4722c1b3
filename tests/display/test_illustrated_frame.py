"""A picture painted by the real illustrator, through the real display, in real headless Chromium."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import requests
from PIL import Image

from services.generator.engines.illustrator import IllustratorBackend
from services.generator.handler import GenerateHandler
from shared.messages import ImagePrompt, Keyword
from tests.display.conftest import DisplayProcess, publish
from tests.display.test_browser import SHOWN, close_to, wait_until_shown
from tests.support import Broker

pytestmark = pytest.mark.browser


def test_a_frame_shows_an_illustrated_picture_with_its_credit(broker: Broker, display: DisplayProcess, browser,
                                                              tmp_path: Path) -> None:
    prompt = ImagePrompt(room="living-room", source="mic-1", text="a watercolor painting of a camping trip",
                         keywords=(Keyword(text="tent", score=3), Keyword(text="campfire", score=2),
                                   Keyword(text="owl", score=1), Keyword(text="ambience", score=0.5)),
                         width=1280, height=720, seed=4)
    [image] = GenerateHandler(IllustratorBackend(), max_prompt_age_seconds=120)(prompt)
    assert image.depicted == ("tent", "campfire", "owl")
    assert len(image.regions) >= 3 and all(0 <= r[0] < r[2] <= 1 and 0 <= r[1] < r[3] <= 1 for r in image.regions)
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    page.goto(f"{display.url}/frame/living-room?caption=off")
    page.wait_for_selector("#waiting p")
    publish(broker, image)
    wait_until_shown(page, str(image.id))
    assert page.evaluate(f"{SHOWN}.naturalWidth") == 1280
    assert page.is_visible("#credit") and "OpenMoji" in page.inner_text("#credit")
    shot = tmp_path / "frame.png"
    page.screenshot(path=str(shot))
    seen = Image.open(shot).convert("RGB")
    painted = Image.open(io.BytesIO(image.image)).convert("RGB")
    for x, y in ((640, 40), (200, 500), (1100, 650)):  # the picture fills the screen, pixel for pixel
        assert close_to(seen.getpixel((x, y)), painted.getpixel((x, y)), tolerance=20)
    page.close()

    [listed] = requests.get(f"{display.url}/api/rooms/living-room/images", timeout=5).json()
    assert listed["depicted"] == ["tent", "campfire", "owl"] and listed["backend"] == "illustrator"
    assert listed["regions"] == [list(r) for r in image.regions]  # where they are, for a crop that keeps them
    dashboard = browser.new_page(viewport={"width": 1440, "height": 900})
    dashboard.goto(f"{display.url}/#living-room")
    dashboard.wait_for_selector("#now-body .depicted-list")
    assert dashboard.inner_text("#now-body .depicted-list") == "tent · campfire · owl"
    assert dashboard.locator("#now-body .chip.depicted").count() == 3
    dashboard.close()
