"""Paint the illustrator examples shown in docs/services/generator.md (and the README), from real prompts.

    .venv/bin/python docs/images/make_illustrator_examples.py

Writes small JPEGs beside this script; the same code and packages give the same pictures on every machine.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

from PIL import Image

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from services.generator.engines import ImageRequest
from services.generator.engines.illustrator import IllustratorBackend

EXAMPLES = (
    ("camping", "watercolor", "cheerful", ("tent", "campfire", "owl", "marshmallows", "stars", "forest")),
    ("birthday", "storybook", "joyful", ("birthday cake", "balloons", "presents", "candles", "grandmother")),
    ("ski-trip", "cinematic", "neutral", ("skiing", "mountains", "snowman", "hot chocolate", "snow")),
    ("beach", "pop art", "joyful", ("beach", "waves", "shells", "sandcastle", "crab", "sunscreen")),
    ("robot", "pencil sketch", "wistful", ("robot", "batteries", "lego", "dog", "kitchen")),
)


def main() -> None:
    backend = IllustratorBackend("PNG")
    for name, style, mood, keywords in EXAMPLES:
        request = ImageRequest(f"a {style} of {', '.join(keywords)}", keywords, style, mood, 1280, 720, 1, seed=3)
        [picture] = backend.generate(request)
        path = HERE / f"illustrator-{name}.jpg"
        Image.open(io.BytesIO(picture.data)).resize((640, 360), Image.Resampling.LANCZOS) \
            .save(path, "JPEG", quality=82, optimize=True)
        print(f"{path.relative_to(HERE.parents[1])}: {style}, depicts {', '.join(picture.depicted)}")


if __name__ == "__main__":
    main()
