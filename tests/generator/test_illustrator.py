"""The illustrator on its real parts: OpenMoji SVGs, the MiniLM model, resvg, Pillow. No mocks."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import io
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import requests
from PIL import Image
from pydantic import ValidationError

from services.generator.engines import ImageRequest
from services.generator.engines.fallback import ResilientBackend
from services.generator.engines.illustrator import IllustratorBackend
from services.generator.engines.illustrator.catalog import ATTRIBUTION
from services.generator.engines.illustrator.look import PAPER_OUTLINE, styled
from services.generator.engines.illustrator.raster import raster
from services.generator.engines.poster import PosterBackend, load_font
from services.generator.engines.poster_look import FAMILIES
from services.generator.handler import GenerateHandler
from services.prompter.engines.scene import STYLES
from shared.inks import INKS
from shared.messages import GeneratedImage, ImagePrompt, Keyword
from shared.messages.prompt import Finish
from tests.support import free_port, wait_for

ROOT = Path(__file__).resolve().parents[2]
CAMPING = ("tent", "campfire", "owl", "marshmallows", "stars", "forest")


@pytest.fixture(scope="module")
def illustrator() -> IllustratorBackend:
    return IllustratorBackend("PNG")


def request(keywords: tuple[str, ...] = CAMPING, **changes: object) -> ImageRequest:
    fields: dict[str, object] = {"text": "a camping trip", "keywords": keywords, "style": "watercolor",
                                 "mood": "cheerful", "width": 640, "height": 360, "num_images": 1, "seed": 7}
    fields.update(changes)
    return ImageRequest(**fields)  # type: ignore[arg-type]


def pixels(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=np.int16)


def test_the_same_prompt_seed_and_index_give_identical_bytes(illustrator: IllustratorBackend) -> None:
    first = illustrator.generate(request(num_images=2))
    again = IllustratorBackend("PNG").generate(request(num_images=2))
    assert [p.data for p in first] == [p.data for p in again]
    assert first[0].data != first[1].data  # the second image is another composition
    assert illustrator.generate(request(seed=8))[0].data != first[0].data


_FRESH = """
import hashlib, json, sys
from services.generator.engines import ImageRequest
from services.generator.engines.illustrator import IllustratorBackend
backend = IllustratorBackend("PNG")
asked = [ImageRequest(**{**fields, "keywords": tuple(fields["keywords"])}) for fields in json.loads(sys.argv[1])]
print(json.dumps([[hashlib.sha256(p.data).hexdigest() for p in backend.generate(r)] for r in reversed(asked)]))
"""


def test_a_picture_is_the_same_in_a_fresh_process_as_after_other_sizes_and_styles(
        illustrator: IllustratorBackend) -> None:
    """Nothing a process drew before (glyphs cached by size bucket, styled glyphs, fonts) and no hash seed reaches
    a picture: painted after the same things at other sizes and styles, it has the bytes a new process (another
    PYTHONHASHSEED, the pictures in reverse order) paints for it."""
    asked = [request(style="pixel art", width=1920, height=1080, num_images=2),
             request(style="pixel art", width=640, height=480), request(width=1920, height=1080),  # watercolor
             request(style="pop art", width=1920, height=1080, finish="spectra6")]
    for style in ("pixel art", "oil painting", "pop art"):  # the same glyphs, mostly from 1080p's buckets, other sizes
        for width, height in ((1700, 956), (2048, 1152), (800, 600)):
            illustrator.generate(request(style=style, width=width, height=height))
    here = [[hashlib.sha256(p.data).hexdigest() for p in illustrator.generate(r)] for r in asked]
    fields = json.dumps([{k: v for k, v in dataclasses.asdict(r).items() if k not in ("scene", "start")}
                         for r in asked])
    done = subprocess.run([sys.executable, "-c", _FRESH, fields], capture_output=True, text=True, timeout=120,
                          check=True, cwd=ROOT, env={**os.environ, "PYTHONHASHSEED": "12345"})
    assert here == json.loads(done.stdout)[::-1]


@pytest.mark.parametrize(("width", "height"), [(64, 64), (640, 360), (360, 640), (1920, 1080), (1080, 1920),
                                               (4096, 2304)])
def test_any_size_and_orientation(illustrator: IllustratorBackend, width: int, height: int) -> None:
    [picture] = illustrator.generate(request(width=width, height=height))
    with Image.open(io.BytesIO(picture.data)) as image:
        assert image.size == (width, height)
    assert (picture.backend, picture.mime_type, picture.fallback) == ("illustrator", "image/png", False)


def test_every_style_has_its_own_finish(illustrator: IllustratorBackend) -> None:
    styles = sorted({*STYLES, *(words[0] for words, _ in FAMILIES), "default"})
    renders = {style: pixels(illustrator.generate(request(style=style))[0].data) for style in styles}
    for style, image in renders.items():
        for other, other_image in renders.items():
            if style < other:
                assert np.abs(image - other_image).mean() > 2, f"{style} looks like {other}"


def test_the_mood_tints_the_picture(illustrator: IllustratorBackend) -> None:
    warm = pixels(illustrator.generate(request(mood="joyful"))[0].data).mean((0, 1))
    cool = pixels(illustrator.generate(request(mood="somber"))[0].data).mean((0, 1))
    assert warm[0] - warm[2] > cool[0] - cool[2] + 5  # redder against bluer


def test_it_says_which_keywords_it_depicts(illustrator: IllustratorBackend) -> None:
    [picture] = illustrator.generate(request(("tent", "ambience", "owl", "honestly")))
    assert picture.depicted == ("tent", "owl")
    prompt = ImagePrompt(room="living-room", source="mic", text="a tent and an owl", width=320, height=180,
                         keywords=(Keyword(text="tent", score=2), Keyword(text="ambience", score=1),
                                   Keyword(text="owl", score=0.5)))
    [image] = GenerateHandler(illustrator, max_prompt_age_seconds=120)(prompt)
    assert image.depicted == ("tent", "owl")
    assert image.backend == "illustrator"


def test_depicted_is_bounded_on_the_message() -> None:
    fields = {"room": "r", "source": "s", "image": b"x", "mime_type": "image/png", "width": 1, "height": 1,
              "backend": "illustrator", "prompt_id": "p", "prompt_text": "t", "generation_seconds": 0}
    assert GeneratedImage(**fields, depicted=("tent",) * 16).depicted == ("tent",) * 16
    for too_much in (("tent",) * 17, ("x" * 65,)):
        with pytest.raises(ValidationError):
            GeneratedImage(**fields, depicted=too_much)


def test_a_night_scene_is_dark_and_a_snow_scene_is_light(illustrator: IllustratorBackend) -> None:
    night = pixels(illustrator.generate(request(("moon", "owl"), style="default"))[0].data)
    snow = pixels(illustrator.generate(request(("snowman", "skis"), style="default"))[0].data)
    assert night[:120].mean() < 90
    assert snow.mean() > 170


def test_nothing_to_draw_falls_back_to_the_poster_without_opening_the_breaker(
        illustrator: IllustratorBackend) -> None:
    backend = ResilientBackend(illustrator, "illustrator", PosterBackend())
    for seed in range(4):
        [picture] = backend.generate(request(("ambience", "honestly"), seed=seed))
        assert (picture.backend, picture.fallback, picture.depicted) == ("poster", True, ())
    assert not backend.breaker.is_open
    [picture] = backend.generate(request())
    assert (picture.backend, picture.fallback) == ("illustrator", False)


def test_the_attribution_is_on_the_picture(illustrator: IllustratorBackend) -> None:
    width, height = 1280, 720
    [picture] = illustrator.generate(request(("dog",), style="default", width=width, height=height))
    image = pixels(picture.data)
    font = load_font("body-sans", max(6, min(width, height) * 0.018))
    left, top, right, bottom = font.getbbox(ATTRIBUTION)
    margin = int(min(width, height) * 0.015)
    corner = image[height - margin - (bottom - top) - 4: height - margin + 2, width - margin - (right - left): width]
    assert (corner.min(axis=2) > 235).sum() > 50  # the white letters
    assert (corner.max(axis=2) < 40).sum() > 50  # their shadow


def test_the_gpu_server_serves_illustrations_and_posters_for_the_rest() -> None:
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "shared.cli", "gpu-server", "--backend", "illustrator",
                               "--host", "127.0.0.1", "--port", str(port)],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        try:
            return requests.get(f"{url}/readyz", timeout=2).status_code == 200
        except requests.ConnectionError:
            return False

    try:
        wait_for(ready, timeout=60, interval=0.2, message="the gpu-server to be ready")
        for prompt in ("a tent and an owl", "honestly the ambience"):
            answer = requests.post(f"{url}/v1/images/generations", timeout=30, json={
                "model": "illustrator", "prompt": prompt, "n": 1, "size": "320x180", "response_format": "b64_json"})
            assert answer.status_code == 200, answer.text
            with Image.open(io.BytesIO(base64.b64decode(answer.json()["data"][0]["b64_json"]))) as image:
                assert image.size == (320, 180)
    finally:
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=20)
    assert server.returncode in (0, -signal.SIGTERM), output  # uvicorn re-raises SIGTERM after a clean shutdown
    assert output.count("painting a poster instead") == 2, output  # its own warm-up and "honestly the ambience"


def test_keywords_in_other_languages_are_drawn_through_their_gloss(illustrator: IllustratorBackend) -> None:
    """A German room's prompt: its keywords stay German (the captions show them), the picture shows their things."""
    english = {item.glyph for item in illustrator.depict(request(("tent", "owl", "campfire")))}
    for language, words in {"de": ("Zelt", "Eule", "Lagerfeuer"), "es": ("tienda", "búho", "fogata"),
                            "fr": ("tente", "chouette", "feu")}.items():
        items = illustrator.depict(request(words, language=language))
        assert len(items) >= 2 and {item.glyph for item in items} & english, (language, items)
    prompt = ImagePrompt(room="living-room", source="mic", text="a tent and an owl", width=320, height=180,
                         language="de", keywords=(Keyword(text="Zelt", score=2), Keyword(text="Eule", score=1)))
    [image] = GenerateHandler(illustrator, max_prompt_age_seconds=120)(prompt)
    assert image.depicted == ("Zelt", "Eule")


@pytest.mark.parametrize("finish", sorted(INKS))
def test_the_e_paper_finish_draws_the_same_scene_in_the_panels_inks(finish: Finish) -> None:
    """Every pixel one of the inks (PNG even from a JPEG backend), the same things in the same places, and the
    attribution still on it in black and white ink."""
    backend = IllustratorBackend("JPEG")
    [screen] = backend.generate(request(style="default", width=1280, height=720))
    [paper] = backend.generate(request(style="default", width=1280, height=720, finish=finish))
    assert (paper.mime_type, screen.mime_type) == ("image/png", "image/jpeg")
    assert paper.regions == screen.regions and paper.depicted == screen.depicted, "the same scene, finished"
    with Image.open(io.BytesIO(paper.data)) as image:
        used = {rgb for _, rgb in image.convert("RGB").getcolors(len(INKS[finish].colors)) or []}
    assert used and used <= set(INKS[finish].colors) and len(used) >= 2
    corner = pixels(paper.data)[690:716, 1100:1270]
    assert (corner == 255).all(axis=2).sum() > 50 and (corner == 0).all(axis=2).sum() > 50, "the attribution"


@pytest.mark.parametrize("style", ["default", "watercolor", "pop", "neon"])
def test_on_e_paper_each_thing_is_ringed_by_a_bold_dark_outline(illustrator: IllustratorBackend,
                                                                 style: str) -> None:
    """The e-paper finish rings a glyph in a dark line some pixels wide, whatever the style does on screens."""
    glyph = illustrator.matcher.match("owl")
    assert glyph is not None
    size = 300
    bare = raster(glyph, size)
    on_paper, pad = styled(glyph, size, style, on_paper=True)
    alpha = np.asarray(on_paper.getchannel("A")) > 128
    inside = np.zeros_like(alpha)
    inside[pad:pad + bare.height, pad:pad + bare.width] = np.asarray(bare.getchannel("A")) > 0
    ring = alpha & ~inside
    width = ring.sum() / (bare.width + bare.height) / 2  # the ring's area over (roughly) its length
    assert width >= size * PAPER_OUTLINE / 3, f"a ring {width:.1f} px wide"
    ring_rgb = np.asarray(on_paper.convert("RGB"))[ring]
    assert np.median(ring_rgb.max(axis=1)) < 100, "the ring is dark"
