"""The largest picture a prompt may ask for (4096²) costs a bounded multiple of its pixels: the poster held up to
five full-size float copies of its canvas (~800 MB at the peak), the illustrator three RGB copies of its picture and
a glyph drawn at 4152²."""

from __future__ import annotations

import pytest

from tests.generator.picture_memory import peak_mib

SIDE = 4096  # shared.messages.prompt: the most a prompt asks for a side


@pytest.mark.parametrize(("engine", "bytes_per_pixel"), [("poster", 24), ("illustrator", 12)])
def test_a_4096_square_picture_costs_a_bounded_multiple_of_its_pixels(engine: str, bytes_per_pixel: int) -> None:
    """The poster's float canvas is 12 bytes a pixel and its 8-bit picture 4 more (17 measured); the illustrator's
    picture is 4 (Pillow keeps RGB in 4 bytes), plus the glyphs (8 measured). Before: 36–46 and 18."""
    before, peak = peak_mib(engine, SIDE)
    grew = (peak - before) * 2**20 / SIDE**2
    assert grew <= bytes_per_pixel, f"{SIDE}² raised the peak from {before:.0f} to {peak:.0f} MiB: {grew:.1f} B/px"
