"""The `illustrator` backend: a picture of the conversation's things, composed from OpenMoji illustrations.

No GPU and no downloaded weights: each keyword is matched to an illustration (`match`), the scene
grammar places them (`scene`), and the style's finish is applied (`look`). When no
keyword can be drawn it raises `BackendError(nothing_to_draw)`, so the resilient wrapper paints a poster.
The same request and index give identical bytes.
"""

from __future__ import annotations

import re
from typing import NamedTuple

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from services.generator.engines import (
    MIME_BY_FORMAT,
    NOTHING_TO_DRAW,
    BackendError,
    ImageRequest,
    Picture,
    encode_image,
)
from services.generator.engines.illustrator.catalog import ATTRIBUTION, glyphs
from services.generator.engines.illustrator.living import Tone, compose_living, drawn, tone
from services.generator.engines.illustrator.look import LOOKS, Look, background, finish, in_inks, paper, styled, treat
from services.generator.engines.illustrator.match import Matcher
from services.generator.engines.illustrator.scene import Item, Placement, compose
from services.generator.engines.poster import load_font
from services.generator.engines.poster_look import stable_int, style_family, warmth
from shared.embeddings import encoder
from shared.inks import INKS
from shared.language.bridge import in_english, lemma
from shared.messages.image import DEPICTED_CHARS, MAX_DEPICTED, MAX_REGIONS, Layout, Region
from shared.messages.scene import MAX_ELEMENTS

NAME = "illustrator"
MAX_THINGS = 7  # more becomes clutter on a frame seen from across the room
_WORD = re.compile(r"[^\W\d_][\w'-]{2,}")


class IllustratorBackend:
    """Loads the catalog, the embedding model and the name index once; each picture then takes ~0.1–0.3 s."""

    def __init__(self, image_format: str = "JPEG", matcher: Matcher | None = None) -> None:
        if image_format not in MIME_BY_FORMAT:
            raise ValueError(f"illustrator format must be one of {', '.join(MIME_BY_FORMAT)}, not {image_format!r}")
        self.image_format = image_format
        self.matcher = matcher or Matcher(glyphs(), encoder())

    def depict(self, request: ImageRequest) -> list[Item]:
        """The keywords (most important first) that have an illustration, one thing per illustration."""
        keywords = request.keywords or tuple(dict.fromkeys(_WORD.findall(request.text)))
        items: list[Item] = []
        for keyword in keywords:
            if len(keyword) > DEPICTED_CHARS:  # no everyday thing has a longer name; GeneratedImage refuses it
                continue
            glyph = self.matcher.match(in_english(keyword, request.language))
            if glyph is None or len(items) >= (MAX_ELEMENTS if request.scene else MAX_THINGS):
                continue
            if any(item.glyph == glyph for item in items):
                continue
            items.append(Item(keyword, glyph, len(items), _plural(keyword, glyph.name, request.language)))
        return items

    def generate(self, request: ImageRequest) -> list[Picture]:
        items = self.depict(request)
        if not items:
            raise BackendError(f"nothing in {request.keywords or request.text!r} can be illustrated",
                               reason=NOTHING_TO_DRAW)
        depicted = tuple(keyword for keyword in (request.keywords or (item.keyword for item in items))
                         if len(keyword) <= DEPICTED_CHARS
                         and any(self.matcher.match(in_english(keyword, request.language)) == item.glyph
                                 for item in items))[:MAX_DEPICTED]
        pictures = []
        image_format = self.image_format if request.finish == "screen" else "PNG"  # JPEG would blur the inks
        for index in range(request.num_images):
            image, regions, layout = render(request, items, index, depicted)
            pictures.append(Picture(encode_image(image, image_format), MIME_BY_FORMAT[image_format],
                                    image.width, image.height, NAME, depicted=depicted, regions=regions,
                                    layout=layout))
        return pictures


class Rendered(NamedTuple):
    image: Image.Image
    regions: tuple[Region, ...]  # where each thing was drawn (`Placement.box`)
    layout: Layout | None  # a living scene as drawn, for the frame


def render(request: ImageRequest, items: list[Item], index: int = 0, depicted: tuple[str, ...] = ()) -> Rendered:
    """The same request, items and index give the same pixels; another seed or index, another composition.
    An e-paper finish draws in the panel's inks."""
    width, height = request.width, request.height
    family = style_family(request.style)
    on_paper = request.finish != "screen"
    look = LOOKS.get(family, LOOKS["default"])
    look = paper(look) if on_paper else look
    mood = warmth(request.mood)
    if request.scene is None:
        rng = np.random.default_rng(stable_int(NAME, request.text, *request.keywords, request.style, request.mood,
                                               request.seed, index))
        scene, lit, layout = compose(items, width, height, rng), Tone(), None
    else:  # a living scene: the same hills, stars and texture every window, so only its change shows
        rng = np.random.default_rng(stable_int(NAME, "living", request.style, width, height, index))
        elements = {e.keyword: e for e in request.scene.elements}
        scene = compose_living(items, elements, request.scene, width, height)
        lit, layout = tone(request.scene), drawn(items, elements, request.scene, scene, width, height)
    image = background(scene, width, height, look, mood, rng, lit.light, lit.chroma, flat=on_paper)
    sky = treat((206, 228, 246) if not scene.night else (44, 56, 108), look, mood, scene.night, lit.light, lit.chroma)
    for placement in scene.placements:  # in a living scene each thing faces the same way every window
        _paste(image, placement, family, on_paper, sky,
               rng if request.scene is None else np.random.default_rng(stable_int(NAME, placement.glyph.hexcode)))
    image = finish(image, look, rng if request.scene is None else np.random.default_rng(stable_int(NAME, "paper")))
    if on_paper:
        image = in_inks(image, INKS[request.finish])
    _words(image, request, depicted, look, on_paper)
    return Rendered(image, tuple(p.box(width, height) for p in scene.placements)[:MAX_REGIONS], layout)


def _paste(image: Image.Image, placement: Placement, family: str, on_paper: bool, sky: tuple[float, float, float],
           rng: np.random.Generator) -> None:
    glyph, pad = styled(placement.glyph, placement.size, family, on_paper)
    w, h = glyph.size
    left, top = int(placement.x - w / 2), int(placement.bottom - h + pad)
    if placement.shadow and not on_paper:  # on e-paper a soft shadow would be a hard blot
        _shadow(image, placement, w - 2 * pad)
    if placement.depth > 0.2 and not on_paper:  # aerial perspective: far things take on the colour of the air
        haze = Image.new("RGBA", glyph.size, (*(int(c) for c in sky), 255))
        hazy = Image.blend(glyph, haze, min(0.45, placement.depth * 0.35))
        hazy.putalpha(glyph.getchannel("A"))
        glyph = hazy
    mirrored = rng.random() < 0.3 and placement.glyph.zone.value in ("ground",)
    image.paste(glyph.transpose(Image.Transpose.FLIP_LEFT_RIGHT) if mirrored else glyph, (left, top), glyph
                if not mirrored else glyph.transpose(Image.Transpose.FLIP_LEFT_RIGHT))


def _shadow(image: Image.Image, placement: Placement, width: int) -> None:
    """A soft contact shadow under something standing on the ground or the table."""
    sw, sh = max(2, int(width * 0.85)), max(2, int(width * 0.14))
    mask = Image.new("L", (sw + sh * 2, sh * 3), 0)
    ImageDraw.Draw(mask).ellipse([sh, sh, sh + sw, sh * 2], fill=int(110 * (1 - placement.depth * 0.6)))
    mask = mask.filter(ImageFilter.GaussianBlur(max(1, sh / 2)))
    image.paste((20, 20, 30), (int(placement.x - mask.width / 2), int(placement.bottom - mask.height / 2)), mask)


def _words(image: Image.Image, request: ImageRequest, depicted: tuple[str, ...], look: Look, on_paper: bool) -> None:
    """The attribution the licence asks for, and (small) the keywords the picture could not show; on e-paper in
    black and white ink without anti-aliasing, so every pixel stays an ink."""
    width, height = image.size
    unit = min(width, height)
    draw = ImageDraw.Draw(image)
    light = (255, 255, 255) if on_paper else (245, 245, 245)
    if on_paper:
        draw.fontmode = "1"
    bottom = height - (int(height * 0.07) if look.letterbox and width > height else 0)
    margin = max(2, int(unit * 0.015))
    small = load_font("body-sans", max(6, unit * 0.018))
    box = draw.textbbox((0, 0), ATTRIBUTION, font=small)
    x, y = width - margin - (box[2] - box[0]), bottom - margin - (box[3] - box[1]) - box[1]
    draw.text((x + 1, y + 1), ATTRIBUTION, font=small, fill=(0, 0, 0))
    draw.text((x, y), ATTRIBUTION, font=small, fill=light)
    rest = [k for k in request.keywords if k not in depicted][:4]
    if rest:
        caption = load_font("caption-sans", max(6, unit * 0.026))
        text = " · ".join(rest)
        cy = bottom - margin - int(unit * 0.026 * 1.3)
        draw.text((margin + 1, cy + 1), text, font=caption, fill=(0, 0, 0))
        draw.text((margin, cy), text, font=caption, fill=light)


def _plural(keyword: str, name: str, language: str) -> bool:
    """Whether the keyword names several of the thing ("tents", "Hunde", "perros"): the picture shows a few."""
    word = keyword.lower()
    if language == "en":
        return word.endswith("s") and not word.endswith("ss") and name != word
    return lemma(word, language) != word
