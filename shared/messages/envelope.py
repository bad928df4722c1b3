"""The envelope every Voxframe message shares, and how messages refuse what they do not understand."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

SCHEMA_MAJOR = 1
SCHEMA_VERSION = f"{SCHEMA_MAJOR}.0"

# Room and source names end up in routing keys (`<kind>.<room>.<source>`), so no dots or wildcards. The one
# statement of the rule: the display checks URLs with it and hands it to its page scripts.
NAME_CHARS = "A-Za-z0-9_-"
NAME_MAX = 64
NAME_PATTERN = f"^[{NAME_CHARS}]{{1,{NAME_MAX}}}$"
Name = Annotated[str, StringConstraints(pattern=NAME_PATTERN)]

# Every field of every message is bounded so that any message that validates fits the broker's
# max_message_size (16 MiB, as deploy/rabbitmq/rabbitmq.conf sets): what validates can always be published.
WIRE_LIMIT_BYTES = 16 * 1024 * 1024
ID_CHARS = 64  # a message id (uuid) named in another message
# A message id named in another message, as a type (for tuples of them); a single str field says
# `Field(max_length=N)` instead.
MessageId = Annotated[str, StringConstraints(max_length=ID_CHARS)]
# Every whole number is bounded too: Python's int has no end, but SQLite's INTEGER (the display's gallery) and every
# other store's is 64-bit, so a larger one validated and then failed every store as an OverflowError, a retried
# handler error. Int64 for a signed number, Count for a count or index; a field with tighter real bounds states them.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
Int64 = Annotated[int, Field(ge=INT64_MIN, le=INT64_MAX)]
Count = Annotated[int, Field(ge=0, le=INT64_MAX)]

# What every message and every part of one is: immutable, no unknown fields, and no NaN or ±inf anywhere. JSON has
# no such numbers (browsers, Starlette and the dashboard refuse them), and no stage of ours makes them: one that
# arrives from a broken or hostile peer is invalid (dead-lettered at once), not stored and served as a 500.
PART_CONFIG = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

E = TypeVar("E", bound="Envelope")

_ID_NAMESPACE = uuid.UUID("5b1f2f3e-6a43-4f0e-9d3c-7f1b0c6a9e21")


def utc_now() -> datetime:
    return datetime.now(UTC)


class Envelope(BaseModel):
    """Fields common to every message: identity, place, provenance and timing."""

    model_config = ConfigDict(**PART_CONFIG, ser_json_bytes="base64", val_json_bytes="base64")

    KIND: ClassVar[str] = "envelope"

    schema_version: str = Field(SCHEMA_VERSION, max_length=16, description="major.minor; a newer major is refused")
    id: uuid.UUID = Field(default_factory=uuid.uuid4, description="unique per message; duplicates are skipped")
    created_at: datetime = Field(default_factory=utc_now)
    room: Name = Field(description="the room whose frames show the result")
    source: Name = Field(description="which mic, upload or display produced it")
    trace_id: uuid.UUID = Field(default_factory=uuid.uuid4, description="same from speech to image")
    origin_at: datetime = Field(default_factory=utc_now, description="when the speech behind it ended")
    job_id: Name | None = Field(None, description="upload job this message belongs to, if any")

    @field_validator("schema_version")
    @classmethod
    def _known_major(cls, value: str) -> str:
        major, _, minor = value.partition(".")
        if not major.isdigit() or (minor and not minor.isdigit()):
            raise ValueError(f"schema_version {value!r} is not 'major.minor'")
        if int(major) != SCHEMA_MAJOR:
            raise ValueError(f"schema_version {value} has major {major}; this build reads {SCHEMA_MAJOR}.x only")
        return value

    @field_validator("created_at", "origin_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("timestamps must carry a timezone (UTC)")
        return value.astimezone(UTC)

    @property
    def routing_key(self) -> str:
        """`<kind>.<room>.<source>`; an upload job's messages get a `job.` prefix, so they go to queues of
        their own (no drops, no TTL) and never to the live ones."""
        key = f"{self.KIND}.{self.room}.{self.source}"
        return key if self.job_id is None else f"job.{key}"

    def derive(self, cls: type[E], key: str = "", **fields: object) -> E:
        """Build a message caused by this one: same room, source, trace, origin and job.

        The new id is derived from this id and `key`, so a redelivered input yields the same output id
        and idempotent consumers (the gallery, the prompter's window) drop the repeat.
        """
        inherited: dict[str, Any] = {
            "room": self.room,
            "source": self.source,
            "trace_id": self.trace_id,
            "origin_at": self.origin_at,
            "job_id": self.job_id,
            "id": self.derived_id(cls.KIND, key),
        }
        inherited.update(fields)
        return cls(**inherited)

    def derived_id(self, kind: str, key: str = "") -> uuid.UUID:
        """The id `derive` gives a message of `kind` made from this one with `key`: known before it is made (the
        prompter names the picture its last prompt became)."""
        return uuid.uuid5(_ID_NAMESPACE, f"{self.id}:{kind}:{key}")

    def payload(self) -> dict[str, Any]:
        """The fields this kind adds to the envelope: what a message says, apart from where it comes from, for
        deriving a new message of the same kind (`derive` supplies the envelope afresh)."""
        return self.model_dump(exclude=set(Envelope.model_fields))

    def to_json(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_json(cls, data: bytes | str) -> Self:
        return cls.model_validate_json(data)


def derived_id(*parts: object) -> uuid.UUID:
    """A stable id from several inputs (e.g. a prompt made of many transcripts)."""
    return uuid.uuid5(_ID_NAMESPACE, ":".join(str(p) for p in parts))
