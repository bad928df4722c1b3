"""The image prompt chosen from a room's recent conversation."""

from __future__ import annotations

from typing import ClassVar, Literal, Self, get_args

from pydantic import BaseModel, Field, model_validator

from shared.messages.envelope import PART_CONFIG, Envelope, MessageId
from shared.messages.language import DEFAULT_LANGUAGE, Language
from shared.messages.scene import Scene

MAX_KEYWORDS = 16
MAX_EXCERPT_CHARS = 4000
MAX_SOURCE_TRANSCRIPTS = 1000
# A picture's size when nobody chose one (16:9, what most frames are); the prompter's policy and the generator's
# requests start from it too.
DEFAULT_WIDTH = 1024
DEFAULT_HEIGHT = 576
# How a picture is finished: "screen" is its style's own finish; the others name an e-paper panel's inks
# (shared/inks.py), drawn in with bold outlines and flat fills so that dithering has little to destroy.
Finish = Literal["screen", "spectra6", "acep7", "grey4", "bw"]
FINISHES: tuple[Finish, ...] = get_args(Finish)
# How much of the last picture an evolving one repaints: a little for a small change of scene, more for a larger
# one; a new topic is painted afresh (no `evolve` at all).
MIN_STRENGTH, MAX_STRENGTH = 0.3, 0.55


class Keyword(BaseModel):
    """A chosen word or phrase and how strongly it was chosen."""

    model_config = PART_CONFIG

    text: str = Field(max_length=100)
    score: float = Field(ge=0, description="higher is more central to the window")


MAX_SEQUENCE = 6  # an upload's scenes: a filmstrip of its recording, each about a minute of talk

class Evolve(BaseModel):
    """Paint over the room's last picture instead of afresh, so what stays in the scene stays on the wall."""

    model_config = PART_CONFIG

    image_id: MessageId = Field(description="the room's last picture, as the display's gallery serves it "
                                "(/images/{id}); when it cannot be had, the picture is painted afresh")
    strength: float = Field(ge=MIN_STRENGTH, le=MAX_STRENGTH,
                            description="how much of it is repainted (img2img strength)")


class ImagePrompt(Envelope):
    """A scene description for the generator, traceable to the transcripts it came from."""

    KIND: ClassVar[str] = "prompt"

    text: str = Field(min_length=1, max_length=1000)
    keywords: tuple[Keyword, ...] = Field((), max_length=MAX_KEYWORDS)
    style: str = Field("watercolor", max_length=64)
    mood: str = Field("neutral", max_length=64)
    transcript_ids: tuple[MessageId, ...] = Field((), max_length=MAX_SOURCE_TRANSCRIPTS)
    excerpt: str = Field("", max_length=MAX_EXCERPT_CHARS,
                         description="the transcript lines behind the keywords, for provenance")
    num_images: int = Field(1, ge=1, le=8)
    width: int = Field(DEFAULT_WIDTH, ge=64, le=4096)
    height: int = Field(DEFAULT_HEIGHT, ge=64, le=4096)
    seed: int = Field(0, ge=0, lt=2**64)
    language: Language = Field(DEFAULT_LANGUAGE, description="what the keywords were said in (most of them); `text` "
                               "is English whatever it is, and a gloss of each keyword finds its picture")
    finish: Finish = Field("screen", description="screen, or the inks of the room's e-paper panel to draw in")
    scene: Scene | None = Field(None, description="the room's living scene this prompt paints (None: a slideshow "
                                "picture of the keywords alone)")
    evolve: Evolve | None = Field(None, description="paint over the room's last picture (a living scene that "
                                  "moved a little); None: paint afresh")
    sequence: tuple[Scene, ...] = Field((), max_length=MAX_SEQUENCE, description="an upload's scenes in the order "
                                        "of its recording: picture i paints sequence[i] (num_images is their count)")

    @model_validator(mode="after")
    def _a_picture_per_scene(self) -> Self:
        if self.sequence and self.num_images != len(self.sequence):
            raise ValueError(f"a sequence of {len(self.sequence)} scenes is painted as as many pictures, "
                             f"not {self.num_images}")
        return self
