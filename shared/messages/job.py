"""What only upload jobs send: a finished job's whole transcript for the prompter, and notices of a job's progress.

A job's messages route as `job.<kind>.<room>.<source>` (see `Envelope.routing_key`), so uploads travel on
queues of their own and never meet the live queues' drop policies.
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar, Self

from pydantic import BaseModel, Field, model_validator

from shared.messages.asr import MAX_TEXT_CHARS, MAX_WORDS, Word
from shared.messages.envelope import ID_CHARS, PART_CONFIG, Envelope, Name
from shared.messages.language import DEFAULT_LANGUAGE, Language

MAX_JOB_LINES = 5000
MAX_JOB_TEXT_CHARS = 200_000  # about three hours of speech
MAX_JOB_WORDS = 20_000


class JobStage(StrEnum):
    """An upload job's life, in order; a job only moves forward, or to `error` with the reason."""

    QUEUED = "queued"  # accepted whole: every segment is on the job queue (or the file is with AssemblyAI)
    TRANSCRIBING = "transcribing"
    CHOOSING = "choosing"  # the whole transcript is with the prompter
    PAINTING = "painting"
    DONE = "done"
    ERROR = "error"


class JobLine(BaseModel):
    """One transcribed segment (or speaker turn) of an upload."""

    model_config = PART_CONFIG

    transcript_id: str = Field(max_length=ID_CHARS)
    text: str = Field(max_length=MAX_TEXT_CHARS)
    words: tuple[Word, ...] = Field((), max_length=MAX_WORDS)
    language: Language = Field(DEFAULT_LANGUAGE, description="what was spoken: its ISO 639 code, e.g. de")


class JobText(Envelope):
    """A job's transcript, sent once every segment is in: the prompter chooses from it at once and holds
    nothing, so no job message ever waits behind the command that would release it."""

    KIND: ClassVar[str] = "text"  # routed as job.text.<room>.<source>

    job_id: Name = Field(description="the upload job whose text this is")
    lines: tuple[JobLine, ...] = Field(min_length=1, max_length=MAX_JOB_LINES)

    @model_validator(mode="after")
    def _bounded_in_total(self) -> Self:
        chars = sum(len(line.text) for line in self.lines)
        words = sum(len(line.words) for line in self.lines)
        if chars > MAX_JOB_TEXT_CHARS or words > MAX_JOB_WORDS:
            raise ValueError(f"a job's text holds at most {MAX_JOB_TEXT_CHARS} characters and {MAX_JOB_WORDS} "
                             f"words, got {chars} and {words}")
        return self


NOTHING_TO_PAINT = "Nothing picturable was said: no word of the transcript names something to draw."


class JobUnpainted(Envelope):
    """The prompter's answer to a job's text in which nothing can be drawn, so the job ends `done` with its
    transcript and no picture, instead of waiting in `choosing` for an answer that never comes."""

    KIND: ClassVar[str] = "unpainted"  # routed as job.unpainted.<room>.<source>

    job_id: Name = Field(description="the upload job that has nothing to paint")
    reason: str = Field(max_length=200, description="why, as the prompter's selection says (for the logs)")


class JobProgress(Envelope):
    """A job moved on: every display reloads it from the shared database and tells its pages."""

    KIND: ClassVar[str] = "progress"  # routed as job.progress.<room>.<source>

    job_id: Name = Field(description="the upload job that moved on")
    stage: JobStage
