"""Weave keywords, a style preset and the mood's palette into one short scene description.

Stable Diffusion's CLIP text encoder reads 77 tokens and ignores the rest, so the text is kept well under
that (about 3-4 characters a token): keywords are dropped from the least important end until it fits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from services.prompter.engines.mood import Mood
from shared.messages.control import STYLES as STYLE_NAMES

DEFAULT_MAX_CHARS = 240


@dataclass(frozen=True)
class Style:
    lead: str  # what the picture is
    finish: str  # how it is made


_LOOKS = {
    "watercolor": Style("a watercolor painting of", "loose brushstrokes, paper texture"),
    "oil painting": Style("an oil painting of", "rich impasto brushwork"),
    "photo": Style("a photograph of", "natural light, 35mm, sharp focus"),
    "storybook": Style("a storybook illustration of", "whimsical, gentle ink lines"),
    "pencil sketch": Style("a pencil sketch of", "fine graphite shading"),
    "pixel art": Style("pixel art of", "16-bit, crisp pixels"),
}
STYLES = {name: _LOOKS[name] for name in STYLE_NAMES}  # the presets are named in the Control contract


def compose(keywords: Sequence[str], style: str, mood: Mood, max_chars: int = DEFAULT_MAX_CHARS) -> str:
    """E.g. "a watercolor painting of golden retriever, apple pie and northern lights, warm cheerful ...".

    Raises ValueError when not even the first keyword fits, which only a tiny `max_chars` can cause.
    """
    preset = STYLES[style]
    for count in range(len(keywords), 0, -1):
        text = f"{preset.lead} {_join(keywords[:count])}, {mood.palette}, {preset.finish}"
        if len(text) <= max_chars:
            return text
    raise ValueError(f"a prompt for {keywords[:1]} does not fit in {max_chars} characters")


def _join(words: Sequence[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"
