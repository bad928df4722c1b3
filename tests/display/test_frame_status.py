"""A tablet that is a frame: its screen kept awake, a Wi-Fi drop and a display restart ridden out, and its pairing
said on screen. Real headless Chromium against the real display process and broker."""

from __future__ import annotations

import pytest
import requests

from tests.display.conftest import DisplayProcess, make_image, publish
from tests.display.test_browser import wait_until_shown
from tests.support import Broker, wait_for

pytestmark = pytest.mark.browser

TOKEN = "wall-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}

# Each screen wake lock the page is granted, kept where the test can see it: the real API, observed, not replaced.
OBSERVE_WAKE_LOCKS = """
window.wakeLocks = [];
if (navigator.wakeLock) {
  const request = navigator.wakeLock.request.bind(navigator.wakeLock);
  navigator.wakeLock.request = async (type) => { const lock = await request(type); wakeLocks.push(lock); return lock; };
}
"""


def newest(display: DisplayProcess, room: str = "living-room") -> str | None:
    listed = requests.get(f"{display.url}/api/rooms/{room}/images?limit=1", headers=AUTH, timeout=5).json()
    return listed[0]["id"] if listed else None


def still_showing(page, image_id: str) -> bool:
    return page.evaluate("""id => document.getElementById('stage').dataset.imageId === id
        && getComputedStyle(document.querySelector('.slide.shown')).opacity === '1'""", image_id)


def test_a_frame_keeps_the_screen_awake_and_asks_again_when_the_lock_goes(display: DisplayProcess,
                                                                          browser) -> None:
    context = browser.new_context()
    context.add_init_script(OBSERVE_WAKE_LOCKS)
    page = context.new_page()
    page.goto(f"{display.url}/frame/living-room")
    page.wait_for_function("() => document.body.dataset.awake === 'yes' && wakeLocks.length === 1")
    assert page.evaluate("wakeLocks[0].type === 'screen' && !wakeLocks[0].released")
    page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")  # visible and held: no second lock
    page.evaluate("wakeLocks[0].release()")  # as the browser does when the page is hidden or a saver steps in
    page.wait_for_function(
        "() => wakeLocks.length === 2 && !wakeLocks[1].released && document.body.dataset.awake === 'yes'")
    assert page.evaluate("wakeLocks[0].released")
    context.close()


def test_a_frame_rides_out_a_wifi_drop_and_a_display_restart(broker: Broker, display: DisplayProcess,
                                                             browser) -> None:
    """Offline, it keeps the last picture and says it is reconnecting; back online it shows what came meanwhile;
    the display restarting under it is the same."""
    context = browser.new_context(viewport={"width": 800, "height": 450})
    page = context.new_page()
    page.goto(f"{display.url}/frame/living-room")
    first = make_image(color=(200, 60, 60))
    publish(broker, first)
    wait_until_shown(page, str(first.id))

    context.set_offline(True)
    page.wait_for_selector("#offline", state="visible")
    second = make_image(color=(60, 160, 60))
    publish(broker, second)
    wait_for(lambda: newest(display) == str(second.id), timeout=15, message="the display to have the picture")
    assert still_showing(page, str(first.id)), "offline, the frame keeps its last picture"
    context.set_offline(False)
    wait_until_shown(page, str(second.id), timeout_ms=15000)
    page.wait_for_selector("#offline", state="hidden")

    display.stop()
    page.wait_for_selector("#offline", state="visible")
    assert still_showing(page, str(second.id)), "the display away, the frame keeps its last picture"
    display.start()
    third = make_image(color=(60, 60, 200))
    publish(broker, third)
    wait_until_shown(page, str(third.id), timeout_ms=20000)
    page.wait_for_selector("#offline", state="hidden")
    context.close()


def test_a_frame_says_whether_it_is_paired_to_its_room(broker: Broker, display_factory, browser) -> None:
    """Waiting (pictures only) until paired, paired to its room once the link is opened, revoked when the
    dashboard revokes it (its socket is closed, and it reconnects to pictures only); nothing on an open display."""
    display = display_factory(VOXFRAME_DISPLAY_TOKEN=TOKEN)
    image = make_image()
    publish(broker, image)
    context = browser.new_context(viewport={"width": 800, "height": 450})
    page = context.new_page()
    page.goto(f"{display.url}/frame/living-room")
    wait_until_shown(page, str(image.id))
    badge = page.locator("#pairing")
    badge.wait_for(state="visible")
    assert badge.get_attribute("data-state") == "unpaired" and "waiting to be paired" in badge.inner_text()

    made = requests.post(f"{display.url}/api/pairings", json={"name": "hall", "room": "living-room"}, headers=AUTH,
                         timeout=5).json()
    page.goto(f"{display.url}{made['link']}")
    page.wait_for_function("() => document.getElementById('pairing').dataset.state === 'paired'")
    assert badge.inner_text() == "paired to living-room"
    wait_until_shown(page, str(image.id))

    assert requests.delete(f"{display.url}/api/pairings/{made['id']}", headers=AUTH, timeout=5).status_code == 204
    page.wait_for_function("() => document.getElementById('pairing').dataset.state === 'revoked'")
    assert badge.is_visible() and "pairing revoked" in badge.inner_text()
    assert still_showing(page, str(image.id)), "revoked, it still shows the room's picture, without words"
    context.close()

    open_display = display_factory()
    page = browser.new_page()
    page.goto(f"{open_display.url}/frame/living-room")
    page.wait_for_function("() => document.getElementById('pairing').dataset.state === 'open'")
    assert page.is_hidden("#pairing")
    page.close()
