"""The shapes the JSON API and the websockets speak; the OpenAPI document is generated from them."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.messages import Command, JobStage, Word
from shared.messages.control import check_value
from shared.messages.envelope import NAME_MAX, NAME_PATTERN
from shared.messages.image import Layout
from shared.messages.scene import Scene

NAME = re.compile(NAME_PATTERN)  # rooms and mics: they end up in routing keys
ROOM_RULE = f"room names are 1-{NAME_MAX} letters, digits, '-' or '_'"  # what a refusal of one says



class View(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class KeywordView(View):
    text: str
    score: float


class WordView(View):
    text: str
    confidence: float = Field(description="the speech engine's confidence, 0-1: the dashboard dims unsure words")


class TranscriptView(View):
    id: str
    room: str
    source: str = Field(description="the mic (or 'upload') that heard it")
    job_id: str | None = None
    text: str
    sequence: int = 0
    created_at: datetime
    words: list[WordView] = Field([], description="live events only: each word with the engine's confidence")


class SpokenView(View):
    """A line the prompter took as a spoken command ("hey frame, paint …"), and what it did."""

    room: str
    transcript_id: str = Field(description="the transcript that was a command, not conversation")
    action: Literal["paint", "regenerate", "mute", "describe", "unrecognised"]
    subject: str = Field("", description="what was painted (paint only)")
    heard: str = Field("", description="the words after the wake phrase")
    created_at: datetime


class PromptView(View):
    id: str
    room: str
    job_id: str | None = None
    text: str
    keywords: list[KeywordView]
    style: str
    mood: str
    excerpt: str
    num_images: int
    transcript_ids: list[str]
    created_at: datetime


class ImageView(View):
    """One gallery picture with its provenance: image ← prompt ← keywords ← transcript lines ← mic."""

    id: str
    url: str
    room: str
    source: str = Field(description="the mic or upload the speech came from")
    job_id: str | None = None
    prompt_id: str
    prompt: str
    keywords: list[KeywordView]
    style: str
    excerpt: str = Field(description="the transcript lines behind the keywords")
    transcripts: list[TranscriptView] = Field(description="the transcripts the prompt was chosen from, if seen")
    backend: str
    fallback: bool
    depicted: list[str] = Field([], description="the keywords the picture shows (the illustrator says which)")
    regions: list[tuple[float, float, float, float]] = Field(
        [], description="where the depicted things are drawn: left, top, right, bottom as fractions of the picture")
    scene: Scene | None = Field(None, description="the room's living scene it was painted from (element ids, "
                                "weights, places, entered and left, setting, mood); null for a slideshow picture")
    layout: Layout | None = Field(None, description="a living scene as drawn: each element's box by id and its "
                                  "motion, the horizon, the setting's motion (stars, snow or rain, sea); null for "
                                  "any other picture")
    width: int
    height: int
    mime_type: str
    bytes: int
    generation_seconds: float
    origin_at: datetime = Field(description="when the speech behind it ended")
    created_at: datetime = Field(description="when the generator finished it")
    received_at: datetime = Field(description="when this display stored it")


class MicView(View):
    room: str
    mic: str
    device: str
    kind: str = Field(description="device, browser, satellite or file")
    level_dbfs: float
    speech_ratio: float
    muted: bool
    seen_at: datetime
    language: str | None = Field(None, description="what its segments ask for (None: the transcriber's own)")


class RoomView(View):
    room: str
    images: int
    last_image_at: datetime | None
    mics: list[MicView]
    language: str | None = Field(None, description="the room's set_language: auto or a code (None: never set, "
                                                   "so the transcriber's VOXFRAME_LANGUAGE)")


class JobLineView(View):
    """One line of an upload's transcript, where it sits in the file, and who spoke when the engine says."""

    sequence: int
    start_seconds: float
    end_seconds: float
    speaker: str | None = None
    text: str = ""
    transcribed: bool = Field(description="false while its segment waits for a transcriber")
    words: tuple[Word, ...] = Field((), exclude=True, description="its words, timed from its start (for captions)")


class JobView(View):
    job_id: str
    room: str
    filename: str
    status: JobStage
    engine: str = Field(description="'pipeline' (the transcribers) or 'assemblyai' (its pre-recorded API)")
    segments: int = Field(description="speech segments sent to the transcribers (speaker turns for AssemblyAI)")
    transcribed: int = Field(description="segments transcribed so far")
    num_images: int | None = Field(None, description="images the prompt asked for, once known")
    audio_seconds: float
    error: str | None = None
    note: str | None = Field(None, description="why a finished job has no picture (nothing picturable was said)")
    transcript: str = ""
    lines: list[JobLineView] = []
    images: list[ImageView] = []
    image_lines: dict[str, list[int]] = Field({}, description="image id → the line numbers its prompt was chosen from")
    created_at: datetime
    updated_at: datetime


class ControlRequest(View):
    """A dashboard command; becomes a `Control` message for the room."""

    command: Command
    mic: str | None = None
    value: str | float | int | None = None

    @model_validator(mode="after")
    def _value_accepted(self) -> ControlRequest:
        if self.value is not None:  # a missing one is refused by `Control` itself
            check_value(self.command, self.value)  # the prompter's ranges and presets: refused here, not there
        return self


class PairingRequest(View):
    """Pair a wall frame: what to call it and which room its link opens."""

    name: str = Field("frame", min_length=1, max_length=64)
    room: str = Field(pattern=NAME.pattern)


class PairingView(View):
    """A frame allowed to show captions. `link` (only in the answer that created it) is opened once on the frame."""

    id: str
    name: str
    room: str
    created_at: datetime
    paired_at: datetime | None = Field(None, description="when the frame opened its link; until then it is pending")
    seen_at: datetime | None = Field(None, description="when the frame last loaded its page")
    link: str | None = Field(None, description="one-time pairing link, valid for a few minutes")
    qr: str | None = Field(None, description="the link's full URL as a QR code (an SVG data: URI), for a tablet to "
                                             "scan; only in the answer that created it")
    link_expires_at: datetime | None = None
    kind: str | None = Field(None, description="an e-ink frame's panel (eink.md); until paired_at, it waits for "
                                               "approval")


class UploadAccepted(View):
    job_id: str
    segments: int
    audio_seconds: float


class ErrorView(View):
    error: str
