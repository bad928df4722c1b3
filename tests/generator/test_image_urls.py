"""Image URLs in an OpenAI Images answer (`data[].url`) are the remote server's choice: fetched without the API
key, https only, with redirects checked and limited, a byte cap and a deadline. Real local HTTP servers play
the API (its documented JSON) and the image host."""

from __future__ import annotations

import base64
import threading
import time
from http.server import BaseHTTPRequestHandler

import pytest

from services.generator.engines import BackendError, ImageRequest
from services.generator.engines._download import MAX_REDIRECTS, ImageDownloader
from services.generator.engines.openai_images import OpenAIImagesBackend
from shared.messages.image import MAX_IMAGE_BYTES
from tests.generator.servers import Download, StandIn, image_b64
from tests.support import wait_for

REQUEST = ImageRequest("a lighthouse at dusk", width=96, height=64, num_images=1)
PNG = base64.b64decode(image_b64("PNG"))
UNROUTABLE = "http://192.0.2.1/image.png"  # TEST-NET-1: plain http to a host that is not loopback


def api_answering(*urls: str) -> StandIn:
    """The OpenAI Images API answering with URLs instead of base64, as DALL·E 2/3 do by default."""
    return StandIn({"/v1/images/generations": lambda body: (200, {"created": 1700000000,
                                                                   "data": [{"url": url} for url in urls]})})


def send(body: bytes, content_type: str = "image/png") -> Download:
    def serve(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)
    return serve


def redirect(location: str) -> Download:
    def serve(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(302)
        handler.send_header("Location", location)
        handler.send_header("Content-Length", "0")
        handler.end_headers()
    return serve


def openai(api: StandIn, **kwargs: object) -> OpenAIImagesBackend:
    return OpenAIImagesBackend(api.url + "/v1", "dall-e-3", api_key="sk-secret", connect_timeout_seconds=1,
                               **kwargs)  # type: ignore[arg-type]


def test_image_url_is_fetched_without_the_api_key() -> None:
    with StandIn({}, {"/img.png": send(PNG)}) as host, api_answering(host.url + "/img.png") as api:
        [picture] = openai(api).generate(REQUEST)
    assert (picture.mime_type, picture.width, picture.height) == ("image/png", 96, 64)
    assert api.requests[0][2]["Authorization"] == "Bearer sk-secret"
    [(path, headers)] = host.downloads
    assert path == "/img.png"
    assert "Authorization" not in headers and "Cookie" not in headers


@pytest.mark.parametrize("url", [UNROUTABLE, "file:///etc/passwd", "ftp://127.0.0.1/image.png", "//no-scheme/x"])
def test_only_https_or_loopback_http_urls_are_fetched(url: str) -> None:
    with api_answering(url) as api, pytest.raises(BackendError, match="only https") as caught:
        openai(api).generate(REQUEST)
    assert (caught.value.reason, caught.value.retryable) == ("bad_response", False)


def test_a_remote_api_may_not_send_us_to_plain_http_even_on_loopback() -> None:
    with StandIn({}, {"/img.png": send(PNG)}) as host:
        downloader = ImageDownloader("openai", "https://api.openai.com/v1", timeout_seconds=5)
        with pytest.raises(BackendError, match="only https"):
            downloader.get(host.url + "/img.png")
    assert host.downloads == []  # refused before connecting


def test_redirects_are_followed_a_few_times_without_the_key() -> None:
    with StandIn({}, {"/img.png": send(PNG)}) as host:
        host.gets["/moved"] = redirect(host.url + "/img.png")
        with api_answering(host.url + "/moved") as api:
            [picture] = openai(api).generate(REQUEST)
    assert picture.width == 96
    assert [path for path, _ in host.downloads] == ["/moved", "/img.png"]
    assert not any("Authorization" in headers for _, headers in host.downloads)


def test_a_redirect_loop_stops_after_the_limit() -> None:
    with StandIn({}) as host:
        host.gets["/loop"] = redirect("/loop")
        with api_answering(host.url + "/loop") as api, pytest.raises(BackendError, match="redirected") as caught:
            openai(api).generate(REQUEST)
    assert caught.value.reason == "bad_response"
    assert len(host.downloads) == MAX_REDIRECTS + 1


def test_a_redirect_to_plain_http_elsewhere_is_refused() -> None:
    with (StandIn({}, {"/hop": redirect(UNROUTABLE)}) as host, api_answering(host.url + "/hop") as api,
          pytest.raises(BackendError, match="only https") as caught):
        openai(api).generate(REQUEST)
    assert caught.value.reason == "bad_response"


class Endless:
    """An image host that streams zeros until `total` bytes or until the client hangs up; counts what it wrote."""

    def __init__(self, total: int, declare_length: bool) -> None:
        self.total, self.declare_length = total, declare_length
        self.written = 0
        self.done = threading.Event()

    def __call__(self, handler: BaseHTTPRequestHandler) -> None:
        try:
            handler.send_response(200)
            handler.send_header("Content-Type", "image/png")
            if self.declare_length:
                handler.send_header("Content-Length", str(self.total))
            handler.end_headers()
            block = bytes(256 * 1024)
            while self.written < self.total:
                handler.wfile.write(block)
                self.written += len(block)
        except OSError:
            pass  # the client hung up: what we want
        finally:
            self.done.set()


@pytest.mark.parametrize("declare_length", [False, True])
def test_a_huge_image_body_is_not_read_past_the_cap(declare_length: bool) -> None:
    body = Endless(6 * MAX_IMAGE_BYTES, declare_length)
    with StandIn({}, {"/huge.png": body}) as host, api_answering(host.url + "/huge.png") as api:
        with pytest.raises(BackendError, match="limit") as caught:
            openai(api).generate(REQUEST)
        wait_for(body.done.is_set, timeout=20, message="the image host to finish")
    assert caught.value.reason == "invalid_image"
    # what the client read (≤ the cap) plus what the two loopback socket buffers hold, far from the whole body
    assert body.written < 3 * MAX_IMAGE_BYTES


def test_a_trickling_image_body_hits_the_deadline() -> None:
    stop = threading.Event()

    def trickle(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "image/png")
        handler.end_headers()
        give_up = time.monotonic() + 5  # today's client would read until the body ends
        try:
            while not stop.wait(0.02) and time.monotonic() < give_up:
                handler.wfile.write(b"\0")  # every read succeeds in time: only a whole-download deadline helps
        except OSError:
            pass

    with StandIn({}, {"/slow.png": trickle}) as host, api_answering(host.url + "/slow.png") as api:
        backend = openai(api, timeout_seconds=1.0)
        started = time.monotonic()
        try:
            with pytest.raises(BackendError, match="within") as caught:
                backend.generate(REQUEST)
        finally:
            stop.set()
        elapsed = time.monotonic() - started
    assert (caught.value.reason, caught.value.retryable) == ("timeout", True)
    assert elapsed < 4  # the 1 s deadline, not the 5 s the host would trickle for
