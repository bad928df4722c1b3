"""Paint the README's strip of one room's living scene changing with its talk, with the real pipeline code: the
prompter (living mode, the offline lexical selector) closes a window per line of talk and the generator's handler
paints each prompt with the illustrator.

    .venv/bin/python docs/images/make_scene_strip.py

Writes scene-strip.png beside this script; the same code and packages give the same picture on every machine.
"""

from __future__ import annotations

import io
import sys
import uuid
from pathlib import Path

from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from services.generator.engines.illustrator import IllustratorBackend
from services.generator.engines.poster import load_font
from services.generator.handler import GenerateHandler
from services.prompter.engines.lexical import LexicalSelector
from services.prompter.handler import Prompter
from services.prompter.policy import Policy
from shared.messages import Envelope, ImagePrompt, Transcript

ROOM = "living-room"
TALK = (  # one window each: a camping trip is planned, then grandma's birthday takes over
    ("We should go camping this summer.", "Let's pitch the tent right by the lake.",
     "The kids love swimming in the lake."),
    ("Yes, a campfire every night!", "And marshmallows on the campfire.", "The tent fits all four of us."),
    ("Last time an owl hooted all night.", "The stars above the lake were amazing.",
     "We sat by the campfire and watched the stars."),
    ("Oh, grandma's birthday is next week!", "We need a big birthday cake.",
     "And balloons, lots of balloons."),
    ("A chocolate cake with candles.", "Grandma loves chocolate cake.", "Balloons and presents for grandma!"),
)
PICTURE, CAPTION, GAP = (384, 216), 54, 8


def prompts() -> list[ImagePrompt]:
    """The living room's prompt after each window of TALK."""
    published: list[Envelope] = []
    now = [0.0]
    prompter = Prompter(LexicalSelector(), published.append, lambda: lambda: None, Policy(window_seconds=30),
                        clock=lambda: now[0])
    for window, lines in enumerate(TALK):
        for index, line in enumerate(lines):
            prompter.on_transcript(Transcript(room=ROOM, source="sofa", audio_id=str(uuid.UUID(int=window * 9 + index)),
                                              text=line, engine="docs", model="none", audio_seconds=4.0,
                                              processing_seconds=0.1))
        now[0] += 31
        prompter.tick()
    return [p for p in published if isinstance(p, ImagePrompt)]


def caption(draw: ImageDraw.ImageDraw, text: str, left: int, top: int) -> None:
    """The window's talk in three lines at most, under its picture."""
    font, words, lines = load_font("label", 13), text.split(), [""]
    for word in words:
        if draw.textlength(f"{lines[-1]} {word}".strip(), font=font) > PICTURE[0] - 8 and len(lines) < 3:
            lines.append("")
        lines[-1] = f"{lines[-1]} {word}".strip()
    for row, line in enumerate(lines):
        draw.text((left + 4, top + 6 + row * 16), line, fill=(60, 60, 60), font=font)


def main() -> None:
    paint = GenerateHandler(IllustratorBackend("PNG"), max_prompt_age_seconds=float("inf"), num_images=1,
                            size=(1280, 720))
    windows = prompts()
    strip = Image.new("RGB", (len(windows) * (PICTURE[0] + GAP) - GAP, PICTURE[1] + CAPTION), (250, 248, 244))
    draw = ImageDraw.Draw(strip)
    for index, prompt in enumerate(windows):
        [image] = paint(prompt)
        left = index * (PICTURE[0] + GAP)
        strip.paste(Image.open(io.BytesIO(image.image)).convert("RGB").resize(PICTURE, Image.Resampling.LANCZOS),
                    (left, 0))
        caption(draw, f"{index + 1}. “{' '.join(TALK[index])}”", left, PICTURE[1])
        print(f"window {index + 1}: {', '.join(image.depicted)}")
    path = HERE / "scene-strip.png"
    strip.save(path, optimize=True)
    print(f"{path.relative_to(HERE.parents[1])}: {strip.width}x{strip.height}, {path.stat().st_size} bytes")


if __name__ == "__main__":
    main()
