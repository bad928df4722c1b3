"""E-ink frames on the real display: the plain URL with conditional GETs, its rights, and TRMNL's protocol."""

from __future__ import annotations

import io
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from email.utils import formatdate

import pytest
import requests
from PIL import Image

from services.display.frames import eink, trmnl
from services.display.web.logscrub import ScrubSecrets
from services.generator.engines import ImageRequest
from services.generator.engines.illustrator import IllustratorBackend
from shared.messages import Command, Control, GeneratedImage
from tests.display.conftest import DisplayProcess, make_image, publish
from tests.support import Broker, postgres_database, wait_for

TOKEN = "correct-horse-battery"
MAC = "A1:B2:C3:D4:E5:F6"


@pytest.fixture(scope="module")
def painted() -> GeneratedImage:
    """An illustrator picture with its depicted things and where they are, as the generator publishes it."""
    picture = IllustratorBackend().generate(ImageRequest("a camping trip", keywords=("tent", "campfire", "owl"),
                                                         width=1280, height=720, seed=3))[0]
    return make_image(image=picture.data, mime_type=picture.mime_type, width=picture.width, height=picture.height,
                      backend="illustrator", depicted=picture.depicted, regions=picture.regions)


def newest(display: DisplayProcess, room: str) -> str | None:
    listed = requests.get(f"{display.url}/api/rooms/{room}/images?limit=1", timeout=5,
                          headers={"Authorization": f"Bearer {TOKEN}"}).json()
    return listed[0]["id"] if listed else None


def shown(broker: Broker, display: DisplayProcess, image: GeneratedImage) -> GeneratedImage:
    """Publish a picture and wait until it is the room's newest."""
    publish(broker, image)
    wait_for(lambda: newest(display, image.room) == str(image.id), timeout=15,
             message="the picture to be the room's newest")
    return image


def finish_asked(broker: Broker, tap: str) -> Control:
    """The set_finish the display sent when a frame joined a room: the room is drawn in the frame's inks."""
    _, body = wait_for(lambda: broker.get(tap), timeout=10, message="the display's set_finish on the broker")
    control = Control.from_json(body)
    assert (control.command, control.source) == (Command.SET_FINISH, "display")
    return control


def only_inks(response: requests.Response, kind: str) -> Image.Image:
    image = Image.open(io.BytesIO(response.content))
    panel = eink.PANELS[kind]
    assert image.size == (panel.width, panel.height)
    used = {rgb for _, rgb in image.convert("RGB").getcolors(16) or []}
    assert used and used <= set(panel.palette)
    return image


def test_a_plain_url_serves_the_rooms_picture_for_the_panel_and_304_while_it_stays(
        broker: Broker, display: DisplayProcess, painted: GeneratedImage) -> None:
    url = f"{display.url}/eink/living-room/spectra6-800x480.png"
    assert requests.get(url, timeout=5).status_code == 404  # no picture yet: the frame keeps what it shows
    shown(broker, display, painted)
    first = requests.get(url, timeout=30)
    assert first.status_code == 200 and first.headers["content-type"] == "image/png"
    assert first.headers["cache-control"] == "no-cache" and first.headers["last-modified"].endswith("GMT")
    only_inks(first, "spectra6-800x480")
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    assert requests.get(url, headers={"If-None-Match": etag}, timeout=5).status_code == 304
    assert requests.get(url, headers={"If-Modified-Since": modified}, timeout=5).status_code == 304
    older = formatdate(datetime.now().timestamp() - 3600, usegmt=True)
    assert requests.get(url, headers={"If-Modified-Since": older}, timeout=5).status_code == 200
    assert requests.get(f"{url}?dither=atkinson", headers={"If-None-Match": etag}, timeout=30).status_code == 200

    bmp = requests.get(f"{display.url}/eink/living-room/bw-800x480.bmp", timeout=30)
    assert bmp.headers["content-type"] == "image/bmp" and only_inks(bmp, "bw-800x480").mode == "1"

    shown(broker, display, make_image(color=(20, 120, 200)))  # a new picture: the frame's copy is stale
    again = requests.get(url, headers={"If-None-Match": etag}, timeout=30)
    assert again.status_code == 200 and again.headers["etag"] != etag


@pytest.mark.parametrize(("path", "status", "words"), [
    ("/eink/living-room/spectra9-800x480.png", 404, "kinds: spectra6-800x480"),
    ("/eink/living-room/spectra6-800x480.gif", 400, ".png or .bmp"),
    ("/eink/living-room/spectra6-800x480.png?dither=dots", 400, "dither is one of"),
    ("/eink/living%20room/spectra6-800x480.png", 400, "room names")])
def test_a_bad_request_is_a_4xx_that_says_why(display: DisplayProcess, path: str, status: int, words: str) -> None:
    response = requests.get(f"{display.url}{path}", timeout=5)
    assert response.status_code == status and words in response.json()["error"]


@pytest.fixture
def guarded(display_factory: Callable[..., DisplayProcess]) -> DisplayProcess:
    return display_factory(VOXFRAME_DISPLAY_TOKEN=TOKEN)


def test_with_a_token_the_url_needs_it_or_the_key_of_a_frame_of_that_room(
        broker: Broker, guarded: DisplayProcess, painted: GeneratedImage) -> None:
    shown(broker, guarded, painted)
    controls = broker.tap("control.#")
    url = f"{guarded.url}/eink/living-room/acep7-800x480.png"
    assert requests.get(url, timeout=5).status_code == 401  # the LAN does not see the room
    assert requests.get(f"{url}?token={TOKEN}", timeout=30).status_code == 200
    auth = {"Authorization": f"Bearer {TOKEN}"}
    assert requests.post(f"{guarded.url}/api/eink/frames", json={"name": "hall", "room": "living-room",
                                                                 "kind": "acep7-800x480"}, timeout=5).status_code == 401
    bad = requests.post(f"{guarded.url}/api/eink/frames", json={"name": "hall", "room": "living-room",
                                                                "kind": "acep9"}, headers=auth, timeout=5)
    assert bad.status_code == 400 and "kind is one of" in bad.json()["error"]
    made = requests.post(f"{guarded.url}/api/eink/frames", json={"name": "hall", "room": "living-room",
                                                                 "kind": "acep7-800x480"}, headers=auth, timeout=5)
    assert made.status_code == 201
    asked = finish_asked(broker, controls)
    assert (asked.room, asked.value) == ("living-room", "acep7"), "the room is drawn in the frame's inks"
    frame = made.json()
    assert frame["url"].startswith(f"{guarded.url}/eink/living-room/acep7-800x480.png?key=")
    only_inks(requests.get(frame["url"], timeout=30), "acep7-800x480")
    key = frame["url"].split("key=")[1]
    assert requests.get(f"{guarded.url}/eink/kitchen/acep7-800x480.png?key={key}", timeout=5).status_code == 401
    # the key opens pictures of its room, never the words: as a screen's cookie it is no pairing
    listed = requests.get(f"{guarded.url}/api/rooms/living-room/images", cookies={"voxframe_frame": key}, timeout=5)
    assert listed.json()[0]["prompt"] == ""
    assert requests.delete(f"{guarded.url}/api/pairings/{frame['id']}", headers=auth, timeout=5).status_code == 204
    assert requests.get(frame["url"], timeout=5).status_code == 401


def trmnl_display(display: DisplayProcess, key: str) -> requests.Response:
    return requests.get(f"{display.url}/api/display", timeout=10, headers={
        "ID": MAC, "Access-Token": key, "Refresh-Rate": "900", "Battery-Voltage": "4.1", "FW-Version": "1.5.2",
        "RSSI": "-60"})


def test_a_trmnl_on_a_display_without_a_token_shows_the_default_room_at_once(
        broker: Broker, display: DisplayProcess, painted: GeneratedImage) -> None:
    controls = broker.tap("control.#")
    assert requests.get(f"{display.url}/api/setup", timeout=5).status_code == 400  # no ID header
    setup = requests.get(f"{display.url}/api/setup", headers={"ID": MAC}, timeout=5).json()
    assert setup["status"] == 200 and len(setup["api_key"]) >= 20 and len(setup["friendly_id"]) == 6
    asked = finish_asked(broker, controls)
    assert (asked.room, asked.value) == ("living-room", "bw")
    assert setup["image_url"].startswith("http://") and setup["filename"]

    waiting = trmnl_display(display, setup["api_key"]).json()
    assert waiting["status"] == 0 and waiting["filename"] == "waiting"  # no picture yet: a card says so
    only_inks(requests.get(waiting["image_url"], timeout=10), "bw-800x480")

    shown(broker, display, painted)
    answer = trmnl_display(display, setup["api_key"]).json()
    assert set(answer) >= {"status", "image_url", "filename", "refresh_rate", "reset_firmware", "update_firmware",
                           "firmware_url"}
    assert answer["status"] == 0 and answer["reset_firmware"] is False and answer["update_firmware"] is False
    assert isinstance(answer["refresh_rate"], int) and answer["refresh_rate"] >= trmnl.TALKING_SECONDS
    assert "/eink/living-room/bw-800x480.bmp?key=" in answer["image_url"]
    picture = requests.get(answer["image_url"], timeout=30)
    assert picture.headers["content-type"] == "image/bmp" and only_inks(picture, "bw-800x480").mode == "1"
    assert trmnl_display(display, setup["api_key"]).json()["filename"] == answer["filename"]  # nothing to fetch

    shown(broker, display, make_image(color=(20, 120, 200)))
    assert trmnl_display(display, setup["api_key"]).json()["filename"] != answer["filename"]

    logged = requests.post(f"{display.url}/api/log", headers={"Access-Token": setup["api_key"]}, timeout=5,
                           json={"log": {"logs_array": [{"log_message": "woke", "wake_reason": "timer"}]}})
    assert logged.status_code == 204
    assert requests.post(f"{display.url}/api/log", json={}, timeout=5).status_code == 401
    assert requests.post(f"{display.url}/api/log", headers={"Access-Token": setup["api_key"]}, data=b"{",
                         timeout=5).status_code == 400
    unknown = trmnl_display(display, "not-a-key").json()
    assert unknown["reset_firmware"] is True and unknown["image_url"] is None  # set itself up again


def test_a_trmnl_waits_for_the_dashboards_approval_when_a_token_is_set(
        broker: Broker, guarded: DisplayProcess, painted: GeneratedImage) -> None:
    shown(broker, guarded, painted)
    shown(broker, guarded, make_image(room="kitchen", color=(200, 200, 40)))
    controls = broker.tap("control.#")
    setup = requests.get(f"{guarded.url}/api/setup", headers={"ID": MAC}, timeout=5).json()
    key = setup["api_key"]
    pending = trmnl_display(guarded, key).json()
    assert "/eink-card/" in pending["image_url"] and pending["refresh_rate"] == trmnl.PENDING_SECONDS
    only_inks(requests.get(pending["image_url"], timeout=10), "bw-800x480")  # "approve this frame", no room
    assert requests.get(f"{guarded.url}/eink/living-room/bw-800x480.bmp?key={key}", timeout=5).status_code == 401

    auth = {"Authorization": f"Bearer {TOKEN}"}
    pairings = requests.get(f"{guarded.url}/api/pairings", headers=auth, timeout=5).json()
    frame = next(p for p in pairings if p["name"] == f"TRMNL {setup['friendly_id']}")
    assert frame["paired_at"] is None
    approve = f"{guarded.url}/api/eink/frames/{frame['id']}/approve"
    assert requests.post(approve, json={"room": "kitchen"}, timeout=5).status_code == 401
    assert requests.post(approve, json={"room": "no room"}, headers=auth, timeout=5).status_code == 400
    approved = requests.post(approve, json={"room": "kitchen"}, headers=auth, timeout=5)
    assert approved.status_code == 200 and approved.json()["room"] == "kitchen"
    asked = finish_asked(broker, controls)  # only once approved: a waiting frame changes no room
    assert (asked.room, asked.value) == ("kitchen", "bw")

    answer = trmnl_display(guarded, key).json()
    assert "/eink/kitchen/bw-800x480.bmp?key=" in answer["image_url"]
    only_inks(requests.get(answer["image_url"], timeout=30), "bw-800x480")
    # set up again (a reset, or someone else with its MAC): approval is needed again
    again = requests.get(f"{guarded.url}/api/setup", headers={"ID": MAC}, timeout=5).json()
    assert requests.get(answer["image_url"], timeout=5).status_code == 401  # the old key is gone
    assert "/eink-card/" in trmnl_display(guarded, again["api_key"]).json()["image_url"]


def test_a_trmnl_that_asks_for_setup_several_times_at_once_is_set_up_once(display_factory) -> None:
    """A TRMNL whose setup call timed out asks again while the first is still in hand (or two displays behind
    one address get both): on PostgreSQL each new MAC is one row and every answer a key (the second insert of a
    MAC raised UniqueViolation: a 500 with a traceback)."""
    with postgres_database() as url:
        display = display_factory(VOXFRAME_DATABASE_URL=url, VOXFRAME_DISPLAY_TOKEN=TOKEN)
        macs = [f"AA:BB:CC:00:00:{n:02X}" for n in range(12)]

        def setup(mac: str) -> int:
            return requests.get(f"{display.url}/api/setup", headers={"ID": mac}, timeout=10).status_code

        with ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(setup, [mac for mac in macs for _ in range(16)]))
        assert set(answers) == {200}
        pairings = requests.get(f"{display.url}/api/pairings", headers={"Authorization": f"Bearer {TOKEN}"},
                                timeout=5).json()
        assert len(pairings) == len(macs)
        key = requests.get(f"{display.url}/api/setup", headers={"ID": macs[0]}, timeout=5).json()["api_key"]
        assert "/eink-card/" in trmnl_display(display, key).json()["image_url"]  # the newest key is the one


@pytest.mark.browser
def test_the_dashboard_approves_a_waiting_trmnl_for_the_room_it_shows(
        broker: Broker, guarded: DisplayProcess, browser) -> None:
    shown(broker, guarded, make_image(room="kitchen", color=(200, 200, 40)))
    setup = requests.get(f"{guarded.url}/api/setup", headers={"ID": MAC}, timeout=5).json()
    board = browser.new_page()
    board.goto(f"{guarded.url}/?token={TOKEN}#kitchen")
    row = board.locator("#pairings li", has_text=f"TRMNL {setup['friendly_id']}")
    row.wait_for()
    assert "waiting for approval" in row.inner_text()
    row.get_by_role("button", name="Approve for kitchen").click()
    wait_for(lambda: "/eink/kitchen/" in (trmnl_display(guarded, setup["api_key"]).json()["image_url"] or ""),
             timeout=10, message="the TRMNL to show the kitchen")
    board.locator("#pairings li", has_text="seen").wait_for()
    board.close()


def test_a_frame_sleeps_until_morning_at_night_and_wakes_sooner_while_the_room_talks() -> None:
    evening = datetime(2026, 12, 6, 23, 0).astimezone()
    assert trmnl.refresh_seconds(evening, evening) == 8 * 3600
    early = datetime(2026, 12, 6, 6, 50).astimezone()
    assert trmnl.refresh_seconds(early, None) == trmnl.DAY_SECONDS  # never less than a day's wait
    noon = datetime(2026, 12, 6, 12, 0).astimezone()
    assert trmnl.refresh_seconds(noon, noon - timedelta(minutes=3)) == trmnl.TALKING_SECONDS
    assert trmnl.refresh_seconds(noon, noon - timedelta(hours=1)) == trmnl.DAY_SECONDS
    assert trmnl.refresh_seconds(noon, None) == trmnl.DAY_SECONDS


def test_a_frames_key_never_reaches_the_log() -> None:
    import logging

    record = logging.LogRecord("uvicorn.access", logging.INFO, "", 0, '"GET /eink/k/bw-800x480.bmp?key=s3cret '
                               'HTTP/1.1" 200', (), None)
    ScrubSecrets().filter(record)
    assert "s3cret" not in record.getMessage()
