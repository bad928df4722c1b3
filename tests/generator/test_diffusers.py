"""The diffusers backend end to end on a tiny randomly initialised pipeline saved to a temp dir and loaded
through the same code as a real model; also served by gpu-server to the official openai client."""

from __future__ import annotations

import base64
import dataclasses
import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import requests
from PIL import Image

from services.generator.engines import ImageRequest, StartImage, checked_picture

pytest.importorskip("torch", reason="the diffusers backend needs torch: pip install -e '.[diffusers]'")
pytest.importorskip("diffusers", reason="the diffusers backend needs diffusers: pip install -e '.[diffusers]'")

from services.generator.engines.diffusion import DiffusersBackend, ModelNotFound
from tests.generator.tiny_diffusion import save_tiny_pipeline

pytestmark = [pytest.mark.diffusers, pytest.mark.slow]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_pipeline(tmp_path_factory.mktemp("tiny-sd"))


@pytest.fixture(scope="module")
def backend(tiny_model: Path) -> DiffusersBackend:
    return DiffusersBackend(str(tiny_model), device="cpu", steps=2)


def test_tiny_pipeline_paints_valid_images_of_the_requested_size(backend: DiffusersBackend) -> None:
    pictures = backend.generate(ImageRequest("a lighthouse in a storm", width=64, height=48, num_images=2, seed=1))
    assert [(p.mime_type, p.width, p.height, p.backend) for p in pictures] == [("image/png", 64, 48, "diffusers")] * 2
    for picture in pictures:
        pixels = np.asarray(Image.open(io.BytesIO(checked_picture(picture.data, "diffusers").data)))
        assert pixels.shape == (48, 64, 3) and np.isfinite(pixels).all()


def test_same_seed_same_image_after_reloading(backend: DiffusersBackend, tiny_model: Path) -> None:
    request = ImageRequest("a red kite", width=64, height=64, seed=42)
    first = backend.generate(request)[0].data
    reloaded = DiffusersBackend(str(tiny_model), device="cpu", steps=2).generate(request)[0].data
    other_prompt = backend.generate(ImageRequest("a blue whale", width=64, height=64, seed=42))[0].data
    assert first == reloaded
    assert first != other_prompt


def test_sizes_are_rounded_down_to_the_vae_cell(backend: DiffusersBackend) -> None:
    [picture] = backend.generate(ImageRequest("x", width=70, height=61))
    assert (picture.width, picture.height) == (64, 56)


def test_missing_model_is_a_clear_error_and_nothing_is_downloaded(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFound, match="never downloads"):
        DiffusersBackend(str(tmp_path / "no-such-model"), device="cpu")
    with pytest.raises(ModelNotFound, match="hf download"):
        DiffusersBackend("voxframe-tests/definitely-not-cached", device="cpu")


@pytest.fixture
def gpu_server(tiny_model: Path) -> Iterator[str]:
    from services.generator.gpu_server import GenerationQueue, create_app
    from tests.generator.servers import serve_app
    from tests.support import wait_for

    queue = GenerationQueue(lambda: DiffusersBackend(str(tiny_model), device="cpu", steps=2))
    with serve_app(create_app(queue, model_name="tiny-sd")) as url:
        wait_for(lambda: requests.get(url + "/readyz", timeout=5).status_code == 200, timeout=60, message="warm")
        yield url


def test_gpu_server_serves_the_tiny_pipeline_to_the_openai_client_and_playground(gpu_server: str) -> None:
    import openai

    client = openai.OpenAI(base_url=gpu_server + "/v1", api_key="unused", max_retries=0)
    result = client.images.generate(model="tiny-sd", prompt="a harbour at night", n=2, size="64x64")
    assert [Image.open(io.BytesIO(base64.b64decode(d.b64_json))).size for d in result.data] == [(64, 64)] * 2
    reply = requests.post(gpu_server + "/generate", json={"text": "a harbour", "num_images": 1, "width": 64,
                                                           "height": 64}, timeout=60).json()
    assert reply["generatedImgsFormat"] == "png" and len(reply["generatedImgs"]) == 1


def test_an_unexpected_backend_error_is_painted_over_by_the_poster(backend: DiffusersBackend) -> None:
    """torch refuses a seed past 64 bits with a RuntimeError, not a BackendError: still the poster's turn, not
    an exception for the bus to retry (which would call the backend again on each try)."""
    from services.generator.engines.fallback import ResilientBackend
    from services.generator.engines.poster import PosterBackend

    resilient = ResilientBackend(backend, "diffusers", PosterBackend("PNG"), attempts=3, backoff_seconds=0)
    [picture] = resilient.generate(ImageRequest("a red kite", width=64, height=64, seed=2**64))
    assert (picture.backend, picture.fallback) == ("poster", True)


def test_gpu_server_answers_a_seed_past_64_bits_with_400_not_500(gpu_server: str) -> None:
    reply = requests.post(gpu_server + "/generate", json={"text": "a harbour", "num_images": 1, "width": 64,
                                                           "height": 64, "seed": 2**64}, timeout=60)
    assert reply.status_code == 400 and "'seed'" in reply.json()["error"]


def _png(color: str, size: tuple[int, int] = (64, 48)) -> StartImage:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "PNG")
    return StartImage(buffer.getvalue(), "image/png", 0.3)


def test_a_start_picture_is_painted_over_at_the_requests_strength(backend: DiffusersBackend) -> None:
    """img2img on the model loaded once: a random tiny model paints nothing recognisable, so its properties are
    what is asserted: the start picture and the strength both change the result, the same inputs repeat it, and
    a start picture of another size still gives the size asked for."""
    def paint(start: StartImage | None) -> bytes:
        return backend.generate(ImageRequest("a red kite", width=64, height=48, seed=3, start=start))[0].data

    red, blue = _png("red"), _png("blue")
    over_red = paint(red)
    assert over_red == paint(red)
    assert len({over_red, paint(blue), paint(dataclasses.replace(red, strength=0.55)), paint(None)}) == 4
    [bigger] = backend.generate(ImageRequest("a red kite", width=64, height=48, seed=3, start=_png("red", (640, 360))))
    assert (bigger.width, bigger.height) == (64, 48)
