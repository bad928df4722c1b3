"""The message contract: every type round-trips, and anything unknown or newer is refused with a reason."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta

import pytest
from pydantic import ValidationError

from shared.messages import (
    MESSAGE_TYPES,
    AudioSegment,
    Command,
    Control,
    Envelope,
    GeneratedImage,
    ImagePrompt,
    Keyword,
    MicStatus,
    Transcript,
    Word,
    utc_now,
)

NOW = utc_now()
SAMPLES: dict[str, Envelope] = {
    "audio": AudioSegment(room="living", source="mic1", pcm=b"\x01\x00" * 160, start_at=NOW,
                          end_at=NOW + timedelta(seconds=0.01), end_reason="silence", sequence=3),
    "transcript": Transcript(room="living", source="mic1", audio_id="a1", text="apple pie",
                             words=(Word(text="apple", start_seconds=0, end_seconds=0.3, confidence=0.9),),
                             engine="faster-whisper", model="tiny.en", audio_seconds=1.0, processing_seconds=0.1),
    "prompt": ImagePrompt(room="living", source="mic1", text="apple pie, watercolor",
                          keywords=(Keyword(text="apple pie", score=0.8),), transcript_ids=("t1",)),
    "image": GeneratedImage(room="living", source="mic1", image=b"\x89PNG\r\n\x1a\n", mime_type="image/png",
                            width=8, height=8, backend="poster", prompt_id="p1", prompt_text="apple pie",
                            generation_seconds=0.2),
    "control": Control(room="living", source="dashboard", command=Command.MUTE, mic="mic1"),
    "status": MicStatus(room="living", source="mic1", level_dbfs=-30.5, speech_ratio=0.4),
}


def test_every_message_type_has_a_sample() -> None:
    assert set(SAMPLES) == set(MESSAGE_TYPES)


@pytest.mark.parametrize("kind", sorted(MESSAGE_TYPES))
def test_round_trip_through_json(kind: str) -> None:
    message = SAMPLES[kind]
    decoded = MESSAGE_TYPES[kind].from_json(message.to_json())
    assert decoded == message
    assert message.routing_key == f"{kind}.{message.room}.{message.source}"


def test_bytes_travel_as_base64() -> None:
    data = json.loads(SAMPLES["audio"].to_json())
    assert base64.b64decode(data["pcm"], validate=True) == b"\x01\x00" * 160


def _with(kind: str, **changes: object) -> bytes:
    data = json.loads(SAMPLES[kind].to_json())
    data.update(changes)
    return json.dumps(data).encode()


def test_unknown_field_is_refused() -> None:
    with pytest.raises(ValidationError, match="extra"):
        Transcript.from_json(_with("transcript", colour="blue"))


def test_newer_major_schema_is_refused_with_reason() -> None:
    with pytest.raises(ValidationError, match="major 2"):
        Transcript.from_json(_with("transcript", schema_version="2.0"))


def test_newer_minor_schema_is_read() -> None:
    assert Transcript.from_json(_with("transcript", schema_version="1.7")).schema_version == "1.7"


def test_partial_pcm_frame_is_refused() -> None:
    with pytest.raises(ValidationError, match="whole number"):
        AudioSegment.from_json(_with("audio", pcm="AQAB"))


def test_naive_timestamp_is_refused() -> None:
    with pytest.raises(ValidationError, match="timezone"):
        ImagePrompt.from_json(_with("prompt", origin_at=datetime.now().isoformat()))


@pytest.mark.parametrize("room", ["a.b", "living#", "", "x" * 65, "*"])
def test_room_names_that_would_break_routing_are_refused(room: str) -> None:
    with pytest.raises(ValidationError):
        Control(room=room, source="dashboard", command=Command.PAINT_NOW)


def test_control_value_required_where_needed() -> None:
    with pytest.raises(ValidationError, match="needs a value"):
        Control(room="living", source="dashboard", command=Command.SET_STYLE)


def test_messages_are_immutable() -> None:
    with pytest.raises(ValidationError):
        SAMPLES["prompt"].text = "other"  # type: ignore[misc]


def test_derived_messages_keep_provenance_and_stable_ids() -> None:
    audio = SAMPLES["audio"]
    fields = {"audio_id": str(audio.id), "text": "hi", "engine": "e", "model": "m", "audio_seconds": 1,
              "processing_seconds": 0}
    first, again = audio.derive(Transcript, **fields), audio.derive(Transcript, **fields)
    assert first.id == again.id != audio.id
    assert (first.trace_id, first.origin_at, first.room, first.source) == (
        audio.trace_id, audio.origin_at, audio.room, audio.source)
    assert audio.derive(Transcript, key="other", **fields).id != first.id
