"""Typed messages that travel between Voxframe's workers, one module per domain."""

from shared.messages.asr import Transcript, Word
from shared.messages.audio import AudioSegment, EndReason
from shared.messages.control import Command, Control
from shared.messages.envelope import SCHEMA_VERSION, Envelope, derived_id, utc_now
from shared.messages.heard import Heard
from shared.messages.image import GeneratedImage
from shared.messages.job import NOTHING_TO_PAINT, JobLine, JobProgress, JobStage, JobText, JobUnpainted
from shared.messages.prompt import ImagePrompt, Keyword
from shared.messages.spoken import SpokenAction, SpokenCommand
from shared.messages.status import MicStatus

MESSAGE_TYPES: dict[str, type[Envelope]] = {
    cls.KIND: cls for cls in (AudioSegment, Transcript, ImagePrompt, GeneratedImage, Control, MicStatus, Heard,
                             SpokenCommand, JobText, JobProgress, JobUnpainted)
}

__all__ = [
    "MESSAGE_TYPES",
    "NOTHING_TO_PAINT",
    "SCHEMA_VERSION",
    "AudioSegment",
    "Command",
    "Control",
    "EndReason",
    "Envelope",
    "GeneratedImage",
    "Heard",
    "ImagePrompt",
    "JobLine",
    "JobProgress",
    "JobStage",
    "JobText",
    "JobUnpainted",
    "Keyword",
    "MicStatus",
    "SpokenAction",
    "SpokenCommand",
    "Transcript",
    "Word",
    "derived_id",
    "utc_now",
]
