"""`voxframe gpu-server` over real HTTP: the official openai client, raw Playground requests, the queue, readiness,
auth, and the generator's own HTTP backends talking to it."""

from __future__ import annotations

import base64
import io
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import openai
import pytest
import requests
from PIL import Image
from prometheus_client.parser import text_string_to_metric_families

from services.generator.engines import BackendError, ImageRequest, Picture
from services.generator.engines.dalle_playground import DallePlaygroundBackend
from services.generator.engines.openai_images import OpenAIImagesBackend
from services.generator.engines.poster import PosterBackend
from services.generator.gpu_server import MAX_BODY_BYTES, MAX_PROMPT_CHARS, GenerationQueue, create_app
from tests.generator.servers import serve_app
from tests.support import PROCESS_START_SECONDS, free_port, trickle_headers, wait_for

TOKEN = "s3cret-token"


def decoded(b64: str) -> Image.Image:
    image = Image.open(io.BytesIO(base64.b64decode(b64)))
    image.load()
    return image


@pytest.fixture
def poster_server() -> Iterator[str]:
    """A ready gpu-server serving the poster backend, with a bearer token."""
    queue = GenerationQueue(lambda: PosterBackend("PNG"))
    with serve_app(create_app(queue, token=TOKEN, model_name="poster")) as url:
        wait_for(lambda: requests.get(url + "/readyz", timeout=2).status_code == 200, message="ready")
        yield url


def test_official_openai_client_generates_images(poster_server: str) -> None:
    client = openai.OpenAI(base_url=poster_server + "/v1", api_key=TOKEN, max_retries=0)
    result = client.images.generate(model="poster", prompt="a lighthouse in a storm", n=2, size="320x180",
                                    response_format="b64_json")
    images = [decoded(item.b64_json) for item in result.data]
    assert [(image.format, image.size) for image in images] == [("PNG", (320, 180))] * 2
    assert [m.id for m in client.models.list().data] == ["poster"]


def test_openai_client_with_a_wrong_key_is_refused(poster_server: str) -> None:
    client = openai.OpenAI(base_url=poster_server + "/v1", api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        client.images.generate(model="poster", prompt="x", size="64x64")


def test_openai_client_gets_clear_errors_for_bad_requests(poster_server: str) -> None:
    client = openai.OpenAI(base_url=poster_server + "/v1", api_key=TOKEN, max_retries=0)
    with pytest.raises(openai.BadRequestError, match="response_format"):
        client.images.generate(model="poster", prompt="x", size="64x64", response_format="url")
    with pytest.raises(openai.BadRequestError, match="number of images"):
        client.images.generate(model="poster", prompt="x", n=9, size="64x64")
    with pytest.raises(openai.BadRequestError, match="size"):
        client.images.generate(model="poster", prompt="x", size="huge")  # type: ignore[arg-type]


@pytest.mark.parametrize("route", ["/generate", "/dalle"])
def test_playground_shaped_requests_get_playground_shaped_answers(poster_server: str, route: str) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    assert requests.get(poster_server + "/", timeout=5).json() == {"success": True}
    reply = requests.post(poster_server + route, json={"text": "a red kite over dunes", "num_images": 2},
                          headers=headers, timeout=30)
    assert reply.status_code == 200
    body = reply.json()
    assert body["generatedImgsFormat"] == "png"
    assert [decoded(b).size for b in body["generatedImgs"]] == [(512, 512)] * 2


def test_playground_requests_without_the_token_or_with_bad_json_are_refused(poster_server: str) -> None:
    unauthorised = requests.post(poster_server + "/generate", json={"text": "x", "num_images": 1}, timeout=5)
    assert unauthorised.status_code == 401 and unauthorised.headers["WWW-Authenticate"] == "Bearer"
    headers = {"Authorization": f"Bearer {TOKEN}"}
    for body in ({"num_images": 1}, {"text": "", "num_images": 1}, {"text": "x", "num_images": "two"},
                 {"text": "x", "width": 10}):
        reply = requests.post(poster_server + "/generate", json=body, headers=headers, timeout=5)
        assert reply.status_code == 400, body
        assert reply.json()["success"] is False
    garbled = requests.post(poster_server + "/generate", data=b"{not json", headers=headers, timeout=5)
    assert garbled.status_code == 400


def test_generator_backends_work_against_the_gpu_server(poster_server: str) -> None:
    request = ImageRequest("a cat on a windowsill", width=256, height=128, num_images=2, seed=4)
    playground = DallePlaygroundBackend(poster_server, api_key=TOKEN).generate(request)
    compatible = OpenAIImagesBackend(poster_server + "/v1", "poster", api_key=TOKEN).generate(request)
    assert [(p.width, p.height) for p in playground + compatible] == [(256, 128)] * 4
    again = DallePlaygroundBackend(poster_server, api_key=TOKEN).generate(request)
    assert [p.data for p in playground] == [p.data for p in again]  # the server honours the seed


class Gate:
    """A backend that paints only when the test lets it, to hold the one GPU slot busy."""

    def __init__(self) -> None:
        self.release = threading.Event()

    def generate(self, request: ImageRequest) -> list[Picture]:
        if request.text != "warm-up":
            self.release.wait(20)
        return PosterBackend("PNG").generate(request)


def test_a_full_queue_answers_503_with_retry_after() -> None:
    gate = Gate()
    queue = GenerationQueue(lambda: gate, max_waiting=1)
    with serve_app(create_app(queue)) as url:
        wait_for(lambda: queue.status == "ready", message="ready")
        results: list[int] = []
        workers = [threading.Thread(target=lambda: results.append(requests.post(
            url + "/generate", json={"text": "slow", "num_images": 1, "width": 64, "height": 64}, timeout=30
        ).status_code)) for _ in range(2)]
        for worker in workers:
            worker.start()
        wait_for(lambda: queue.in_flight == 2, message="one running and one waiting")
        full = requests.post(url + "/generate", json={"text": "one too many", "num_images": 1}, timeout=5)
        client = openai.OpenAI(base_url=url + "/v1", api_key="unused", max_retries=0)
        with pytest.raises(openai.InternalServerError) as caught:
            client.images.generate(model="m", prompt="also too many", size="64x64")
        gate.release.set()
        for worker in workers:
            worker.join(30)
    assert full.status_code == 503 and int(full.headers["Retry-After"]) >= 1
    assert "queue" in full.json()["error"]
    assert caught.value.status_code == 503
    assert results == [200, 200]


def test_readiness_says_loading_until_the_model_is_warm() -> None:
    loaded = threading.Event()

    def load() -> PosterBackend:
        loaded.wait(20)
        return PosterBackend("PNG")

    queue = GenerationQueue(load)
    with serve_app(create_app(queue)) as url:
        try:
            assert requests.get(url + "/", timeout=5).json() == {"success": True}
            loading = requests.get(url + "/readyz", timeout=5)
            assert (loading.status_code, loading.json()["status"]) == (503, "loading")
            early = requests.post(url + "/generate", json={"text": "too soon", "num_images": 1}, timeout=5)
            assert early.status_code == 503 and early.headers["Retry-After"] == "10"
        finally:
            loaded.set()
        wait_for(lambda: requests.get(url + "/readyz", timeout=5).json()["status"] == "ready", message="warm")
        assert requests.post(url + "/generate", json={"text": "now", "num_images": 1}, timeout=30).status_code == 200


def test_a_model_that_fails_to_load_is_reported_not_hidden() -> None:
    def load() -> PosterBackend:
        raise RuntimeError("model directory /models/missing not found")

    queue = GenerationQueue(load)
    with serve_app(create_app(queue)) as url:
        wait_for(lambda: queue.status == "failed", message="load failure")
        ready = requests.get(url + "/readyz", timeout=5)
        generate = requests.post(url + "/generate", json={"text": "x", "num_images": 1}, timeout=5)
    assert ready.status_code == 503 and "missing" in ready.json()["error"]
    assert generate.status_code == 503 and "Retry-After" not in generate.headers


def test_backend_errors_are_500_and_counted_in_metrics() -> None:
    class Broken:
        def generate(self, request: ImageRequest) -> list[Picture]:
            if request.text == "warm-up":
                return PosterBackend().generate(request)
            raise BackendError("out of GPU memory", reason="out_of_memory")

    queue = GenerationQueue(Broken)
    with serve_app(create_app(queue)) as url:
        wait_for(lambda: queue.status == "ready", message="ready")
        reply = requests.post(url + "/v1/images/generations", json={"model": "m", "prompt": "x", "size": "64x64"},
                              timeout=5)
        metrics = requests.get(url + "/metrics", timeout=5).text
    assert reply.status_code == 500
    assert reply.json()["error"]["code"] == "out_of_memory"
    assert 'voxframe_gpu_server_requests_total{api="openai",status="500"}' in metrics


def test_a_failure_the_backend_does_not_wrap_is_a_500_in_the_apis_shape_and_counted_as_one() -> None:
    """A backend's bug (or an exception it does not turn into a BackendError) was Starlette's plain-text 500, and the
    metric counted it as a 200: a GPU failing every request looked healthy on its dashboard."""
    class Buggy:
        def generate(self, request: ImageRequest) -> list[Picture]:
            if request.text == "warm-up":
                return PosterBackend().generate(request)
            raise KeyError("scheduler")

    queue = GenerationQueue(Buggy)
    with serve_app(create_app(queue)) as url:
        wait_for(lambda: queue.status == "ready", message="ready")
        before = _answered(url)
        playground = requests.post(url + "/generate", json={"text": "x", "width": 64, "height": 64}, timeout=5)
        client = openai.OpenAI(base_url=url + "/v1", api_key="unused", max_retries=0)
        with pytest.raises(openai.InternalServerError) as caught:
            client.images.generate(model="m", prompt="x", size="64x64")
        after = _answered(url)
    assert (playground.status_code, playground.json()) == (500, {"success": False,
                                                                 "error": "generation failed: KeyError"})
    assert caught.value.status_code == 500 and caught.value.code == "internal_error"
    assert {key: after[key] - before.get(key, 0) for key in after if after[key] != before.get(key, 0)} == {
        ("playground", "500"): 1, ("openai", "500"): 1}


def _answered(url: str) -> dict[tuple[str, str], float]:
    """`voxframe_gpu_server_requests_total` by (api, status): the registry is the test process's, shared by tests."""
    family = next(f for f in text_string_to_metric_families(requests.get(url + "/metrics", timeout=5).text)
                  if f.name == "voxframe_gpu_server_requests")
    return {(s.labels["api"], s.labels["status"]): s.value for s in family.samples if s.name.endswith("_total")}


@pytest.mark.parametrize("route", ["/generate", "/v1/images/generations"])
def test_a_prompt_that_is_not_unicode_is_a_400_not_a_crash(poster_server: str, route: str) -> None:
    """JSON may spell a lone surrogate (\\ud800), which Python's json takes and no encoder does: the poster's hash
    raised, a 500 with a traceback."""
    field = "text" if route == "/generate" else "prompt"
    reply = requests.post(poster_server + route, data=f'{{"{field}": "a kite \\ud800", "size": "64x64"}}',
                          headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
                          timeout=10)
    assert reply.status_code == 400, reply.text
    assert "not valid Unicode: a lone surrogate at character 7" in reply.text


def test_cli_gpu_server_serves_until_sigterm() -> None:
    process, url = gpu_server_process("127.0.0.1", {"VOXFRAME_GPU_SERVER_TOKEN": TOKEN})
    try:
        wait_for(lambda: _ready(url), timeout=PROCESS_START_SECONDS, message="the gpu-server process to get ready")
        reply = requests.post(url + "/generate", json={"text": "a kite", "num_images": 1, "width": 64, "height": 64},
                              headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)
        refused = requests.post(url + "/generate", json={"text": "a kite", "num_images": 1}, timeout=30)
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=20)
    assert reply.status_code == 200 and len(reply.json()["generatedImgs"]) == 1
    assert refused.status_code == 401
    # uvicorn shuts down gracefully, then re-raises the signal so the exit status tells how it ended
    assert process.returncode in (0, -signal.SIGTERM), output
    assert "Finished server process" in output


def gpu_server_process(host: str, env: dict[str, str], *flags: str) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "shared.cli", "gpu-server", "--backend", "poster",
                                "--host", host, "--port", str(port), *flags], env={**os.environ, **env},
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return process, f"http://127.0.0.1:{port}"


@pytest.mark.parametrize("token", ["", "  "])
def test_an_empty_token_is_no_token_and_is_refused_beyond_loopback(token: str) -> None:
    process, _ = gpu_server_process("0.0.0.0", {"VOXFRAME_GPU_SERVER_TOKEN": token})
    try:
        output, _ = process.communicate(timeout=30)  # today: it serves everyone, unauthenticated, until killed
    finally:
        process.kill()
    lines = output.strip().splitlines()
    assert process.returncode == 2, output
    assert lines == [("voxframe gpu-server: error: refusing to listen on 0.0.0.0 without a token: set "
                      "VOXFRAME_GPU_SERVER_TOKEN, listen on 127.0.0.1 (--host), or pass --insecure")]


def test_insecure_serves_without_a_token_beyond_loopback_and_says_so() -> None:
    process, url = gpu_server_process("0.0.0.0", {"VOXFRAME_GPU_SERVER_TOKEN": ""}, "--insecure")
    try:
        wait_for(lambda: _ready(url), timeout=PROCESS_START_SECONDS, message="the insecure gpu-server to get ready")
        reply = requests.post(url + "/generate", json={"text": "a kite", "num_images": 1, "width": 64, "height": 64},
                              timeout=30)
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=20)
    assert reply.status_code == 200
    assert "without a token (--insecure)" in output


def test_request_headers_sent_a_byte_a_second_are_cut_off_at_the_deadline() -> None:
    """uvicorn gave a request's headers no deadline: a client trickling a header byte a second held its connection
    (and its memory and file descriptor) for as long as it liked. The process answers 408 at the deadline, closes."""
    process, url = gpu_server_process("127.0.0.1", {"VOXFRAME_HTTP_HEADER_SECONDS": "2"})
    try:
        wait_for(lambda: _ready(url), timeout=PROCESS_START_SECONDS, message="the gpu-server process to get ready")
        held, answer, closed = trickle_headers(int(url.rsplit(":", 1)[1]), give_up_seconds=6)
        assert closed and 2 <= held < 4.5, (held, answer)  # the deadline, and a margin for a loaded machine
        assert answer.startswith(b"HTTP/1.1 408 "), answer
        assert requests.get(url + "/readyz", timeout=5).status_code == 200  # a prompt client is served as before
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=20)


def _ready(url: str) -> bool:
    try:
        return requests.get(url + "/readyz", timeout=1).status_code == 200
    except requests.ConnectionError:
        return False


def raw_post(url: str, head: str, body: bytes) -> bytes:
    """Send a request by hand (the body may be a fraction of what the headers promise); the status line back."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as conn:
        conn.sendall(head.encode() + b"\r\n" + body)
        return conn.makefile("rb").readline()  # a socket timeout here means the server waits for the rest


@pytest.mark.parametrize("route", ["/generate", "/v1/images/generations"])
def test_a_large_body_is_refused_with_413_before_it_is_read(poster_server: str, route: str) -> None:
    promised = (f"POST {route} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n"
                "Content-Type: application/json\r\nContent-Length: 200000000\r\n")
    assert raw_post(poster_server, promised, b'{"text": "' + b"a" * 1000).startswith(b"HTTP/1.1 413")
    chunk = b'{"text": "' + b"a" * (MAX_BODY_BYTES + 10)
    chunked = (f"POST {route} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n"
               "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n")
    assert raw_post(poster_server, chunked, b"%x\r\n%s\r\n" % (len(chunk), chunk)).startswith(b"HTTP/1.1 413")
    headers = {"Authorization": f"Bearer {TOKEN}"}
    deep = requests.post(poster_server + route, data=b"[" * (MAX_BODY_BYTES - 1), headers=headers, timeout=10)
    assert deep.status_code == 400


@pytest.mark.parametrize(("seed", "status"), [(2**64, 400), (10**30, 400), (-1, 400), (2**64 - 1, 200)])
def test_seeds_outside_64_bits_are_a_400_with_the_range(poster_server: str, seed: int, status: int) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    body = {"text": "a kite", "num_images": 1, "width": 64, "height": 64, "seed": seed}
    playground = requests.post(poster_server + "/generate", json=body, headers=headers, timeout=30)
    client = openai.OpenAI(base_url=poster_server + "/v1", api_key=TOKEN, max_retries=0)
    assert playground.status_code == status, playground.text
    if status == 400:
        assert "'seed'" in playground.json()["error"]
        with pytest.raises(openai.BadRequestError, match="seed"):
            client.images.generate(model="poster", prompt="x", size="64x64", extra_body={"seed": seed})


@pytest.mark.parametrize(("length", "status"), [(MAX_PROMPT_CHARS + 1, 400), (MAX_BODY_BYTES - 100, 400),
                                                (MAX_PROMPT_CHARS, 200)])
def test_a_prompt_over_the_limit_is_a_400_before_it_reaches_the_gpu(poster_server: str, length: int,
                                                                    status: int) -> None:
    """A 65,000-character word fits the body limit; painted, it held the one generation thread for minutes."""
    headers = {"Authorization": f"Bearer {TOKEN}"}
    body = {"text": "x" * length, "num_images": 1, "width": 64, "height": 64}
    playground = requests.post(poster_server + "/generate", json=body, headers=headers, timeout=30)
    assert playground.status_code == status, playground.text[:200]
    if status == 400:
        assert f"at most {MAX_PROMPT_CHARS}" in playground.json()["error"]
        client = openai.OpenAI(base_url=poster_server + "/v1", api_key=TOKEN, max_retries=0)
        with pytest.raises(openai.BadRequestError, match="characters"):
            client.images.generate(model="poster", prompt="x" * length, size="64x64")


def test_a_client_that_hung_up_is_taken_out_of_the_queue_not_painted() -> None:
    """A generator that timed out retries: each try it gave up on stayed queued and was painted for nobody, so five
    of them filled the queue (a live client got 503) and cost five generations."""
    painted: list[str] = []
    gate = Gate()
    queue = GenerationQueue(lambda: gate, max_waiting=4)

    def paint(request: ImageRequest) -> list[Picture]:
        pictures = Gate.generate(gate, request)
        if request.text != "warm-up":
            painted.append(request.text)
        return pictures

    gate.generate = paint  # type: ignore[method-assign]
    with serve_app(create_app(queue)) as url:
        wait_for(lambda: queue.status == "ready", message="ready")

        def give_up(text: str) -> None:
            with pytest.raises(requests.Timeout):
                requests.post(url + "/generate", json={"text": text, "num_images": 1, "width": 64, "height": 64},
                              timeout=1)

        leavers = [threading.Thread(target=give_up, args=(f"gone {i}",)) for i in range(5)]
        for leaver in leavers:
            leaver.start()
        for leaver in leavers:
            leaver.join(10)
        wait_for(lambda: queue.in_flight == 1, 10, message="the four waiting requests taken out; one painting")
        answers: list[requests.Response] = []
        live = threading.Thread(target=lambda: answers.append(requests.post(
            url + "/generate", json={"text": "live", "num_images": 1, "width": 64, "height": 64}, timeout=30)))
        live.start()
        wait_for(lambda: queue.in_flight == 2, 10, message="the live request waiting")
        gate.release.set()
        live.join(30)
        wait_for(lambda: queue.in_flight == 0, 10, message="the queue drained")
    assert [a.status_code for a in answers] == [200]
    assert len(painted) == 2 and painted[-1] == "live", painted  # the one already painting, then the live one


def test_a_body_that_stops_arriving_is_answered_408_and_let_go() -> None:
    """A client that promised 100 bytes and sent 10 held its connection (and the coroutine reading it) for good."""
    queue = GenerationQueue(lambda: PosterBackend("PNG"))
    with serve_app(create_app(queue, body_seconds=1)) as url:
        wait_for(lambda: queue.status == "ready", message="ready")
        started = time.monotonic()
        head = "POST /generate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n"
        assert raw_post(url, head, b'{"text": "').startswith(b"HTTP/1.1 408")
        assert time.monotonic() - started < 4
