"""Anonymous clients cannot starve authorised ones, against the real display process: a storm of requests for
distinct image variants renders a bounded few (the rest get the nearest size already made) while the API stays
quick and an authorised browser mic keeps streaming; a server stall of several seconds costs the mic a little
backlog, never the socket; anonymous frames cannot take the websockets kept for the dashboard and paired frames."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import select
import signal
import socket
import statistics
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest
import requests
from PIL import Image
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from services.generator.engines import ImageRequest
from services.generator.engines.illustrator import IllustratorBackend
from shared.bus import REASON_HEADER
from tests.display.conftest import DisplayProcess, make_image, publish
from tests.display.test_limits import _peak_rss_mb, _refusal
from tests.support import Broker, wait_for

TOKEN = "s3cret"
FRAME_SAMPLES = 1600  # 100 ms, as the page sends
WEBP = "image/avif,image/webp,image/*,*/*;q=0.8"
JPEG = "image/png,image/jpeg,*/*;q=0.8"
# The variants of a 1920 px JPEG: three narrower JPEGs, four WebPs (its own width re-encoded too).
VARIANTS = [("?w=640", JPEG), ("?w=960", JPEG), ("?w=1280", JPEG),
            ("?w=640", WEBP), ("?w=960", WEBP), ("?w=1280", WEBP), ("?w=1920", WEBP)]
STORM = 150
GALLERY = 200  # a full page of /api/rooms/{room}/images: two queries per image
FLOOD_CLIENTS, FLOOD_SECONDS = 128, 6.0


@pytest.fixture(scope="module")
def painting() -> bytes:
    """A 1920×1080 JPEG with the illustrator's detail, so a render costs what a real one does."""
    request = ImageRequest("a camping trip", keywords=("tent", "campfire", "owl"), width=1920, height=1080, seed=2)
    return IllustratorBackend().generate(request)[0].data


def metric(display: DisplayProcess, name: str) -> float:
    """The sum of a counter's samples over all its labels."""
    text = requests.get(f"{display.url}/metrics", timeout=10).text
    return sum(float(v) for v in re.findall(rf"^{name}(?:{{[^}}]*}})? (\S+)$", text, re.MULTILINE))


class Tab:
    """An authorised browser mic sending 100 ms of quiet room noise every 100 ms from a thread, as a tab does;
    `closed` is the server's close frame, if it sent one."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        assert json.loads(ws.recv(timeout=10))["type"] == "hello"
        self.closed: tuple[int, str] | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._stream, daemon=True)
        self._thread.start()

    def _stream(self) -> None:
        noise = np.random.default_rng(0).normal(0, 30, FRAME_SAMPLES).astype("<i2").tobytes()
        started, sent = time.monotonic(), 0
        with contextlib.suppress(ConnectionClosed):
            while not self._stop.is_set():
                self.ws.send(noise)
                sent += 1
                self._stop.wait(max(0.0, started + sent * 0.1 - time.monotonic()))  # real-time pacing

    def alive(self) -> bool:
        """The socket answers a ping (the server never closed it)."""
        try:
            self.ws.ping().wait(10)
            return True
        except ConnectionClosed as exc:
            self.closed = (exc.rcvd.code, exc.rcvd.reason) if exc.rcvd else (0, "no close frame")
            return False

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)


@contextlib.contextmanager
def streaming_tab(display: DisplayProcess) -> Iterator[Tab]:
    with connect(f"ws://127.0.0.1:{display.port}/ws/mic/study?name=tab&token={TOKEN}") as ws:
        tab = Tab(ws)
        try:
            yield tab
        finally:
            tab.stop()


def api_seconds(display: DisplayProcess) -> float:
    started = time.perf_counter()
    answer = requests.get(f"{display.url}/api/rooms", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60)
    assert answer.status_code == 200
    return time.perf_counter() - started


def api_seconds_while(display: DisplayProcess, work: list[Future[Any]]) -> list[float]:
    """One authorised API call every 50 ms, each timed on its own, until all of `work` is done."""
    with ThreadPoolExecutor(16) as probes:
        timed = []
        while not all(a.done() for a in work):
            timed.append(probes.submit(api_seconds, display))
            time.sleep(0.05)  # the probes' pace
    return [t.result() for t in timed]


def percentiles(seconds: list[float]) -> str:
    ordered = sorted(seconds)
    return (f"p50 {1000 * statistics.median(ordered):.0f} ms, p99 {1000 * ordered[int(0.99 * (len(ordered) - 1))]:.0f} "
            f"ms, max {1000 * ordered[-1]:.0f} ms over {len(ordered)}")


def test_a_storm_of_anonymous_variant_requests_renders_a_bounded_few_and_starves_no_one(
        broker: Broker, display_factory, painting: bytes) -> None:
    display = display_factory(VOXFRAME_DISPLAY_TOKEN=TOKEN)
    images = [make_image(image=painting, mime_type="image/jpeg", width=1920, height=1080, backend="openai")
              for _ in range(-(-STORM // len(VARIANTS)))]  # no words set in its pixels: served as it is
    publish(broker, *images)
    for image in images:
        wait_for(lambda i=image: requests.get(f"{display.url}/images/{i.id}", timeout=10).status_code == 200,
                 timeout=20, message="the images to be stored")
    asks = [(image, query, accept) for image in images for query, accept in VARIANTS][:STORM]
    idle = [api_seconds(display) for _ in range(30)]
    renders_before = metric(display, "voxframe_display_image_variants_total")

    def anonymous(ask: tuple) -> requests.Response:
        image, query, accept = ask
        return requests.get(f"{display.url}/images/{image.id}{query}", headers={"Accept": accept}, timeout=120)

    with streaming_tab(display) as tab, ThreadPoolExecutor(STORM) as attackers:
        assert tab.alive()
        started = time.monotonic()
        answers = [attackers.submit(anonymous, ask) for ask in asks]
        during = api_seconds_while(display, answers)
        storm_seconds = time.monotonic() - started
        mic_alive = tab.alive()
    renders = metric(display, "voxframe_display_image_variants_total") - renders_before
    nearest = metric(display, "voxframe_display_image_variant_fallbacks_total")
    print(f"\n{STORM} anonymous variant requests answered in {storm_seconds:.1f} s: {renders:.0f} rendered, "
          f"{nearest:.0f} served the nearest size already made\n/api/rooms idle: {percentiles(idle)}\n"
          f"/api/rooms during the storm: {percentiles(during)}")
    assert mic_alive, f"the authorised mic was closed during the storm: {tab.closed}"
    assert {a.result().status_code for a in answers} == {200}
    assert all(a.result().headers["content-type"].startswith("image/") for a in answers)
    assert renders < STORM and renders + nearest >= STORM
    # Before renders had threads of their own: p99 15 s. Now 0.1-1.2 s on a loaded 2-core machine.
    assert sorted(during)[int(0.99 * (len(during) - 1))] < 2.0, "the authorised API waited behind the renders"


def test_wordless_pictures_beyond_the_render_queue_are_refused_with_retry_after(broker: Broker, display_factory,
                                                                              painting: bytes) -> None:
    """A picture with words set in it has no stand-in for anonymous eyes but its wordless variant, made on the
    render threads like any variant: beyond their queue, 503 and when to try again, not a place in line."""
    display = display_factory(VOXFRAME_DISPLAY_TOKEN=TOKEN, VOXFRAME_DISPLAY_RENDER_THREADS="1",
                              VOXFRAME_DISPLAY_RENDER_QUEUE="1")
    images = [make_image(image=painting, mime_type="image/jpeg", width=1920, height=1080, backend="illustrator")
              for _ in range(12)]
    publish(broker, *images)
    for image in images:
        wait_for(lambda i=image: requests.get(f"{display.url}/images/{i.id}", headers={"Authorization": f"Bearer "
                                              f"{TOKEN}"}, timeout=10).status_code == 200, timeout=20,
                 message="the images to be stored")
    with ThreadPoolExecutor(len(images)) as anonymous:
        answers = list(anonymous.map(lambda i: requests.get(f"{display.url}/images/{i.id}", timeout=60), images))
    assert {a.status_code for a in answers} == {200, 503}
    assert all(a.headers["retry-after"] == "5" and "try again" in a.json()["error"]
               for a in answers if a.status_code == 503)
    wait_for(lambda: all(requests.get(f"{display.url}/images/{i.id}", timeout=10).status_code == 200 for i in images),
             timeout=30, message="every wordless picture once the renders are free")


def test_a_mic_survives_a_server_stall_of_several_seconds(display_factory) -> None:
    display = display_factory(VOXFRAME_DISPLAY_TOKEN=TOKEN)
    assert display.process is not None
    with streaming_tab(display) as tab:
        assert tab.alive()
        os.kill(display.process.pid, signal.SIGSTOP)  # the whole server stalls; the tab goes on sending
        try:
            time.sleep(7)  # the stall under test: longer than the backlog a mic is fed after one
        finally:
            os.kill(display.process.pid, signal.SIGCONT)
        wait_for(lambda: not tab.alive() or metric(display, "voxframe_display_mic_backlog_dropped_seconds_total"),
                 timeout=15, message="the server to read the backlog")  # a ping is answered before it is read
        assert tab.alive(), f"the mic was closed after the stall: {tab.closed}"
        dropped = metric(display, "voxframe_display_mic_backlog_dropped_seconds_total")
        assert 0 < dropped < 7
        print(f"\nafter a 7 s stall the mic stayed open; {dropped:.1f} s of its backlog dropped")


def frame(display: DisplayProcess, *, token: bool = False) -> ClientConnection:
    return connect(f"ws://127.0.0.1:{display.port}/ws/frame/kitchen" + (f"?token={TOKEN}" if token else ""),
                   open_timeout=5)


def test_anonymous_frames_cannot_take_the_sockets_kept_for_the_dashboard_and_paired_frames(display_factory) -> None:
    display = display_factory(VOXFRAME_DISPLAY_TOKEN=TOKEN, VOXFRAME_DISPLAY_WS_MAX_CLIENTS="4",
                              VOXFRAME_DISPLAY_WS_MAX_ANONYMOUS="2")
    with contextlib.ExitStack() as open_sockets:
        for _ in range(2):
            assert '"hello"' in open_sockets.enter_context(frame(display)).recv(5)
        code, reason = _refusal(frame(display))
        assert code == 1013 and "without the token or a pairing" in reason
        for _ in range(2):  # the two kept for those with the right
            assert '"hello"' in open_sockets.enter_context(frame(display, token=True)).recv(5)
        dashboard = connect(f"ws://127.0.0.1:{display.port}/ws/dashboard?token={TOKEN}", open_timeout=5)
        assert _refusal(dashboard)[0] == 1013  # and no more than the total


def test_a_picture_over_the_pixel_cap_is_dead_lettered_and_never_decoded(broker: Broker,
                                                                        display: DisplayProcess) -> None:
    bomb = io.BytesIO()
    Image.new("1", (10_000, 10_000)).save(bomb, "PNG")  # 100 megapixels in 12 KB
    image = make_image(image=bomb.getvalue(), width=10_000, height=10_000)
    publish(broker, image)
    props, _ = wait_for(lambda: broker.get(broker.topology.dead.name), timeout=10, message="a dead letter")
    reason = props.headers[REASON_HEADER]
    assert reason.startswith("unprocessable:") and "10000×10000 pixels is over the display's cap" in reason
    assert requests.get(f"{display.url}/images/{image.id}?w=640", timeout=10).status_code == 404


def test_anonymous_clients_take_no_upload_or_mic_slot(display_factory) -> None:
    display = display_factory(VOXFRAME_DISPLAY_TOKEN=TOKEN, VOXFRAME_UPLOAD_MAX_CONCURRENT="1",
                              VOXFRAME_DISPLAY_MIC_MAX_TABS="1")
    with contextlib.ExitStack() as held:
        for _ in range(5):  # uploads that would hold their slot while their body trickles in
            sock = held.enter_context(socket.create_connection(("127.0.0.1", display.port), timeout=5))
            sock.sendall(f"POST /api/uploads HTTP/1.1\r\nHost: 127.0.0.1:{display.port}\r\n"
                         "Content-Length: 1000000\r\nContent-Type: multipart/form-data; boundary=b\r\n\r\n--b".encode())
            assert sock.recv(64).startswith(b"HTTP/1.1 401")
            with pytest.raises(InvalidStatus):
                held.enter_context(connect(f"ws://127.0.0.1:{display.port}/ws/mic/study?name=n{_}"))
        authorised = requests.post(f"{display.url}/api/uploads", files={"audio": ("empty.wav", b"")},
                                   headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
        assert authorised.status_code == 400 and "empty" in authorised.json()["error"]  # its slot was free
        with streaming_tab(display) as tab:  # and so was the mic slot
            assert tab.alive()


def test_an_upload_past_the_limit_is_refused_while_it_streams_in(display_factory) -> None:
    display = display_factory(VOXFRAME_UPLOAD_MAX_MB="1")
    assert display.process is not None
    before = _peak_rss_mb(display.process.pid)
    chunk = b"10000\r\n" + bytes(0x10000) + b"\r\n"  # 64 KiB chunks, no length announced
    sent = 0
    with socket.create_connection(("127.0.0.1", display.port), timeout=10) as sock:
        sock.sendall(f"POST /api/uploads HTTP/1.1\r\nHost: 127.0.0.1:{display.port}\r\nTransfer-Encoding: chunked\r\n"
                     "Content-Type: multipart/form-data; boundary=b\r\n\r\n".encode())
        head = b'--b\r\nContent-Disposition: form-data; name="audio"; filename="a.wav"\r\n\r\nRIFF'
        sock.sendall(f"{len(head):x}\r\n".encode() + head + b"\r\n")
        with contextlib.suppress(OSError):  # the server answers and closes while the body still comes
            while sent < 200 * 2**20 and not select.select([sock], [], [], 0)[0]:
                sock.sendall(chunk)
                sent += len(chunk)
        answer = b""
        while b"limit" not in answer and (chunk := sock.recv(4096)):  # the answer's head, then its body
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 413") and b"larger than the 1 MB limit" in answer
    assert sent < 20 * 2**20, f"{sent / 2**20:.0f} MB were taken before the refusal"
    assert _peak_rss_mb(display.process.pid) - before < 20


def test_a_flood_of_anonymous_gallery_reads_takes_a_few_threads_and_queues_before_no_authorised_call(
        broker: Broker, display_factory) -> None:
    """Anonymous database reads run on a few threads of their own with a bounded queue: a flood of gallery pages
    (200 images each) is answered or refused with 503 and Retry-After, and authorised /api/rooms stays quick."""
    display = display_factory(VOXFRAME_DISPLAY_TOKEN=TOKEN)
    images = [make_image(backend="openai") for _ in range(GALLERY)]
    publish(broker, *images)
    wait_for(lambda: any(r["images"] >= GALLERY for r in requests.get(f"{display.url}/api/rooms", timeout=10).json()),
             timeout=60, message="the gallery to be stored")
    idle = [api_seconds(display) for _ in range(30)]

    def anonymous(until: float) -> list[requests.Response]:
        """Gallery pages one after another, as fast as they are answered, until `until`."""
        answers = []
        while time.monotonic() < until:
            answers.append(requests.get(f"{display.url}/api/rooms/living-room/images?limit=200", timeout=120))
        return answers

    with ThreadPoolExecutor(FLOOD_CLIENTS) as attackers:
        started = time.monotonic()
        flood = [attackers.submit(anonymous, started + FLOOD_SECONDS) for _ in range(FLOOD_CLIENTS)]
        during = api_seconds_while(display, flood)
        flood_seconds = time.monotonic() - started
    answers = [a for client in flood for a in client.result()]
    statuses = [a.status_code for a in answers]
    print(f"\n{len(answers)} anonymous gallery pages ({FLOOD_CLIENTS} clients) in {flood_seconds:.1f} s: "
          f"{statuses.count(200)} served, {statuses.count(503)} refused\n/api/rooms idle: {percentiles(idle)}\n"
          f"/api/rooms during the flood: {percentiles(during)}")
    assert set(statuses) <= {200, 503} and 200 in statuses
    assert all(a.headers["retry-after"] == "5" for a in answers if a.status_code == 503)
    # On the default pool: p50 0.6-1.2 s, p99 1.6-2.2 s. On their own thread: p50 0.3 s, p99 0.6-0.9 s (2 shared
    # cores, other tests running).
    assert statistics.median(during) < 0.6, "the authorised API waited behind anonymous reads"
    assert sorted(during)[int(0.99 * (len(during) - 1))] < 1.5, "the authorised API waited behind anonymous reads"
