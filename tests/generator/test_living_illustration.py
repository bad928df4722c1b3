"""The illustrator paints a room's living scene so that it persists: what stays keeps its place and size from
window to window, a newcomer finds room without covering it, and a cheerful room is lighter and more colourful
than a gloomy one; all from the prompt alone (the generator keeps no state)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from services.generator.engines import ImageRequest
from services.generator.engines.illustrator import IllustratorBackend, render
from services.generator.engines.illustrator.catalog import Glyph
from services.generator.engines.illustrator.living import compose_living
from services.generator.engines.illustrator.scene import Placement, covered
from services.prompter.scene import update
from shared.messages.scene import Scene

WIDTH, HEIGHT = 1920, 1080
MAX_COVER = 0.4  # of an element still talked about, the most a newcomer may hide (bench/scenes.py's target)


@pytest.fixture(scope="module")
def illustrator() -> IllustratorBackend:
    return IllustratorBackend("PNG")


def _request(scene: Scene, mood: str = "neutral") -> ImageRequest:
    keywords = tuple(e.keyword for e in scene.ranked())
    return ImageRequest(" ".join(keywords), keywords, "watercolor", mood, WIDTH, HEIGHT, 1, 7, scene)


def _layout(illustrator: IllustratorBackend, scene: Scene) -> dict[str, Placement]:
    """Each element's keyword → its main placement (the main copy of a group is the largest)."""
    request = _request(scene)
    items = illustrator.depict(request)
    placed = compose_living(items, {e.keyword: e for e in scene.elements}, scene, WIDTH, HEIGHT)
    by_glyph: dict[Glyph, Placement] = {}
    for p in placed.placements:
        if p.glyph not in by_glyph or p.size >= by_glyph[p.glyph].size:
            by_glyph[p.glyph] = p
    return {i.keyword: by_glyph[i.glyph] for i in items}


def test_persisting_elements_keep_their_place_and_size_and_newcomers_cover_little(
        illustrator: IllustratorBackend) -> None:
    camping = {"tent": 1.0, "campfire": 0.8, "owl": 0.6, "forest": 0.5}
    first = update(None, camping, ["We sat by the campfire at night."], "den")
    second = update(first, {**camping, "guitar": 0.9, "marshmallows": 0.7}, ["Then someone played guitar."], "den")
    before, after = _layout(illustrator, first), _layout(illustrator, second)
    stayed = before.keys() & after.keys()
    assert stayed >= {"tent", "campfire"}
    for keyword in stayed:
        assert abs(after[keyword].x - before[keyword].x) <= 0.05 * WIDTH, keyword
        assert after[keyword].bottom == pytest.approx(before[keyword].bottom, rel=0.05), keyword
        assert before[keyword].size <= after[keyword].size <= before[keyword].size * 1.25, keyword  # grows a little
    for keyword in after.keys() - stayed:
        for old in stayed:
            hidden = covered(after[keyword].box(WIDTH, HEIGHT), after[old].box(WIDTH, HEIGHT))
            assert hidden <= MAX_COVER, (keyword, old)


def test_a_younger_element_stays_put_when_an_older_one_leaves(illustrator: IllustratorBackend) -> None:
    """Where an element stands depends on nothing else in the scene: the elements that entered before it go and
    it does not move (it did: each slid aside from the older ones, and slid back once they had left)."""
    garden, newcomers = {"tree": 1.0, "dog": 0.9, "flowers": 0.8}, {"cat": 1.0, "bird": 1.0, "tent": 1.0}
    scenes = [update(None, garden, [], "den")]
    while len(scenes) < 4:  # the talk moves on: the garden fades and leaves while the newcomers stay
        scenes.append(update(scenes[-1], newcomers, [], "den"))
    assert set(garden) & {e.keyword for e in scenes[1].elements}
    assert not set(garden) & {e.keyword for e in scenes[-1].elements}
    layouts = [_layout(illustrator, scene) for scene in scenes[1:]]
    for keyword in newcomers:
        assert len({round(layout[keyword].x) for layout in layouts}) == 1, keyword
        assert len({layout[keyword] for layout in layouts[1:]}) == 1, keyword  # full weight from the 2nd window


def test_the_same_scene_paints_the_same_pixels_whatever_else_the_prompt_says(
        illustrator: IllustratorBackend) -> None:
    scene = update(None, {"tent": 1.0, "owl": 0.5}, ["A tent and an owl."], "den")
    one = _request(scene)
    other = ImageRequest("something else entirely", one.keywords, one.style, one.mood, WIDTH, HEIGHT, 1, 999, scene)
    assert render(one, illustrator.depict(one))[0].tobytes() == render(other, illustrator.depict(other))[0].tobytes()


def _lightness_and_saturation(image: Image.Image) -> tuple[float, float]:
    hls = np.asarray(image.convert("HSV"), dtype=np.float32)
    rgb = np.asarray(image.convert("RGB"), dtype=np.float32)
    return float((rgb.max(axis=2) + rgb.min(axis=2)).mean() / 2 / 255), float(hls[..., 1].mean() / 255)


def test_a_cheerful_room_is_lighter_and_more_colourful_than_a_gloomy_one(illustrator: IllustratorBackend) -> None:
    topics = {"garden": 1.0, "dog": 0.8, "flowers": 0.6}
    happy = update(None, topics, ["What a wonderful, lovely sunny day in the garden!", "I love it, so great!"], "a")
    gloomy = update(None, topics, ["The garden is awful and sad.", "I hate how dreary and terrible it is."], "a")
    light = [_lightness_and_saturation(render(r, illustrator.depict(r))[0])
             for r in (_request(happy, happy.mood), _request(gloomy, gloomy.mood))]
    assert light[0][0] - light[1][0] >= 0.05 and light[0][1] - light[1][1] >= 0.05, light


def test_the_picture_says_where_each_element_is_and_what_moves(illustrator: IllustratorBackend) -> None:
    """The frame's ambient motion follows the layout: each element's box by id (its main copy, one of the
    regions), flames flicker, a night sky's stars twinkle, snow falls outdoors, the sea shimmers at a beach."""
    night = update(None, {"campfire": 1.0, "tent": 0.8, "stars": 0.6}, ["A night by the campfire under the stars."],
                   "den")
    picture = illustrator.generate(_request(night))[0]
    layout = picture.layout
    assert layout is not None and layout.stars and layout.falling == "none" and layout.sea is None
    by_keyword = {e.keyword: e.id for e in night.elements}
    motion = {e.id: e.motion for e in layout.elements}
    assert motion == {by_keyword["campfire"]: "flicker", by_keyword["tent"]: "still",
                      by_keyword["stars"]: "twinkle"}
    assert {e.box for e in layout.elements} <= set(picture.regions)
    snowy = update(None, {"snowman": 1.0, "sled": 0.8}, ["It is snowing on the hill."], "den")
    assert snowy.weather == "snow" and illustrator.generate(_request(snowy))[0].layout.falling == "snow"
    beach = update(None, {"beach": 1.0, "crab": 0.8}, ["A sunny day at the beach."], "den")
    sea = illustrator.generate(_request(beach))[0].layout.sea
    assert sea is not None and sea[0] == 0 and sea[2] == 1 and 0.5 < sea[1] < sea[3] < 0.7
    assert illustrator.generate(ImageRequest("a tent", ("tent",), width=320, height=180))[0].layout \
        is None  # a slideshow picture has no scene to follow


def test_an_uploads_sequence_is_painted_one_picture_per_scene_in_order(illustrator: IllustratorBackend) -> None:
    """The generator's handler paints picture i of a job's prompt from its sequence's scene i (each picture
    carries that scene, and its layout that scene's ids), so the job page can show the recording as a film."""
    from services.generator.handler import GenerateHandler
    from shared.messages import ImagePrompt

    first = update(None, {"tent": 1.0, "campfire": 0.8}, ["We camped by the campfire."], "den")
    second = update(first, {"cake": 1.0, "balloons": 0.9}, ["Then grandma's birthday cake."], "den")
    prompt = ImagePrompt(room="den", source="upload", job_id="job-1", text="camping, then a birthday",
                         num_images=2, width=320, height=180, sequence=(first, second))
    images = GenerateHandler(illustrator, max_prompt_age_seconds=60).paint_job(prompt)
    assert [image.index for image in images] == [0, 1]
    assert [image.scene for image in images] == [first, second]
    for image, scene in zip(images, (first, second), strict=True):
        assert image.layout is not None
        assert {e.id for e in image.layout.elements} <= {e.id for e in scene.elements}
        assert set(image.depicted) <= {e.keyword for e in scene.elements}
    assert "cake" in images[1].depicted and "cake" not in images[0].depicted
