"""The access token, frame pairings and the same-origin rule, on the real display process."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator

import numpy as np
import pytest
import requests
from PIL import Image
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from services.generator.engines import ImageRequest
from services.generator.engines.poster import PosterBackend
from shared.messages import MicStatus
from tests.display.conftest import DisplayProcess, make_image, publish
from tests.support import Broker, postgres_database, wait_for

TOKEN = "correct-horse-battery"


@pytest.fixture
def guarded(broker: Broker, display_factory) -> DisplayProcess:
    return display_factory(VOXFRAME_DISPLAY_TOKEN=TOKEN)


def test_controls_and_uploads_need_the_token(guarded: DisplayProcess) -> None:
    control = f"{guarded.url}/api/rooms/kitchen/controls"
    assert requests.post(control, json={"command": "paint_now"}, timeout=5).status_code == 401
    assert requests.post(control, json={"command": "paint_now"}, timeout=5,
                         headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert requests.post(control, json={"command": "paint_now"}, timeout=5,
                         headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 202
    upload = requests.post(f"{guarded.url}/api/uploads", files={"audio": ("a.wav", b"RIFF")}, timeout=5)
    assert upload.status_code == 401 and "token" in upload.json()["error"]


def test_the_dashboard_asks_for_the_token_and_keeps_it_in_a_cookie(guarded: DisplayProcess) -> None:
    assert requests.get(f"{guarded.url}/", timeout=5).status_code == 401
    session = requests.Session()
    landed = session.get(f"{guarded.url}/?token={TOKEN}", timeout=5)
    assert landed.status_code == 200 and landed.url == f"{guarded.url}/"  # the token left the address bar
    assert session.get(f"{guarded.url}/upload", timeout=5).status_code == 200
    assert session.post(f"{guarded.url}/api/rooms/kitchen/controls", json={"command": "paint_now"},
                        timeout=5).status_code == 202


def test_frames_stay_open_without_the_token(guarded: DisplayProcess) -> None:
    assert requests.get(f"{guarded.url}/frame/kitchen", timeout=5).status_code == 200
    with connect(f"ws://127.0.0.1:{guarded.port}/ws/frame/kitchen", open_timeout=5) as frame:
        assert '"hello"' in frame.recv(5)


def test_the_dashboard_socket_needs_the_token(guarded: DisplayProcess) -> None:
    with pytest.raises(InvalidStatus):
        connect(f"ws://127.0.0.1:{guarded.port}/ws/dashboard", open_timeout=5)
    with connect(f"ws://127.0.0.1:{guarded.port}/ws/dashboard", open_timeout=5,
                 additional_headers={"Authorization": f"Bearer {TOKEN}"}) as dashboard:
        assert '"hello"' in dashboard.recv(5)


def test_other_sites_may_not_open_sockets_or_send_commands(display: DisplayProcess) -> None:
    with pytest.raises(InvalidStatus):
        connect(f"ws://127.0.0.1:{display.port}/ws/frame/kitchen", open_timeout=5, origin="http://evil.example")
    with connect(f"ws://127.0.0.1:{display.port}/ws/frame/kitchen", open_timeout=5,
                 origin=f"http://127.0.0.1:{display.port}") as frame:
        assert '"hello"' in frame.recv(5)
    refused = requests.post(f"{display.url}/api/rooms/kitchen/controls", json={"command": "mute"}, timeout=5,
                            headers={"Origin": "http://evil.example"})
    assert refused.status_code == 403


# ---- the token protects the conversation's words; paired frames may show them ------------------------------

WORDS = ("lighthouse", "dusk", "we watched")  # what make_image's prompt, keywords and excerpt say


def _stored(display: DisplayProcess, room: str = "living-room") -> list[dict]:
    return wait_for(lambda: requests.get(f"{display.url}/api/rooms/{room}/images", timeout=5,
                                         headers={"Authorization": f"Bearer {TOKEN}"}).json(),
                    timeout=10, message="the image to be stored")


def _says_nothing(text: str) -> bool:
    return not any(word in text for word in WORDS)


def test_without_the_token_no_conversation_text_is_served(broker: Broker, guarded: DisplayProcess) -> None:
    publish(broker, make_image())
    _stored(guarded)
    for what in ("transcripts", "prompts"):
        assert requests.get(f"{guarded.url}/api/rooms/living-room/{what}", timeout=5).status_code == 401
        assert requests.get(f"{guarded.url}/api/rooms/living-room/{what}", timeout=5,
                            headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    anyone = requests.get(f"{guarded.url}/api/rooms/living-room/images", timeout=5)
    assert anyone.status_code == 200 and anyone.json()[0]["url"] and _says_nothing(anyone.text)
    with connect(f"ws://127.0.0.1:{guarded.port}/ws/frame/living-room", open_timeout=5) as frame:
        hello = frame.recv(5)
        assert '"hello"' in hello and '"/images/' in hello and _says_nothing(hello)
        publish(broker, make_image(color=(20, 90, 200)))
        pushed = frame.recv(5)
        assert '"image"' in pushed and _says_nothing(pushed)


def test_without_the_token_rooms_are_names_and_picture_counts_only(broker: Broker, guarded: DisplayProcess) -> None:
    publish(broker, make_image(), MicStatus(room="living-room", source="sofa", level_dbfs=-20, speech_ratio=0.6,
                                            device="browser tab at 192.168.1.34", kind="browser"))
    rooms = f"{guarded.url}/api/rooms"
    owner = wait_for(lambda: [r for r in requests.get(rooms, timeout=5, headers={"Authorization": f"Bearer {TOKEN}"})
                              .json() if r["mics"] and r["images"]], timeout=10, message="the mic and the image")
    assert owner[0]["mics"][0]["device"] == "browser tab at 192.168.1.34"  # the owner sees who is live
    anyone = requests.get(rooms, timeout=5)
    assert anyone.json() == [{"room": "living-room", "images": 1, "last_image_at": None, "mics": [], "language": None}]
    assert "192.168" not in anyone.text and "sofa" not in anyone.text


def _pair(display: DisplayProcess, room: str = "living-room") -> tuple[dict, requests.Session]:
    made = requests.post(f"{display.url}/api/pairings", json={"name": "hall", "room": room}, timeout=5,
                         headers={"Authorization": f"Bearer {TOKEN}"})
    assert made.status_code == 201
    screen = requests.Session()
    landed = screen.post(f"{display.url}{made.json()['link']}", timeout=5)  # what the link's page does
    assert landed.status_code == 200 and landed.url == f"{display.url}/frame/{room}"
    return made.json(), screen


def _frame_hello(display: DisplayProcess, screen: requests.Session) -> str:
    cookie = "; ".join(f"{k}={v}" for k, v in screen.cookies.items())
    with connect(f"ws://127.0.0.1:{display.port}/ws/frame/living-room", open_timeout=5,
                 additional_headers={"Cookie": cookie}) as frame:
        return frame.recv(5)


def test_a_paired_frame_shows_captions_across_restarts_until_revoked(broker: Broker,
                                                                     guarded: DisplayProcess) -> None:
    publish(broker, make_image())
    _stored(guarded)
    pairing, screen = _pair(guarded)
    assert "lighthouse" in _frame_hello(guarded, screen)
    assert requests.get(f"{guarded.url}{pairing['link']}", timeout=5).status_code == 404  # the link works once
    guarded.restart()
    assert "lighthouse" in _frame_hello(guarded, screen)  # the pairing is in the display's database
    listed = requests.get(f"{guarded.url}/api/pairings", timeout=5, headers={"Authorization": f"Bearer {TOKEN}"})
    assert [(p["id"], p["name"], p["link"]) for p in listed.json()] == [(pairing["id"], "hall", None)]

    cookie = "; ".join(f"{k}={v}" for k, v in screen.cookies.items())
    with connect(f"ws://127.0.0.1:{guarded.port}/ws/frame/living-room", open_timeout=5,
                 additional_headers={"Cookie": cookie}) as frame:
        assert "lighthouse" in frame.recv(5)
        revoked = requests.delete(f"{guarded.url}/api/pairings/{pairing['id']}", timeout=5,
                                  headers={"Authorization": f"Bearer {TOKEN}"})
        assert revoked.status_code == 204
        with pytest.raises(ConnectionClosed):  # its live socket goes at once, not at the next reconnect
            frame.recv(5)
    hello = _frame_hello(guarded, screen)
    assert '"/images/' in hello and _says_nothing(hello)


def test_a_pairing_link_fetched_by_a_link_checker_or_preview_is_not_spent(guarded: DisplayProcess, browser) -> None:
    """A pairing link sent to the tablet in a chat or a mail is fetched first by the service's link preview or
    scanner (HEAD or GET, no script run): that leaves the link to the screen, which pairs by opening it (the link
    was spent by the first HEAD or GET, and the screen was told it was used)."""
    made = requests.post(f"{guarded.url}/api/pairings", json={"name": "hall", "room": "kitchen"}, timeout=5,
                         headers={"Authorization": f"Bearer {TOKEN}"}).json()
    link = f"{guarded.url}{made['link']}"
    checked = requests.head(link, timeout=5, allow_redirects=False)
    previewed = requests.get(link, timeout=5, allow_redirects=False, headers={"User-Agent": "Slackbot 1.0"})
    assert (checked.status_code, previewed.status_code) == (200, 200)
    assert "set-cookie" not in checked.headers and "set-cookie" not in previewed.headers
    screen = browser.new_context()
    try:
        page = screen.new_page()
        page.goto(link)
        page.wait_for_url(f"{guarded.url}/frame/kitchen", timeout=10000)
        assert [c["name"] for c in screen.cookies()] == ["voxframe_frame"]
    finally:
        screen.close()
    assert requests.get(link, timeout=5).status_code == 404  # now it is spent
    assert requests.post(link, timeout=5, allow_redirects=False).status_code == 404


def test_pairings_need_the_token(guarded: DisplayProcess) -> None:
    assert requests.post(f"{guarded.url}/api/pairings", json={"room": "kitchen"}, timeout=5).status_code == 401
    assert requests.get(f"{guarded.url}/api/pairings", timeout=5).status_code == 401
    assert requests.get(f"{guarded.url}/pair/made-up-code", timeout=5).status_code == 404


# ---- a pairing grants its room and nothing else, on every display sharing the database -----------------------

@pytest.fixture
def two_displays(broker: Broker, display_factory) -> Iterator[tuple[DisplayProcess, DisplayProcess]]:
    """Two real displays with one token on one PostgreSQL database (a database of the test's own)."""
    with postgres_database() as url:
        yield (display_factory(VOXFRAME_DATABASE_URL=url, VOXFRAME_DISPLAY_TOKEN=TOKEN),
               display_factory(VOXFRAME_DATABASE_URL=url, VOXFRAME_DISPLAY_TOKEN=TOKEN))


def _cookie(screen: requests.Session) -> dict[str, str]:
    return {"Cookie": "; ".join(f"{k}={v}" for k, v in screen.cookies.items())}


def _mic_opens(display: DisplayProcess, room: str, screen: requests.Session) -> bool:
    """Whether a browser-mic socket for `room` is let in with the screen's cookie (hello), or refused."""
    try:
        with connect(f"ws://127.0.0.1:{display.port}/ws/mic/{room}?name=wall", open_timeout=5,
                     additional_headers=_cookie(screen)) as mic:
            return '"hello"' in mic.recv(5)
    except (InvalidStatus, ConnectionClosed):
        return False


@pytest.mark.slow  # two display processes
def test_a_pairing_grants_its_room_and_nothing_else_on_every_display(
        broker: Broker, two_displays: tuple[DisplayProcess, DisplayProcess]) -> None:
    one, two = two_displays
    publish(broker, make_image(room="kitchen"), make_image(room="living-room"))
    for room in ("kitchen", "living-room"):
        _stored(two, room)
    _, screen = _pair(one, room="kitchen")
    for display in (one, two):
        own = requests.get(f"{display.url}/api/rooms/kitchen/images", timeout=5, headers=_cookie(screen))
        other = requests.get(f"{display.url}/api/rooms/living-room/images", timeout=5, headers=_cookie(screen))
        assert "lighthouse" in own.text and other.json() and _says_nothing(other.text)
        for room, captions in (("kitchen", True), ("living-room", False)):
            with connect(f"ws://127.0.0.1:{display.port}/ws/frame/{room}", open_timeout=5,
                         additional_headers=_cookie(screen)) as frame:
                assert ("lighthouse" in frame.recv(5)) is captions, room
        assert requests.get(f"{display.url}/api/rooms/kitchen/transcripts", timeout=5,
                            headers=_cookie(screen)).status_code == 401  # a pairing is not the token
        assert requests.get(f"{display.url}/mic/kitchen", timeout=5, headers=_cookie(screen)).status_code == 200
        assert requests.get(f"{display.url}/mic/living-room", timeout=5, headers=_cookie(screen)).status_code == 401
        assert (_mic_opens(display, "kitchen", screen), _mic_opens(display, "living-room", screen)) == (True, False)


@pytest.mark.slow  # two display processes
def test_a_revocation_on_one_display_closes_the_frames_sockets_on_the_other_within_seconds(
        broker: Broker, two_displays: tuple[DisplayProcess, DisplayProcess]) -> None:
    one, two = two_displays
    publish(broker, make_image())
    _stored(two)
    pairing, screen = _pair(one)
    with connect(f"ws://127.0.0.1:{two.port}/ws/frame/living-room", open_timeout=5,
                 additional_headers=_cookie(screen)) as frame, \
            connect(f"ws://127.0.0.1:{two.port}/ws/mic/living-room?name=wall", open_timeout=5,
                    additional_headers=_cookie(screen)) as mic:
        assert "lighthouse" in frame.recv(5) and '"hello"' in mic.recv(5)
        revoked = requests.delete(f"{one.url}/api/pairings/{pairing['id']}", timeout=5,
                                  headers={"Authorization": f"Bearer {TOKEN}"})
        assert revoked.status_code == 204
        started = time.monotonic()
        with pytest.raises(ConnectionClosed):
            frame.recv(10)
        with pytest.raises(ConnectionClosed):
            while True:
                mic.recv(10)  # a muted-state message may come first
        assert time.monotonic() - started < 5
    assert _says_nothing(requests.get(f"{two.url}/api/rooms/living-room/images", timeout=5,
                                      headers=_cookie(screen)).text)
    assert not _mic_opens(two, "living-room", screen)


# ---- no picture served without the right carries the conversation's words --------------------------------------

def _sharpest_step(data: bytes) -> int:
    """The largest brightness step between neighbouring pixels: typeset letters have edges, a wordless picture none."""
    gray = np.asarray(Image.open(io.BytesIO(data)).convert("L"), dtype=np.int16)
    return int(max(np.abs(np.diff(gray, axis=0)).max(), np.abs(np.diff(gray, axis=1)).max()))


def test_a_picture_with_typeset_words_is_served_wordless_without_its_rooms_right(broker: Broker,
                                                                               guarded: DisplayProcess) -> None:
    poster = PosterBackend().generate(ImageRequest("we watched the lighthouse at dusk", ("lighthouse", "dusk"),
                                                   width=640, height=360))[0]
    typeset = make_image(image=poster.data, width=poster.width, height=poster.height, backend="poster")
    painted = make_image(color=(20, 90, 200), backend="diffusers")
    publish(broker, typeset, painted)
    _stored(guarded)
    _, kitchen_frame = _pair(guarded, room="kitchen")
    _, own_frame = _pair(guarded, room="living-room")
    owner = {"Authorization": f"Bearer {TOKEN}"}
    for who in (owner, _cookie(own_frame)):
        assert requests.get(f"{guarded.url}/images/{typeset.id}", headers=who, timeout=5).content == poster.data
    assert _sharpest_step(poster.data) > 100  # the letters
    for who in ({}, _cookie(kitchen_frame)):  # anyone, and a frame paired for another room
        for query, accept in (("", "image/png"), ("?w=1280", "image/webp")):
            served = requests.get(f"{guarded.url}/images/{typeset.id}{query}", headers={**who, "Accept": accept},
                                  timeout=5)
            assert served.status_code == 200 and served.headers["cache-control"].startswith("private")
            assert _sharpest_step(served.content) < 16, (who, query)  # colours, no letter
        assert requests.get(f"{guarded.url}/images/{painted.id}", headers=who, timeout=5).content == painted.image


def test_the_typesetting_backends_are_named_as_the_generator_names_them() -> None:
    from services.display.gallery.wordless import TYPESETTING_BACKENDS
    from services.generator.engines import illustrator, poster

    assert {poster.NAME, illustrator.NAME} == TYPESETTING_BACKENDS
