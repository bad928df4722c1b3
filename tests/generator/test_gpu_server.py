"""`voxframe gpu-server` over real HTTP: the official openai client, raw Playground requests, the queue, readiness,
auth, and the generator's own HTTP backends talking to it."""

from __future__ import annotations

import base64
import io
import threading
from collections.abc import Iterator

import openai
import pytest
import requests
from PIL import Image

from services.generator.engines import BackendError, ImageRequest, Picture
from services.generator.engines.dalle_playground import DallePlaygroundBackend
from services.generator.engines.openai_images import OpenAIImagesBackend
from services.generator.engines.poster import PosterBackend
from services.generator.gpu_server import GenerationQueue, create_app
from tests.generator.servers import serve_app
from tests.support import wait_for

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


def test_cli_gpu_server_serves_until_sigterm() -> None:
    import os
    import signal
    import socket
    import subprocess
    import sys

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "VOXFRAME_GPU_SERVER_TOKEN": TOKEN}
    process = subprocess.Popen([sys.executable, "-m", "shared.cli", "gpu-server", "--backend", "poster",
                                "--host", "127.0.0.1", "--port", str(port)], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        def ready() -> bool:
            try:
                return requests.get(url + "/readyz", timeout=1).status_code == 200
            except requests.ConnectionError:
                return False

        wait_for(ready, timeout=30, message="the gpu-server process to get ready")
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
