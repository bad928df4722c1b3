"""Browser-facing defences of the real display: the Host check against DNS rebinding, security headers, Secure
cookies over HTTPS, no secrets in the logs, and a token made at first start when it listens beyond loopback."""

from __future__ import annotations

import socket

import pytest
import requests
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.display.conftest import DisplayProcess
from tests.support import wait_for

TOKEN = "correct-horse-battery"


def _get(display: DisplayProcess, path: str, host: str, **headers: str) -> requests.Response:
    return requests.get(f"{display.url}{path}", headers={"Host": host, **headers}, timeout=5, allow_redirects=False)


def test_a_rebound_name_is_refused_even_from_its_own_origin(display: DisplayProcess) -> None:
    """attacker.example re-pointed at this display: its page's Origin matches its Host, so only Host can tell."""
    evil = f"attacker.example:{display.port}"
    refused = _get(display, "/api/rooms/living-room/images", evil, Origin=f"http://{evil}")
    assert refused.status_code == 421 and "VOXFRAME_DISPLAY_ALLOWED_HOSTS" in refused.json()["error"]
    sock = socket.create_connection(("127.0.0.1", display.port), timeout=5)
    with pytest.raises(InvalidStatus):
        connect(f"ws://{evil}/ws/frame/living-room", sock=sock, origin=f"http://{evil}", open_timeout=5)
    for ours in (f"127.0.0.1:{display.port}", f"localhost:{display.port}", f"[::1]:{display.port}",
                 f"{socket.gethostname()}:{display.port}", f"192.168.1.20:{display.port}"):
        assert _get(display, "/frame/kitchen", ours).status_code == 200, ours
    assert _get(display, "/healthz", f"display:{display.port}").status_code == 200  # scraped by service name


def test_names_configured_for_the_display_are_allowed(display_factory) -> None:
    display = display_factory(VOXFRAME_DISPLAY_ALLOWED_HOSTS="frames.home.arpa")
    assert _get(display, "/frame/kitchen", f"frames.home.arpa:{display.port}").status_code == 200
    assert _get(display, "/frame/kitchen", f"attacker.example:{display.port}").status_code == 421


def test_the_public_urls_name_is_one_of_ours_so_assemblyai_webhooks_reach_the_display(display_factory) -> None:
    display = display_factory(VOXFRAME_STT_ENGINE="assemblyai", VOXFRAME_ASSEMBLYAI_API_KEY="k",
                              VOXFRAME_PUBLIC_URL="https://voxframe.example.net/")
    delivered = requests.post(f"{display.url}/api/webhooks/assemblyai", json={"transcript_id": "t", "status": "x"},
                              headers={"Host": "voxframe.example.net"}, timeout=5)
    assert delivered.status_code == 401, delivered.text  # reached the webhook, which wants its secret header
    assert _get(display, "/frame/kitchen", f"attacker.example:{display.port}").status_code == 421


def test_pages_forbid_framing_and_foreign_code_but_frames_may_be_embedded(display: DisplayProcess) -> None:
    for path in ("/", "/upload", "/api/rooms"):
        answer = requests.get(f"{display.url}{path}", timeout=5)
        policy = answer.headers["Content-Security-Policy"]
        assert "default-src 'self'" in policy and "script-src 'self'" in policy, path
        assert "frame-ancestors 'none'" in policy and answer.headers["X-Frame-Options"] == "DENY", path
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
    frame = requests.get(f"{display.url}/frame/kitchen", timeout=5)
    assert "frame-ancestors *" in frame.headers["Content-Security-Policy"]
    assert "X-Frame-Options" not in frame.headers


def test_cookies_are_secure_when_served_over_https(display_factory) -> None:
    display = display_factory(VOXFRAME_DISPLAY_TOKEN=TOKEN)
    plain = requests.get(f"{display.url}/?token={TOKEN}", timeout=5, allow_redirects=False)
    assert plain.status_code == 303 and "secure" not in plain.headers["set-cookie"].lower()
    proxied = requests.get(f"{display.url}/?token={TOKEN}", timeout=5, allow_redirects=False,
                           headers={"X-Forwarded-Proto": "https"})
    assert proxied.status_code == 303 and "secure" in proxied.headers["set-cookie"].lower()
    assert "httponly" in proxied.headers["set-cookie"].lower()


def test_tokens_in_urls_never_reach_the_logs(display_factory) -> None:
    display = display_factory("--log-requests", VOXFRAME_DISPLAY_TOKEN=TOKEN)
    requests.get(f"{display.url}/?token={TOKEN}", timeout=5, allow_redirects=False)
    with connect(f"ws://127.0.0.1:{display.port}/ws/dashboard?token={TOKEN}", open_timeout=5) as dashboard:
        assert '"hello"' in dashboard.recv(5)
    requests.get(f"{display.url}/pair/one-time-code-123", timeout=5)
    assert display.log is not None
    wait_for(lambda: display.log.read_text().count("<redacted>") >= 3, timeout=10,
             message="the three requests to be logged")
    log = display.log.read_text()
    assert TOKEN not in log and "one-time-code-123" not in log
    assert "GET /?token=<redacted>" in log and "/ws/dashboard?token=<redacted>" in log


def test_beyond_loopback_a_token_is_made_at_first_start_kept_and_required(display_factory) -> None:
    lan = display_factory(host="0.0.0.0")
    stored = lan.data_dir / "display-token"
    token = stored.read_text().strip()
    assert len(token) >= 32 and stored.stat().st_mode & 0o777 == 0o600
    assert lan.log is not None and f"/?token={token}" in lan.log.read_text()  # the dashboard link, printed
    assert requests.get(f"{lan.url}/", timeout=5).status_code == 401
    assert requests.get(f"{lan.url}/api/rooms/den/transcripts", timeout=5).status_code == 401
    assert requests.post(f"{lan.url}/api/rooms/den/controls", json={"command": "mute"}, timeout=5).status_code == 401
    with pytest.raises(InvalidStatus):  # no browser mic without the token
        connect(f"ws://127.0.0.1:{lan.port}/ws/mic/den?name=tab", open_timeout=5)
    assert requests.get(f"{lan.url}/?token={token}", timeout=5).status_code == 200
    printed = lan.log.read_text().count(token)
    lan.restart()
    assert stored.read_text().strip() == token and lan.log.read_text().count(token) == printed  # kept, shown once
    assert requests.get(f"{lan.url}/api/rooms/den/transcripts", timeout=5,
                        headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_without_a_token_only_loopback_or_an_explicit_insecure_is_open(display_factory) -> None:
    local = display_factory()
    insecure = display_factory("--insecure", host="0.0.0.0")
    for display in (local, insecure):
        assert requests.get(f"{display.url}/", timeout=5).status_code == 200
        assert not (display.data_dir / "display-token").exists()
    assert insecure.log is not None and local.log is not None
    assert "WARNING" in insecure.log.read_text() and "NO ACCESS TOKEN" in insecure.log.read_text()
    assert "NO ACCESS TOKEN" not in local.log.read_text()


def test_the_examples_placeholder_token_is_refused(display_factory) -> None:
    with pytest.raises(AssertionError, match="placeholder"):
        display_factory(VOXFRAME_DISPLAY_TOKEN="change-me-display-token")
