"""Peak memory of painting one large picture in a fresh process, against that process's own peak after it painted
a small one (imports, fonts and caches): what the picture itself costs. The test and the benchmark share it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_SCRIPT = """
import sys
from services.generator.engines import ImageRequest, encode_image
{setup}
def paint(side):
    encode_image({render}, "JPEG")

def peak_mib():  # VmHWM: ru_maxrss would carry the parent's own peak across fork and exec
    return int(next(line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM:"))) / 1024

paint(256)
before = peak_mib()
paint(int(sys.argv[1]))
print(before, peak_mib())
"""
ENGINES = {
    "poster": ("from services.generator.engines.poster import render",
               "render(ImageRequest('apple pie', ('apple pie', 'kitchen'), 'watercolor', 'happy', side, side, 1, 3))"),
    "illustrator": ("""
from services.generator.engines.illustrator import render
from services.generator.engines.illustrator.catalog import glyphs
from services.generator.engines.illustrator.scene import Item
named = {glyph.name: glyph for glyph in glyphs()}
items = [Item(name, named[name], rank) for rank, name in enumerate(('tent', 'fire', 'owl', 'star'))]
""", "render(ImageRequest('camping', ('tent', 'fire', 'owl', 'star'), 'oil', 'happy', side, side, 1, 1), items).image"),
}


def peak_mib(engine: str, side: int) -> tuple[float, float]:
    """The fresh process's peak (MiB) after a 256² picture of `engine`, and after one of `side`², JPEG-encoded."""
    setup, render = ENGINES[engine]
    done = subprocess.run([sys.executable, "-c", _SCRIPT.format(setup=setup, render=render), str(side)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, check=True)
    before, peak = map(float, done.stdout.split())
    return before, peak
