"""A painted picture, ready for the frames."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, Field, StringConstraints

from shared.messages.envelope import ID_CHARS, PART_CONFIG, Count, Envelope
from shared.messages.prompt import MAX_EXCERPT_CHARS, MAX_KEYWORDS, Keyword
from shared.messages.scene import MAX_ELEMENTS, Fraction, Scene

MAX_DEPICTED, DEPICTED_CHARS = 16, 64
Depicted = Annotated[str, StringConstraints(max_length=DEPICTED_CHARS)]  # one depicted thing's name
MAX_REGIONS = 32  # a plural thing is drawn as a group, each copy its own region
Region = tuple[Fraction, Fraction, Fraction, Fraction]  # left, top, right, bottom as fractions of the picture
Motion = Literal["still", "flicker", "twinkle"]  # flames flicker, stars and sparkles twinkle; the rest keeps still
Falling = Literal["none", "snow", "rain"]
MAX_IMAGE_BYTES = 11 * 1024 * 1024  # 14.7 MiB as base64: the message stays under WIRE_LIMIT_BYTES
MAX_IMAGE_SIDE = 16384  # pixels: over WebP's limit, and over 4 times what a prompt asks for (no generator paints more)
Side = Annotated[int, Field(ge=1, le=MAX_IMAGE_SIDE)]


class DrawnElement(BaseModel):
    """Where one element of a living scene is drawn (its main copy) and how it may move while it hangs."""

    model_config = PART_CONFIG

    id: str = Field(min_length=1, max_length=32, description="the scene element's id")
    box: Region
    motion: Motion = "still"


class Layout(BaseModel):
    """A living scene as drawn: each element's box by id, so a frame can follow it from picture to picture, and
    the gentle motion the picture may have between windows (none of it says what was talked about)."""

    model_config = PART_CONFIG

    elements: tuple[DrawnElement, ...] = Field((), max_length=MAX_ELEMENTS)
    horizon: Fraction = Field(description="where the sky ends, as a fraction of the height")
    stars: bool = Field(False, description="a night sky: stars twinkle above the horizon")
    falling: Falling = Field("none", description="snow or rain falls over the picture")
    sea: Region | None = Field(None, description="the band of sea at the horizon: it shimmers")


class GeneratedImage(Envelope):
    """Encoded image bytes plus the prompt that made them (copied, so a display needs nothing else)."""

    KIND: ClassVar[str] = "image"

    image: bytes = Field(max_length=MAX_IMAGE_BYTES)
    mime_type: Literal["image/png", "image/jpeg", "image/webp"]
    width: Side = Field(description="as the picture's bytes say (the display refuses one that disagrees)")
    height: Side
    backend: str = Field(max_length=64, description="illustrator, poster, diffusers, dalle-playground, openai")
    prompt_id: str = Field(max_length=ID_CHARS)
    prompt_text: str = Field(max_length=1000)
    keywords: tuple[Keyword, ...] = Field((), max_length=MAX_KEYWORDS)
    style: str = Field("", max_length=64)
    excerpt: str = Field("", max_length=MAX_EXCERPT_CHARS)
    index: Count = Field(0, description="which of the prompt's num_images (or of its sequence's scenes) this is")
    generation_seconds: float = Field(ge=0)
    fallback: bool = Field(False, description="painted by the poster fallback because the backend failed")
    depicted: tuple[Depicted, ...] = Field((), max_length=MAX_DEPICTED,
                                                        description="the keywords the picture shows")
    regions: tuple[Region, ...] = Field((), max_length=MAX_REGIONS,
                                        description="where the depicted things are drawn, so a crop keeps them")
    scene: Scene | None = Field(None, description="the room's living scene the picture was painted from")
    layout: Layout | None = Field(None, description="the living scene as drawn (illustrator pictures of one)")
