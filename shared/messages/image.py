"""A painted picture, ready for the frames."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from shared.messages.envelope import ID_CHARS, Chars, Envelope
from shared.messages.prompt import MAX_EXCERPT_CHARS, MAX_KEYWORDS, Keyword

MAX_DEPICTED, DEPICTED_CHARS = 16, 64
MAX_IMAGE_BYTES = 11 * 1024 * 1024  # 14.7 MiB as base64: the message stays under WIRE_LIMIT_BYTES


class GeneratedImage(Envelope):
    """Encoded image bytes plus the prompt that made them (copied, so a display needs nothing else)."""

    KIND: ClassVar[str] = "image"

    image: bytes = Field(max_length=MAX_IMAGE_BYTES)
    mime_type: Literal["image/png", "image/jpeg", "image/webp"]
    width: int = Field(ge=1)
    height: int = Field(ge=1)
    backend: Chars(64) = Field(description="illustrator, poster, diffusers, dalle-playground, openai")
    prompt_id: Chars(ID_CHARS)
    prompt_text: Chars(1000)
    keywords: tuple[Keyword, ...] = Field((), max_length=MAX_KEYWORDS)
    style: Chars(64) = ""
    excerpt: Chars(MAX_EXCERPT_CHARS) = ""
    index: int = Field(0, ge=0, description="which of the prompt's num_images this is")
    generation_seconds: float = Field(ge=0)
    fallback: bool = Field(False, description="painted by the poster fallback because the backend failed")
    depicted: tuple[Chars(DEPICTED_CHARS), ...] = Field((), max_length=MAX_DEPICTED,
                                                        description="the keywords the picture shows")
