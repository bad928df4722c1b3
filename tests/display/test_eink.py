"""E-ink pictures: the panel's size and only its inks, depicted things still there after dithering, crops."""

from __future__ import annotations

import dataclasses
import io

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

from services.display.frames import eink
from services.display.frames.tiles import Tile
from services.generator.engines import ImageRequest, Picture
from services.generator.engines.illustrator import IllustratorBackend


@pytest.fixture(scope="module")
def pictures() -> list[Picture]:
    """Illustrator pictures with the regions it records (a night sky, an indoor scene, a street)."""
    backend = IllustratorBackend()
    return [backend.generate(ImageRequest("x", keywords=keywords, width=1920, height=1080, seed=2))[0]
            for keywords in (("tent", "campfire", "owl"), ("cat", "piano", "moon"), ("bicycle", "dog", "tree"))]


def decoded(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data))


@pytest.mark.parametrize("kind", sorted(eink.PANELS))
@pytest.mark.parametrize("fmt", sorted(eink.FORMATS))
def test_a_panel_gets_its_size_in_only_its_inks(pictures: list[Picture], kind: str, fmt: str) -> None:
    panel = eink.PANELS[kind]
    for portrait in (False, True):
        image = decoded(eink.render(pictures[0].data, panel, eink.Look(portrait=portrait, format=fmt)))
        assert image.format == fmt.upper()
        assert image.size == ((panel.height, panel.width) if portrait else (panel.width, panel.height))
        used = {rgb for _, rgb in image.convert("RGB").getcolors(len(panel.palette) + 1) or []}
        assert used and used <= set(panel.palette), f"{kind}: colours off the panel's inks: {used - set(panel.palette)}"
        assert len(used) >= min(3, len(panel.palette))  # a picture, not one flat ink


def test_a_two_ink_bmp_is_one_bit_as_trmnl_draws_it(pictures: list[Picture]) -> None:
    image = decoded(eink.render(pictures[0].data, eink.PANELS["bw-800x480"], eink.Look(format="bmp")))
    assert image.mode == "1" and image.size == (800, 480)


def _as_the_panel_shows(image: Image.Image, panel: eink.Panel) -> Image.Image:
    """The canonical inks replaced by what the panel's inks measure: what a person sees on the wall."""
    seen = image.convert("P")
    seen.putpalette([c for rgb in (panel.measured or panel.inks).colors.values() for c in rgb])
    return seen.convert("RGB")


def _luminance(image: Image.Image) -> np.ndarray:
    """Luminance as an eye a metre away takes it in: the dither's dots blur into tones."""
    return np.asarray(image.convert("L").filter(ImageFilter.GaussianBlur(2)), dtype=float)


def _placed(region: tuple[float, float, float, float], source: tuple[int, int], size: tuple[int, int],
            crop: tuple[float, float, float, float] | None) -> tuple[int, int, int, int]:
    """Where a region of the source lands in the panel's picture (cropped, or letterboxed when `crop` is None)."""
    (sw, sh), (w, h) = source, size
    if crop is None:
        s = min(w / sw, h / sh)
        ox, oy, sx, sy, cx, cy = (w - sw * s) / 2, (h - sh * s) / 2, s, s, 0.0, 0.0
    else:
        ox, oy, sx, sy, cx, cy = 0.0, 0.0, w / (crop[2] - crop[0]), h / (crop[3] - crop[1]), crop[0], crop[1]
    return (round(ox + (region[0] * sw - cx) * sx), round(oy + (region[1] * sh - cy) * sy),
            round(ox + (region[2] * sw - cx) * sx), round(oy + (region[3] * sh - cy) * sy))


@pytest.mark.parametrize("kind", ["spectra6-800x480", "acep7-800x480", "grey4-800x480", "bw-800x480"])
@pytest.mark.parametrize("dither", ["floyd-steinberg", "atkinson"])
def test_every_depicted_thing_is_still_there_after_dithering(pictures: list[Picture], kind: str,
                                                             dither: str) -> None:
    """Each region the illustrator drew a thing in, seen on the panel, follows the original's light and dark."""
    panel = eink.PANELS[kind]
    for picture in pictures:
        assert picture.regions, "the illustrator records where it drew each thing"
        original = decoded(picture.data).convert("RGB")
        for portrait in (False, True):
            look = eink.Look(portrait=portrait, dither=dither)
            shown = decoded(eink.render(picture.data, panel, look, picture.regions))
            size = shown.size
            reference = _luminance(eink.fit(original, *size, "keep", picture.regions))
            seen = _luminance(_as_the_panel_shows(shown, panel))
            crop = eink.crop_box(original.width, original.height, size[0] / size[1], picture.regions)
            for region in picture.regions:
                x0, y0, x1, y1 = _placed(region, original.size, size, crop)
                assert 0 <= x0 < x1 <= size[0] and 0 <= y0 < y1 <= size[1], "a depicted thing was cut off"
                ref, got = reference[y0:y1, x0:x1].ravel(), seen[y0:y1, x0:x1].ravel()
                assert ref.std() > 10, "the region has something to see"
                assert np.corrcoef(ref, got)[0, 1] > 0.75, f"{kind} {dither}: a depicted thing is lost in the dots"


def _with_things_at_the_edges() -> tuple[bytes, tuple[tuple[float, float, float, float], ...]]:
    """A wide white picture with a red square near each side edge (where a portrait crop would cut)."""
    image = Image.new("RGB", (1600, 900), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    draw.rectangle((40, 400, 240, 600), fill=(255, 0, 0))
    draw.rectangle((1360, 400, 1560, 600), fill=(255, 0, 0))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue(), ((40 / 1600, 400 / 900, 241 / 1600, 601 / 900), (1360 / 1600, 400 / 900, 1561 / 1600,
                                                                            601 / 900))


def _red_share(image: Image.Image) -> float:
    pixels = np.asarray(image.convert("RGB"))
    return float(((pixels[..., 0] == 255) & (pixels[..., 1] == 0)).mean())


def test_a_crop_never_cuts_a_depicted_thing() -> None:
    """Portrait from landscape: `keep` letterboxes rather than crop the things away; `cover` crops."""
    data, regions = _with_things_at_the_edges()
    panel = eink.PANELS["spectra6-800x480"]
    kept = decoded(eink.render(data, panel, eink.Look(portrait=True, dither="none", measured=False), regions))
    covered = decoded(eink.render(data, panel, eink.Look(portrait=True, fit="cover", dither="none",
                                                         measured=False), regions))
    scale = 480 / 1600  # letterboxed: the whole width fits the panel's
    assert _red_share(kept) == pytest.approx(2 * (200 * scale) ** 2 / (480 * 800), rel=0.15)
    assert _red_share(covered) < _red_share(kept) / 4


def test_a_crop_moves_to_keep_the_things_it_can() -> None:
    """A small landscape crop (16:9 to 5:3) slides toward the things instead of cutting one at the edge."""
    image = Image.new("RGB", (1920, 1080), (255, 255, 255))
    ImageDraw.Draw(image).rectangle((0, 400, 150, 700), fill=(255, 0, 0))
    out = io.BytesIO()
    image.save(out, "PNG")
    region = (0.0, 400 / 1080, 151 / 1920, 701 / 1080)
    look = eink.Look(dither="none", measured=False)
    centred = decoded(eink.render(out.getvalue(), eink.PANELS["spectra6-800x480"], look))
    kept = decoded(eink.render(out.getvalue(), eink.PANELS["spectra6-800x480"], look, (region,)))
    assert _red_share(kept) > 1.5 * _red_share(centred)


@pytest.mark.parametrize(("query", "message"), [
    ({"dither": "dots"}, "dither is one of"), ({"saturation": "3"}, "saturation is a number from 0 to 2"),
    ({"saturation": "nan"}, "saturation"), ({"tone": "loud"}, "tone is a number"),
    ({"orientation": "sideways"}, "orientation"), ({"fit": "stretch"}, "fit is keep"),
    ({"inks": "imagined"}, "inks is measured or nominal")])
def test_a_look_that_is_not_one_names_what_is(query: dict[str, str], message: str) -> None:
    with pytest.raises(eink.BadLook, match=message):
        eink.Look.parse(query)


def test_more_saturation_puts_more_colour_inks_on_the_panel(pictures: list[Picture]) -> None:
    """Greys are mixed from coloured inks too, so saturation 0 still uses some: the share grows with it."""
    panel = eink.PANELS["spectra6-800x480"]
    coloured = {(0, 0, 255), (0, 255, 0), (255, 0, 0), (255, 255, 0)}

    def share(saturation: float) -> float:
        image = decoded(eink.render(pictures[0].data, panel, eink.Look(saturation=saturation))).convert("RGB")
        return sum(n for n, rgb in image.getcolors(8) or [] if rgb in coloured) / (800 * 480)

    assert share(0.0) < share(1.0) - 0.05 < share(2.0) - 0.1


def _inks_as_seen(image: Image.Image, panel: eink.Panel) -> Image.Image:
    """A picture drawn in the panel's canonical inks, each pixel replaced by what that ink measures."""
    seen = np.asarray(image.convert("RGB")).copy()
    drawn = seen.copy()
    for canonical, measured in zip(panel.palette, (panel.measured or panel.inks).colors.values(), strict=True):
        seen[(drawn == canonical).all(axis=2)] = measured
    return Image.fromarray(seen, "RGB")


def _worst_region(data: bytes, regions: tuple[tuple[float, float, float, float], ...], panel: eink.Panel,
                  blur: float) -> float:
    """The least correlation, over the depicted regions, between the original as the panel would show it and what
    the endpoint's picture looks like on the panel (luminance blurred by `blur`: 0 is a look from up close)."""
    original = decoded(data).convert("RGB")
    shown = decoded(eink.render(data, panel, eink.Look(), regions))
    if eink.drawn_in(original, panel):  # drawn in the inks: what it means is how those inks look
        original = _inks_as_seen(original, panel)
    size = shown.size
    reference = eink.fit(original, *size, "keep", regions).convert("L")
    seen = _as_the_panel_shows(shown, panel).convert("L")
    if blur:
        reference, seen = reference.filter(ImageFilter.GaussianBlur(blur)), seen.filter(ImageFilter.GaussianBlur(blur))
    ref, got = np.asarray(reference, dtype=float), np.asarray(seen, dtype=float)
    crop = eink.crop_box(original.width, original.height, size[0] / size[1], regions)
    worst = 1.0
    for region in regions:
        x0, y0, x1, y1 = _placed(region, original.size, size, crop)
        assert ref[y0:y1, x0:x1].std() > 10, "the region has something to see"
        worst = min(worst, float(np.corrcoef(ref[y0:y1, x0:x1].ravel(), got[y0:y1, x0:x1].ravel())[0, 1]))
    return worst


@pytest.mark.parametrize("kind", ["spectra6-800x480", "acep7-800x480", "grey4-800x480", "bw-800x480"])
def test_the_e_paper_finish_keeps_depicted_things_clearer_than_the_screen_finish(kind: str) -> None:
    """The same scenes drawn for screens and for this panel's inks, each served for the panel: every depicted
    thing of the e-paper picture follows its original more closely, from a metre away and up close, where the
    screen picture's dither dots show."""
    panel = eink.PANELS[kind]
    backend = IllustratorBackend()
    for keywords in (("tent", "campfire", "owl"), ("cat", "piano", "moon"), ("bicycle", "dog", "tree")):
        wanted = ImageRequest("x", keywords=keywords, width=1920, height=1080, seed=2, style="watercolor")
        screen = backend.generate(wanted)[0]
        paper = backend.generate(dataclasses.replace(wanted, finish=panel.finish))[0]
        assert paper.regions == screen.regions, "the same things in the same places"
        for blur, margin in ((2, 0.0), (0, 0.1)):
            on_screen, on_paper = (_worst_region(p.data, p.regions, panel, blur) for p in (screen, paper))
            assert on_paper > on_screen + margin, f"{keywords}, blur {blur}: {on_paper:.3f} vs {on_screen:.3f}"


def test_tiles_side_by_side_are_the_picture_fitted_to_the_whole_wall(pictures: list[Picture]) -> None:
    """Two and four panels: each tile is its part of the picture fitted to the wall, pixel for pixel (no dither),
    so the panels side by side show one scene; the depicted things are kept whole across the wall."""
    panel = eink.PANELS["spectra6-800x480"]
    for columns, rows in ((2, 1), (2, 2)):
        wall = eink.Panel("wall", 800 * columns, 480 * rows, "spectra6", "a wall of Spectra 6 panels")
        look = eink.Look(dither="none", measured=False)
        whole = np.asarray(decoded(eink.render(pictures[1].data, wall, look, pictures[1].regions)).convert("RGB"))
        for index in range(columns * rows):
            tile = Tile.parse(f"{columns}x{rows}:{index}")
            shown = decoded(eink.render(pictures[1].data, panel, dataclasses.replace(look, tile=tile),
                                        pictures[1].regions))
            assert shown.size == (800, 480)
            left, top, right, bottom = tile.box(800, 480)
            assert np.array_equal(np.asarray(shown.convert("RGB")), whole[top:bottom, left:right]), tile


@pytest.mark.parametrize("raw", ["2x1", "0x1:0", "5x1:0", "2x1:2", "2x2:-1", "twoxone:0", "2x1:0:0"])
def test_a_tile_that_is_not_one_names_what_is(raw: str) -> None:
    with pytest.raises(eink.BadLook, match="tile is COLUMNSxROWS:INDEX"):
        eink.Look.parse({"tile": raw})
