"""Hostile clients on the real display: upload bombs, uploads at once, oversized and out-of-range controls,
too many websockets. Each refusal is quick and costs the display next to nothing."""

from __future__ import annotations

import concurrent.futures
import contextlib
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from tests.display.conftest import DisplayProcess
from tests.support import trickle_headers, wait_for


def _peak_rss_mb(pid: int) -> float:
    """A process's peak resident memory so far (VmHWM)."""
    return int(Path(f"/proc/{pid}/status").read_text().split("VmHWM:")[1].split()[0]) / 1024


@pytest.fixture(scope="module")
def hour_of_silence(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """~600 KB of FLAC that decodes to 60 minutes of 48 kHz stereo (1.3 GB as float samples)."""
    path = tmp_path_factory.mktemp("bomb") / "silence.flac"
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i", "anullsrc=r=48000:cl=stereo",
                    "-t", "3600", "-c:a", "flac", str(path)], check=True)
    return path.read_bytes()


def _length_unknown(flac: bytes) -> bytes:
    data = bytearray(flac)
    data[21] &= 0xF0  # STREAMINFO's total-samples field zeroed: "length unknown", as FLAC allows
    data[22:26] = bytes(4)
    return bytes(data)


@pytest.mark.parametrize(("variant", "says"), [("header states it", "3600 s long; the limit is 60 s"),
                                               ("header hides it", "longer than the 60 s limit")])
def test_an_upload_bomb_is_refused_quickly_without_decoding_it(display_factory, hour_of_silence: bytes,
                                                               variant: str, says: str) -> None:
    display = display_factory(VOXFRAME_UPLOAD_MAX_SECONDS="60")  # a hidden length costs decoding up to the limit
    bomb = hour_of_silence if variant == "header states it" else _length_unknown(hour_of_silence)
    assert display.process is not None
    before = _peak_rss_mb(display.process.pid)
    started = time.monotonic()
    refused = requests.post(f"{display.url}/api/uploads", files={"audio": ("silence.flac", bomb)}, timeout=60)
    seconds = time.monotonic() - started
    assert refused.status_code == 413 and says in refused.json()["error"]
    assert seconds < 5, f"refusing took {seconds:.1f} s"  # decoding it all: 10-30 s; `make bench-uploads` times it
    assert _peak_rss_mb(display.process.pid) - before < 100  # decoding it all would be ~2.6 GB


def _hold_an_upload_open(port: int) -> socket.socket:
    """An upload whose body is still arriving: it holds its slot until the socket closes."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    boundary = "b0undary"
    head = (f'--{boundary}\r\nContent-Disposition: form-data; name="audio"; filename="slow.wav"\r\n'
            "Content-Type: audio/wav\r\n\r\nRIFF").encode()
    sock.sendall(f"POST /api/uploads HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 1000000\r\n"
                 f"Content-Type: multipart/form-data; boundary={boundary}\r\n\r\n".encode() + head)
    return sock


def test_uploads_beyond_the_concurrent_limit_get_429_until_one_finishes(display_factory) -> None:
    display = display_factory(VOXFRAME_UPLOAD_MAX_CONCURRENT="1")

    def empty_upload() -> requests.Response:
        return requests.post(f"{display.url}/api/uploads", files={"audio": ("empty.wav", b"")}, timeout=5)

    slow = _hold_an_upload_open(display.port)
    try:
        wait_for(lambda: empty_upload().status_code == 429, timeout=10,
                 message="a second upload to be refused while the first is read")
        assert "try again" in empty_upload().json()["error"]
    finally:
        slow.close()
    wait_for(lambda: empty_upload().status_code == 400, timeout=10,
             message="the slot to come back once the first upload's client went away")


def test_an_upload_that_stops_arriving_is_dropped_with_408_and_frees_its_slot(display_factory) -> None:
    """A sender gone without a FIN (a phone off its Wi-Fi mid-upload) held its slot until the display restarted:
    with one slot, every later upload was a 429 for good."""
    display = display_factory(VOXFRAME_UPLOAD_MAX_CONCURRENT="1", VOXFRAME_UPLOAD_IDLE_SECONDS="2")
    stalled = _hold_an_upload_open(display.port)  # and never another byte, never closed
    try:
        empty = ("empty.wav", b"")
        assert requests.post(f"{display.url}/api/uploads", files={"audio": empty}, timeout=5).status_code == 429
        stalled.settimeout(10)
        answer = b""  # the display answers it, while it still holds the socket open, and closes it
        while chunk := stalled.recv(4096):
            answer += chunk
        assert answer.startswith(b"HTTP/1.1 408") and b"stopped arriving for 2 s" in answer, answer
        assert requests.post(f"{display.url}/api/uploads", files={"audio": empty}, timeout=5).status_code == 400
    finally:
        stalled.close()


def test_an_upload_that_drips_in_is_dropped_with_408_and_frees_its_slot(display_factory) -> None:
    """A byte just inside each pause limit held an upload's slot for as long as the sender liked (a 1 MB upload at a
    byte a second: 12 days); with one slot, every other upload was a 429 meanwhile. After its first pause-length
    the body must keep an average pace (shared/http_limits.py), or it is answered 408 and its slot freed; a sender
    dripping on after the answer is cut off at the header deadline (each byte restarted uvicorn's keep-alive)."""
    display = display_factory(VOXFRAME_UPLOAD_MAX_CONCURRENT="1", VOXFRAME_UPLOAD_IDLE_SECONDS="2",
                              VOXFRAME_HTTP_HEADER_SECONDS="2")
    dripping, started = _hold_an_upload_open(display.port), time.monotonic()
    answer, answered, closed = b"", None, None
    try:
        dripping.settimeout(0.5)
        while closed is None and time.monotonic() - started < 12:
            try:
                dripping.sendall(b"x")  # every half second: never a pause of 2 s, before the answer or after
                chunk = dripping.recv(4096)
            except TimeoutError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                chunk = b""
            if not chunk:
                closed = time.monotonic() - started
            elif answered is None:
                answered = time.monotonic() - started
                empty = ("empty.wav", b"")
                assert requests.post(f"{display.url}/api/uploads", files={"audio": empty}, timeout=5).status_code \
                    == 400  # the slot is free
            answer += chunk
    finally:
        dripping.close()
    assert answer.startswith(b"HTTP/1.1 408") and b"slower than 4096 bytes a second" in answer, answer
    assert answered is not None and answered < 5, answered  # the first 2 s, then the pace is checked at each byte
    assert closed is not None and closed - answered < 4.5, (answered, closed)  # 2 s after the answer, and a margin


def _whole(answer: bytes) -> bool:
    """Whether an HTTP answer's head and all the body its Content-Length promises have come."""
    head, ended, body = answer.partition(b"\r\n\r\n")
    length = [line for line in head.lower().split(b"\r\n") if line.startswith(b"content-length:")]
    return bool(ended) and len(body) >= int(length[0].split(b":")[1]) if length else bool(ended)


def _drip_a_body(port: int, path: str, every: float | None, give_up_seconds: float,
                 **headers: str) -> tuple[bytes, float]:
    """POST `path` promising 4,000 bytes of body, then send a byte every `every` seconds (None: never another) until
    the display answers or `give_up_seconds` pass; what it answered and when (seconds after the headers)."""
    head = "".join(f"{name.replace('_', '-')}: {value}\r\n" for name, value in headers.items())
    answer, sent = b"", 1
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
                     f"Content-Length: 4000\r\n{head}\r\n{{".encode())
        started = time.monotonic()
        while not _whole(answer) and (waited := time.monotonic() - started) < give_up_seconds:
            sock.settimeout(max(0.01, (every or give_up_seconds) * sent - waited))
            try:
                if not (chunk := sock.recv(4096)):
                    break
                answer += chunk
            except TimeoutError:
                if every is not None:
                    sock.sendall(b" ")
                    sent += 1
        return answer, time.monotonic() - started


def test_small_bodies_that_drip_or_stop_are_answered_408(display_factory) -> None:
    """A control, a pairing, an e-ink frame or a TRMNL's log dripped in a byte at a time held its handler and its
    connection for as long as the sender liked: only uploads kept a pace. Every body is read through one capped
    reader now: no pause longer than the deadline (VOXFRAME_HTTP_HEADER_SECONDS here), then 4 KiB a second."""
    display = display_factory(VOXFRAME_HTTP_HEADER_SECONDS="1")
    made = requests.post(f"{display.url}/api/eink/frames", json={"name": "hall", "room": "kitchen",
                                                                 "kind": "spectra6-800x480"}, timeout=5)
    assert made.status_code == 201, made.text
    key = made.json()["url"].split("key=")[1]
    drips = {"/api/rooms/kitchen/controls": {}, "/api/pairings": {}, "/api/log": {"Access_Token": key}}
    with concurrent.futures.ThreadPoolExecutor(len(drips) + 1) as senders:
        dripped = {path: senders.submit(_drip_a_body, display.port, path, 0.3, 8, **headers)
                   for path, headers in drips.items()}
        stopped = senders.submit(_drip_a_body, display.port, "/api/eink/frames", None, 8)
        for path, sender in dripped.items():
            answer, seconds = sender.result()
            assert answer.startswith(b"HTTP/1.1 408") and b"slower than 4096 bytes a second" in answer, (path, answer)
            assert seconds < 3.5, (path, seconds)  # the first second, then the pace is checked at each byte
        answer, seconds = stopped.result()
        assert answer.startswith(b"HTTP/1.1 408") and b"stopped arriving for 1 s" in answer, answer
        assert seconds < 3.5, seconds


def _status_of_raw_request(port: int, request: bytes) -> int:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request)
        answer = b""
        while b"\r\n" not in answer:
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
    return int(answer.split()[1])


def test_a_huge_control_body_is_refused_before_it_is_read(display: DisplayProcess) -> None:
    head = (f"POST /api/rooms/kitchen/controls HTTP/1.1\r\nHost: 127.0.0.1:{display.port}\r\n"
            "Content-Type: application/json\r\n")
    declared = head + "Content-Length: 150000000\r\n\r\n"  # 150 MB announced; not a byte of it is sent
    assert _status_of_raw_request(display.port, declared.encode()) == 413
    chunk = b"2000\r\n" + b" " * 0x2000 + b"\r\n"  # 8 KB chunks, no length announced
    streamed = (head + "Transfer-Encoding: chunked\r\n\r\n").encode() + chunk * 4 + b"0\r\n\r\n"
    assert _status_of_raw_request(display.port, streamed) == 413


@pytest.mark.parametrize(("control", "says"), [
    ({"command": "set_window", "value": 99999}, "from 5 to 600"),
    ({"command": "set_window", "value": "soon"}, "from 5 to 600"),
    ({"command": "set_style", "value": "nonsense"}, "watercolor, oil painting"),
    ({"command": "set_images", "value": 0}, "from 1 to 8"),
    ({"command": "set_images", "value": 2.5}, "whole number from 1 to 8"),
    ({"command": "set_scene_mode", "value": "film"}, "living, slideshow"),
])
def test_control_values_outside_what_the_prompter_takes_are_400(display: DisplayProcess, control: dict,
                                                                says: str) -> None:
    refused = requests.post(f"{display.url}/api/rooms/kitchen/controls", json=control, timeout=5)
    assert refused.status_code == 400 and says in refused.json()["error"]


def test_control_values_within_range_are_sent(display: DisplayProcess) -> None:
    for control in ({"command": "set_window", "value": 600}, {"command": "set_style", "value": "Oil-Painting"},
                    {"command": "set_images", "value": 8}, {"command": "set_scene_mode", "value": "slideshow"}):
        assert requests.post(f"{display.url}/api/rooms/kitchen/controls", json=control, timeout=5).status_code == 202


def _frame_from(address: str, port: int) -> ClientConnection:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5, source_address=(address, 0))
    return connect(f"ws://127.0.0.1:{port}/ws/frame/kitchen", sock=sock, open_timeout=5)


def _refusal(frame: ClientConnection) -> tuple[int, str]:
    with frame, pytest.raises(ConnectionClosed) as closed:
        frame.recv(5)
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code, closed.value.rcvd.reason


def test_websockets_are_bounded_per_address_and_in_total(display_factory) -> None:
    display = display_factory(VOXFRAME_DISPLAY_WS_MAX_PER_ADDRESS="2", VOXFRAME_DISPLAY_WS_MAX_CLIENTS="4")
    with contextlib.ExitStack() as open_frames:
        first = [open_frames.enter_context(_frame_from(address, display.port))
                 for address in ("127.0.0.1", "127.0.0.1", "127.0.0.2")]
        for frame in first:
            assert '"hello"' in frame.recv(5)
        code, reason = _refusal(_frame_from("127.0.0.1", display.port))
        assert code == 1013 and "your address has 2 live connections" in reason
        assert '"hello"' in open_frames.enter_context(_frame_from("127.0.0.2", display.port)).recv(5)
        code, reason = _refusal(_frame_from("127.0.0.3", display.port))
        assert code == 1013 and "limit of 4 live connections" in reason
        first[0].close()

        def welcomed_again() -> bool:
            with _frame_from("127.0.0.3", display.port) as frame:
                try:
                    return '"hello"' in frame.recv(5)
                except ConnectionClosed:
                    return False

        wait_for(welcomed_again, timeout=10, message="a place to free up when a frame leaves")


def test_request_headers_sent_a_byte_a_second_are_cut_off_at_the_deadline(display_factory) -> None:
    """uvicorn gave a request's headers no deadline: a client trickling a header byte a second held its connection
    (its memory and file descriptor) for as long as it liked, and a few thousand such took every descriptor. At
    the deadline the display answers 408 and closes; headers that come in pieces within it are served."""
    display = display_factory(VOXFRAME_HTTP_HEADER_SECONDS="2")
    held, answer, closed = trickle_headers(display.port, give_up_seconds=6)
    assert closed and 2 <= held < 4.5, (held, answer)  # the deadline, and a margin for a loaded machine
    assert answer.startswith(b"HTTP/1.1 408 "), answer
    with socket.create_connection(("127.0.0.1", display.port), timeout=5) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        time.sleep(1)  # the pace under test: half the deadline between two pieces of the headers
        sock.sendall(b"Connection: close\r\n\r\n")
        assert sock.makefile("rb").readline().startswith(b"HTTP/1.1 200 ")
