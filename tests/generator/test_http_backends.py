"""The dalle-playground and openai backends against local servers speaking the documented wire shapes."""

from __future__ import annotations

import base64
import dataclasses

import pytest

from services.generator.engines import BackendError, ImageRequest, StartImage
from services.generator.engines.dalle_playground import DallePlaygroundBackend
from services.generator.engines.openai_images import OpenAIImagesBackend
from tests.generator.servers import StandIn, closed_port_url, image_b64

REQUEST = ImageRequest("a red kite over the dunes", ("kite", "dunes"), "watercolor", width=96, height=64,
                       num_images=2, seed=5)


def playground_2022_11(body: dict) -> tuple[int, object]:
    """From 2022-11-27: POST /generate → {"generatedImgs": [...], "generatedImgsFormat": "png"}."""
    return 200, {"generatedImgs": [image_b64("PNG") for _ in range(body["num_images"])],
                 "generatedImgsFormat": "png"}


def test_dalle_playground_generate_route_with_the_dict_shape() -> None:
    with StandIn({"/generate": playground_2022_11}) as server:
        pictures = DallePlaygroundBackend(server.url).generate(REQUEST)
    assert [(p.mime_type, p.width, p.height, p.backend) for p in pictures] == [("image/png", 96, 64,
                                                                              "dalle-playground")] * 2
    path, body, _ = server.requests[0]
    assert path == "/generate"
    assert body["text"] == REQUEST.text and body["num_images"] == 2


def test_dalle_playground_legacy_dalle_route_with_a_bare_list_of_jpegs() -> None:
    """Until 2022-06-19 the server had only POST /dalle and answered a bare JSON list of base64 JPEGs."""
    with StandIn({"/dalle": lambda body: (200, [image_b64("JPEG") for _ in range(body["num_images"])])}) as server:
        backend = DallePlaygroundBackend(server.url)
        first = backend.generate(REQUEST)
        second = backend.generate(REQUEST)
    assert [p.mime_type for p in first + second] == ["image/jpeg"] * 4
    assert [path for path, _, _ in server.requests] == ["/generate", "/dalle", "/dalle"]  # learned once


def test_dalle_playground_legacy_dalle_route_with_the_dict_shape() -> None:
    reply = {"generatedImgs": [image_b64("JPEG")] * 2, "generatedImgsFormat": "jpeg"}
    with StandIn({"/dalle": lambda body: (200, reply)}) as server:
        assert len(DallePlaygroundBackend(server.url).generate(REQUEST)) == 2


@pytest.mark.parametrize(("reply", "reason"), [
    ((200, {"generatedImgs": ["not base64!!"], "generatedImgsFormat": "png"}), "invalid_image"),
    ((200, {"generatedImgs": ["aGVsbG8gd29ybGQ="], "generatedImgsFormat": "png"}), "invalid_image"),
    ((200, {"images": []}), "bad_response"),
    ((200, b"<html>oops</html>"), "bad_response"),
    ((500, {"error": "CUDA error"}), "http_5xx"),
    ((503, {"error": "loading"}), "busy"),
    ((401, {"error": "token"}), "auth"),
    ((400, {"error": "bad"}), "http_4xx"),
])
def test_dalle_playground_garbage_and_errors_are_backend_errors(reply: tuple[int, object], reason: str) -> None:
    with StandIn({"/generate": lambda body: reply}) as server, pytest.raises(BackendError) as caught:
        DallePlaygroundBackend(server.url).generate(REQUEST)
    assert caught.value.reason == reason
    assert caught.value.retryable == (reason in ("http_5xx", "busy"))


def test_unreachable_server_is_a_retryable_unavailable_error() -> None:
    with pytest.raises(BackendError) as caught:
        DallePlaygroundBackend(closed_port_url(), connect_timeout_seconds=1).generate(REQUEST)
    assert (caught.value.reason, caught.value.retryable) == ("unavailable", True)


def test_slow_server_is_a_retryable_timeout() -> None:
    import threading

    release = threading.Event()

    def slow(body: dict) -> tuple[int, object]:
        release.wait(5)
        return playground_2022_11(body)

    with StandIn({"/generate": slow}) as server:
        try:
            with pytest.raises(BackendError) as caught:
                DallePlaygroundBackend(server.url, timeout_seconds=0.3).generate(REQUEST)
        finally:
            release.set()
    assert (caught.value.reason, caught.value.retryable) == ("timeout", True)


def openai_images(body: dict) -> tuple[int, object]:
    if not body.get("model"):
        return 400, {"error": {"message": "model is required", "type": "invalid_request_error"}}
    return 200, {"created": 1700000000, "data": [{"b64_json": image_b64("PNG")} for _ in range(body["n"])]}


def test_openai_backend_sends_the_documented_request_and_reads_b64_json() -> None:
    with StandIn({"/v1/images/generations": openai_images}) as server:
        pictures = OpenAIImagesBackend(server.url + "/v1", "sd-turbo", api_key="sk-test").generate(REQUEST)
    assert [(p.mime_type, p.backend) for p in pictures] == [("image/png", "openai")] * 2
    _, body, headers = server.requests[0]
    assert body == {"model": "sd-turbo", "prompt": REQUEST.text, "n": 2, "size": "96x64",
                    "response_format": "b64_json"}
    assert headers["Authorization"] == "Bearer sk-test"


def test_openai_backend_can_ask_for_a_fixed_size_and_omit_response_format() -> None:
    with StandIn({"/v1/images/generations": openai_images}) as server:
        OpenAIImagesBackend(server.url + "/v1", "gpt-image-1", size="1536x1024", response_format="").generate(REQUEST)
    body = server.requests[0][1]
    assert body["size"] == "1536x1024" and "response_format" not in body


@pytest.mark.parametrize(("reply", "reason"), [
    ((200, {"created": 1, "data": []}), "bad_response"),
    ((200, {"created": 1, "data": [{"revised_prompt": "x"}]}), "bad_response"),
    ((200, {"created": 1, "data": [{"b64_json": image_b64("GIF")}]}), "invalid_image"),
    ((429, {"error": {"message": "rate limited"}}), "busy"),
])
def test_openai_backend_rejects_garbage(reply: tuple[int, object], reason: str) -> None:
    with StandIn({"/v1/images/generations": lambda body: reply}) as server, pytest.raises(BackendError) as caught:
        OpenAIImagesBackend(server.url + "/v1", "m").generate(REQUEST)
    assert caught.value.reason == reason


def test_openai_backend_with_a_wrong_base_url_says_so() -> None:
    with StandIn({}) as server, pytest.raises(BackendError, match="base URL"):
        OpenAIImagesBackend(server.url, "m").generate(REQUEST)


@pytest.mark.parametrize(("answer", "reason", "match"), [
    (b'{"created": 1, "data": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "bad_response", "nested deeper"),
    (b'{"created": 1, "data": [{"b64_json": "' + b"A" * (40 * 1024 * 1024) + b'"}]}', "bad_response", "limit"),
])
def test_openai_answers_are_bounded_in_size_and_depth(answer: bytes, reason: str, match: str) -> None:
    """A broken or hostile image API costs a BackendError: an answer nested 100 000 deep (Python's parser raises
    RecursionError on it), or one larger than two images' worth (40 MiB; the cap is about 29 MiB for n=2)."""
    with StandIn({"/v1/images/generations": lambda body: (200, answer)}) as server, \
            pytest.raises(BackendError, match=match) as caught:
        OpenAIImagesBackend(server.url + "/v1", "m").generate(REQUEST)
    assert caught.value.reason == reason


def openai_edit(body: dict) -> tuple[int, object]:
    """POST /v1/images/edits, multipart: `image` a file, `prompt`, `model`, `n`, `size`; answers as generations."""
    if not isinstance(body.get("image"), tuple) or not body.get("prompt"):
        return 400, {"error": {"message": "image and prompt are required", "type": "invalid_request_error"}}
    return 200, {"created": 1700000000, "data": [{"b64_json": image_b64("PNG")} for _ in range(int(body["n"]))]}


def test_openai_backend_paints_over_a_start_picture_with_the_edits_endpoint() -> None:
    start = base64.b64decode(image_b64("PNG", (96, 64), "navy"))
    request = dataclasses.replace(REQUEST, start=StartImage(start, "image/png", 0.4))
    with StandIn({"/v1/images/edits": openai_edit}) as server:
        pictures = OpenAIImagesBackend(server.url + "/v1", "gpt-image-1", api_key="sk-test").generate(request)
    assert [(p.mime_type, p.backend) for p in pictures] == [("image/png", "openai")] * 2
    path, form, headers = server.requests[0]
    assert path == "/v1/images/edits" and headers["Content-Type"].startswith("multipart/form-data; boundary=")
    assert form["image"] == ("previous.png", "image/png", start)
    assert {k: v for k, v in form.items() if k != "image"} == {
        "model": "gpt-image-1", "prompt": REQUEST.text, "n": "2", "size": "96x64", "response_format": "b64_json"}
    assert headers["Authorization"] == "Bearer sk-test"


def test_a_server_without_image_edits_paints_afresh_and_is_not_asked_again() -> None:
    """gpu-server and some local servers speak generations only: a 404 from edits is not a failed picture."""
    start = StartImage(base64.b64decode(image_b64("PNG")), "image/png", 0.4)
    with StandIn({"/v1/images/generations": openai_images}) as server:
        backend = OpenAIImagesBackend(server.url + "/v1", "sd-turbo")
        for _ in range(2):
            assert len(backend.generate(dataclasses.replace(REQUEST, start=start))) == 2
    assert [path for path, _, _ in server.requests] == ["/v1/images/edits", "/v1/images/generations",
                                                        "/v1/images/generations"]
