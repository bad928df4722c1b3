"""A living room's next picture painted over its last one, across the real parts: the generator fetches the
last picture from the real display's gallery (a token set, as beyond loopback; the generator holds none) and
sends it to the images edits endpoint of a stand-in speaking OpenAI's documented wire shape."""

from __future__ import annotations

from collections.abc import Callable

import requests
from prometheus_client import REGISTRY

from services.generator.engines.openai_images import OpenAIImagesBackend
from services.generator.gallery import GalleryClient
from services.generator.handler import GenerateHandler
from shared.messages import ImagePrompt, Keyword
from shared.messages.prompt import Evolve
from tests.display import conftest as display_fixtures
from tests.display.conftest import DisplayProcess, make_image, publish
from tests.generator.servers import StandIn, closed_port_url
from tests.generator.test_http_backends import openai_edit, openai_images
from tests.support import Broker, wait_for

display_factory = display_fixtures.display_factory  # the real display, as its own tests start it
ROUTES = {"/v1/images/edits": openai_edit, "/v1/images/generations": openai_images}


def evolving_prompt(image_id: str) -> ImagePrompt:
    return ImagePrompt(room="den", source="mic1", text="a tent by a lake at night, watercolor", width=96, height=64,
                       keywords=(Keyword(text="tent", score=1.0),), evolve=Evolve(image_id=image_id, strength=0.35))


def outcomes(outcome: str) -> float:
    return REGISTRY.get_sample_value("voxframe_generator_evolutions_total", {"outcome": outcome}) or 0.0


def test_the_last_picture_comes_from_the_display_and_is_edited(broker: Broker,
                                                                display_factory: Callable[..., DisplayProcess]) -> None:
    display = display_factory(VOXFRAME_DISPLAY_TOKEN="a-token-the-generator-never-holds")
    last = make_image(room="den", color=(20, 90, 160), size=(96, 64), backend="openai")
    publish(broker, last)
    wait_for(lambda: requests.get(f"{display.url}/images/{last.id}", timeout=5).status_code == 200,
             message="the last picture in the gallery")
    evolved = outcomes("evolved")
    with StandIn(ROUTES) as server:
        handler = GenerateHandler(OpenAIImagesBackend(server.url + "/v1", "gpt-image-1"), 300,
                                  gallery=GalleryClient(display.url))
        [image] = handler(evolving_prompt(str(last.id)))
    [(path, form, _)] = server.requests
    assert path == "/v1/images/edits"
    assert form["image"] == ("previous.png", "image/png", last.image)  # the stored bytes, not a re-encoded copy
    assert form["prompt"] == "a tent by a lake at night, watercolor"
    assert image.backend == "openai" and not image.fallback
    assert outcomes("evolved") == evolved + 1


def test_without_the_last_picture_it_is_painted_afresh(broker: Broker,
                                                       display_factory: Callable[..., DisplayProcess]) -> None:
    display = display_factory()
    gone = "00000000-0000-4000-8000-000000000000"
    before = outcomes("not_found"), outcomes("unavailable")
    with StandIn(ROUTES) as server:
        for gallery in (GalleryClient(display.url), GalleryClient(closed_port_url(), connect_timeout_seconds=1)):
            GenerateHandler(OpenAIImagesBackend(server.url + "/v1", "m"), 300, gallery=gallery)(evolving_prompt(gone))
    assert [path for path, _, _ in server.requests] == ["/v1/images/generations"] * 2
    assert (outcomes("not_found"), outcomes("unavailable")) == (before[0] + 1, before[1] + 1)
