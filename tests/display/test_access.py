"""The access token and the same-origin rule, on the real display process."""

from __future__ import annotations

import pytest
import requests
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.display.conftest import DisplayProcess
from tests.support import Broker

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
