"""The dashboard's layout in real headless Chromium at phone, tablet and desktop widths: no card covers another,
and every control can be clicked where it is drawn (the topmost element at its centre is the control itself)."""

from __future__ import annotations

import pytest

from shared.messages import MicStatus
from tests.display.conftest import DisplayProcess, make_image, publish

pytestmark = pytest.mark.browser

SCREENS = {"phone": (390, 844), "tablet": (820, 1180), "laptop": (1024, 768), "desktop": (1280, 800),
           "wide": (1440, 900), "full-hd": (1920, 1080)}

# Rectangles in page coordinates; a pair of cards sharing more than a pixel's sliver overlaps.
OVERLAPS = """() => {
  const boxes = [...document.querySelectorAll('.card')].filter(c => c.offsetParent !== null).map(c => {
    const r = c.getBoundingClientRect();
    return {id: c.id || c.className, left: r.left + scrollX, top: r.top + scrollY, right: r.right + scrollX,
            bottom: r.bottom + scrollY};
  });
  const found = [];
  boxes.forEach((a, i) => boxes.slice(i + 1).forEach(b => {
    const w = Math.min(a.right, b.right) - Math.max(a.left, b.left);
    const h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
    if (w > 1 && h > 1) found.push(`${a.id} and ${b.id} (${Math.round(w)}x${Math.round(h)} px)`);
  }));
  return found;
}"""

# Each visible control scrolled to the middle of the viewport: what is drawn at its centre must be it or inside it.
COVERED = """() => {
  const controls = [...document.querySelectorAll('main button, main a, main input, main select')]
    .filter(el => el.offsetParent !== null && !el.closest('dialog'));
  const covered = [];
  for (const el of controls) {
    el.scrollIntoView({block: 'center', inline: 'center'});
    const r = el.getBoundingClientRect();
    const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
    if (!(hit === el || el.contains(hit))) {
      covered.push(`${el.id || el.textContent.trim() || el.tagName} under ${hit ? hit.id || hit.className
        || hit.tagName : 'nothing'}`);
    }
  }
  return {count: controls.length, covered};
}"""


@pytest.mark.parametrize("screen", SCREENS)
def test_no_card_covers_another_and_every_control_can_be_clicked(broker, display: DisplayProcess, browser,
                                                                 screen: str) -> None:
    width, height = SCREENS[screen]
    publish(broker, MicStatus(room="living-room", source="sofa-mic", level_dbfs=-20, speech_ratio=0.6,
                              device="USB Audio"), make_image(size=(1280, 720)))
    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(f"{display.url}/#living-room")
    page.locator('.mic[data-mic="sofa-mic"] .switch').wait_for()
    page.wait_for_function("() => document.querySelector('#now-body img')?.naturalWidth > 0")
    page.wait_for_function("() => document.querySelector('#gallery img')?.naturalWidth > 0")
    assert page.evaluate(OVERLAPS) == []
    controls = page.evaluate(COVERED)
    assert controls["count"] >= 10  # mute switch, mute room, controls, pairing, gallery tile
    assert controls["covered"] == []
    page.close()
