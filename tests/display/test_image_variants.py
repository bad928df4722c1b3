"""Image serving against the real display process: ETags and 304s, width variants, WebP by Accept, made once."""

from __future__ import annotations

import io
import re
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from PIL import Image

from services.generator.engines import ImageRequest
from services.generator.engines.illustrator import IllustratorBackend
from shared.messages import GeneratedImage
from tests.display.conftest import DisplayProcess, make_image, publish
from tests.support import Broker, wait_for

CHROMIUM_ACCEPT = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"
NO_WEBP = "image/png,image/jpeg,*/*;q=0.8"


@pytest.fixture(scope="module")
def painting() -> bytes:
    """A 1920×1080 JPEG as the illustrator paints one: detail, so sizes mean something (not a flat colour)."""
    request = ImageRequest("a camping trip", keywords=("tent", "campfire", "owl"), width=1920, height=1080, seed=2)
    return IllustratorBackend().generate(request)[0].data


def stored(broker: Broker, display: DisplayProcess, data: bytes) -> GeneratedImage:
    image = make_image(image=data, mime_type="image/jpeg", width=1920, height=1080, backend="illustrator")
    publish(broker, image)
    wait_for(lambda: get(display, image).status_code == 200, timeout=10, message="the image to be stored")
    return image


def get(display: DisplayProcess, image: GeneratedImage, query: str = "", accept: str = NO_WEBP,
        **headers: str) -> requests.Response:
    return requests.get(f"{display.url}/images/{image.id}{query}", headers={"Accept": accept, **headers}, timeout=10)


def picture(response: requests.Response) -> Image.Image:
    return Image.open(io.BytesIO(response.content))


def variants_made(display: DisplayProcess, mime: str) -> float:
    text = requests.get(f"{display.url}/metrics", timeout=5).text
    line = rf'^voxframe_display_image_variants_total{{type="{re.escape(mime)}"}} (\S+)$'
    found = re.search(line, text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def test_an_etag_answers_if_none_match_with_304(broker: Broker, display: DisplayProcess, painting: bytes) -> None:
    image = stored(broker, display, painting)
    for query, accept in (("", NO_WEBP), ("?w=960", CHROMIUM_ACCEPT)):
        first = get(display, image, query, accept)
        assert first.status_code == 200 and "immutable" in first.headers["cache-control"]
        assert first.headers["vary"] == "Accept" and first.headers["etag"].startswith(f'"{image.id}')
        again = get(display, image, query, accept, **{"If-None-Match": first.headers["etag"]})
        assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == first.headers["etag"]
        assert get(display, image, query, accept, **{"If-None-Match": '"other"'}).status_code == 200
    assert get(display, image).headers["etag"] != get(display, image, "?w=960", CHROMIUM_ACCEPT).headers["etag"]


def test_a_width_variant_is_smaller_and_that_wide(broker: Broker, display: DisplayProcess, painting: bytes) -> None:
    image = stored(broker, display, painting)
    for width, height in ((640, 360), (960, 540), (1280, 720)):
        variant = get(display, image, f"?w={width}")
        assert variant.status_code == 200 and variant.headers["content-type"] == "image/jpeg"
        assert picture(variant).size == (width, height) and len(variant.content) < len(painting)
    assert picture(get(display, image, "?w=700")).width == 960  # between buckets: the next one up
    for larger in (1920, 2560, 3840):  # never upscaled: the original, byte for byte
        assert get(display, image, f"?w={larger}").content == painting


def test_webp_only_when_the_browser_accepts_it(broker: Broker, display: DisplayProcess, painting: bytes) -> None:
    image = stored(broker, display, painting)
    webp = get(display, image, "?w=1280", CHROMIUM_ACCEPT)
    assert webp.headers["content-type"] == "image/webp" and picture(webp).format == "WEBP"
    assert picture(webp).size == (1280, 720)
    assert get(display, image, "", "image/webp").headers["content-type"] == "image/webp"  # full size, re-encoded
    for accept in (NO_WEBP, "image/webp;q=0, image/*", "*/*", ""):
        refused = get(display, image, "?w=1280", accept)
        assert refused.headers["content-type"] == "image/jpeg" and picture(refused).format == "JPEG"


def test_the_same_request_gets_the_same_bytes(broker: Broker, display: DisplayProcess, painting: bytes) -> None:
    image = stored(broker, display, painting)
    asks = [("?w=640", CHROMIUM_ACCEPT), ("?w=960", NO_WEBP), ("", CHROMIUM_ACCEPT), ("", NO_WEBP)]
    before = [get(display, image, q, a) for q, a in asks]
    display.restart()  # nothing in memory now: variants are made again from the bytes in the database
    after = [get(display, image, q, a) for q, a in asks]
    assert [r.content for r in after] == [r.content for r in before]
    assert [r.headers["etag"] for r in after] == [r.headers["etag"] for r in before]


def test_a_variant_is_made_once_however_many_ask_at_once(broker: Broker, display: DisplayProcess,
                                                        painting: bytes) -> None:
    image = stored(broker, display, painting)
    made = variants_made(display, "image/webp")
    with ThreadPoolExecutor(40) as pool:
        answers = list(pool.map(lambda _: get(display, image, "?w=960", CHROMIUM_ACCEPT), range(40)))
    assert {a.status_code for a in answers} == {200} and len({a.content for a in answers}) == 1
    assert variants_made(display, "image/webp") == made + 1


def test_a_bad_width_is_refused_with_the_reason(broker: Broker, display: DisplayProcess) -> None:
    image = make_image()
    publish(broker, image)
    wait_for(lambda: get(display, image).status_code == 200, timeout=10, message="the image to be stored")
    for width in ("0", "-1", "99999", "wide", "1e3", ""):
        answer = get(display, image, f"?w={width}")
        assert answer.status_code == 400, width
        assert answer.json()["error"].startswith("w must be a width in pixels from 1 to 3840"), width
