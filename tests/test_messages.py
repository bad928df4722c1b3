"""The message contract: every type round-trips, and anything unknown or newer is refused with a reason."""

from __future__ import annotations

import base64
import json
import re
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
    Heard,
    ImagePrompt,
    JobLine,
    JobProgress,
    JobStage,
    JobText,
    JobUnpainted,
    Keyword,
    MicStatus,
    SpokenAction,
    SpokenCommand,
    Transcript,
    Word,
    utc_now,
)
from shared.messages.language import language_code, language_list, room_language

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
    "heard": Heard(room="living", source="mic1", segment_id="a1", start_at=NOW, end_at=NOW + timedelta(seconds=1),
                   envelope_db=(-70, -30, -28), score=-20.5),
    "spoken": SpokenCommand(room="living", source="mic1", transcript_id="t1", action=SpokenAction.PAINT,
                            subject="a red dragon", heard="paint a red dragon"),
    "text": JobText(room="living", source="upload", job_id="j1",
                        lines=(JobLine(transcript_id="t1", text="apple pie",
                                       words=(Word(text="apple", start_seconds=0, end_seconds=0.3,
                                                   confidence=0.9),)),)),
    "progress": JobProgress(room="living", source="upload", job_id="j1", stage=JobStage.TRANSCRIBING),
    "unpainted": JobUnpainted(room="living", source="upload", job_id="j1", reason="nothing_usable"),
}


def test_every_message_type_has_a_sample() -> None:
    assert set(SAMPLES) == set(MESSAGE_TYPES)


@pytest.mark.parametrize("kind", sorted(MESSAGE_TYPES))
def test_round_trip_through_json(kind: str) -> None:
    message = SAMPLES[kind]
    decoded = MESSAGE_TYPES[kind].from_json(message.to_json())
    assert decoded == message
    prefix = "job." if message.job_id else ""
    assert message.routing_key == f"{prefix}{kind}.{message.room}.{message.source}"


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


def test_audio_without_context_fields_is_read_as_all_its_own_and_context_must_leave_some() -> None:
    data = json.loads(_with("audio"))
    del data["context_before_seconds"], data["context_after_seconds"]  # as a sender before the fields wrote it
    old = AudioSegment.from_json(json.dumps(data).encode())
    assert (old.context_before_seconds, old.context_after_seconds) == (0, 0)
    seconds = old.duration_seconds
    with pytest.raises(ValidationError, match="none of the audio its own"):
        AudioSegment.from_json(_with("audio", context_before_seconds=seconds / 2, context_after_seconds=seconds / 2))


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


def _unbounded(schema: dict, path: str, defs: dict) -> list[str]:
    """Paths of strings and arrays in a JSON schema that carry no upper bound, and of whole numbers that may
    leave 64 bits (signed, or unsigned like a seed)."""
    if "$ref" in schema:
        return _unbounded(defs[schema["$ref"].rsplit("/", 1)[-1]], path, defs)
    found = []
    for option in schema.get("anyOf", []):
        found += _unbounded(option, path, defs)
    bounded_pattern = re.fullmatch(r"\^.*\{\d+,\d+\}\$", schema.get("pattern", ""))
    if schema.get("type") == "string" and not ({"maxLength", "enum", "format", "const"} & set(schema)
                                                or bounded_pattern):
        found.append(path)
    if schema.get("type") == "integer":
        low = schema.get("minimum", schema.get("exclusiveMinimum", -(2**64) - 1) + 1)
        high = schema.get("maximum", schema.get("exclusiveMaximum", 2**64 + 1) - 1)
        if low < -(2**63) or high >= 2**64:
            found.append(path)
    if schema.get("type") == "array":
        if "maxItems" not in schema:
            found.append(path)
        found += _unbounded(schema.get("items", {}), path + "[]", defs)
    for name, sub in schema.get("properties", {}).items():
        found += _unbounded(sub, f"{path}.{name}", defs)
    return found


@pytest.mark.parametrize("kind", sorted(MESSAGE_TYPES))
def test_every_field_is_bounded(kind: str) -> None:
    """No string, byte string or list without an upper bound: a message that validates can always be published.
    No whole number past 64 bits: one that validates can always be stored (SQLite raised OverflowError)."""
    schema = MESSAGE_TYPES[kind].model_json_schema()
    unbounded = [p for p in _unbounded(schema, kind, schema.get("$defs", {})) if not p.endswith((".id", ".trace_id"))]
    assert unbounded == []
    pcm = MESSAGE_TYPES[kind].model_fields.get("pcm") or MESSAGE_TYPES[kind].model_fields.get("image")
    if pcm is not None:
        assert any(getattr(m, "max_length", None) for m in pcm.metadata), "bytes fields are bounded too"


def _worst_text(n: int) -> str:
    return "\x01" * n  # a control character: 6 bytes in JSON (\u0001), the most any character costs


def _largest() -> list[Envelope]:
    """One message of every type with every bounded field at its limit."""
    from shared.messages.asr import MAX_TEXT_CHARS, MAX_WORDS
    from shared.messages.audio import MAX_PCM_BYTES
    from shared.messages.envelope import INT64_MAX
    from shared.messages.heard import MAX_ENVELOPE_FRAMES
    from shared.messages.image import MAX_IMAGE_BYTES, MAX_IMAGE_SIDE
    from shared.messages.job import MAX_JOB_LINES, MAX_JOB_TEXT_CHARS, MAX_JOB_WORDS
    from shared.messages.prompt import MAX_EXCERPT_CHARS, MAX_KEYWORDS, MAX_SOURCE_TRANSCRIPTS, Evolve
    from shared.messages.spoken import MAX_HEARD_CHARS

    room = {"room": "r" * 64, "source": "s" * 64, "job_id": "j" * 64}
    keywords = tuple(Keyword(text=_worst_text(100), score=1e300) for _ in range(MAX_KEYWORDS))
    word = Word(text=_worst_text(64), start_seconds=1e300, end_seconds=1e300, confidence=0.123456789)
    return [
        AudioSegment(**room, pcm=b"\xff" * MAX_PCM_BYTES, start_at=NOW, end_at=NOW, end_reason="device_lost",
                     language="auto", sequence=INT64_MAX),
        Transcript(**room, audio_id=_worst_text(64), text=_worst_text(MAX_TEXT_CHARS), words=(word,) * MAX_WORDS,
                   language="yue", engine=_worst_text(64), model=_worst_text(128),
                   audio_seconds=1e300, processing_seconds=1e300, sequence=INT64_MAX),
        ImagePrompt(**room, text=_worst_text(1000), keywords=keywords, style=_worst_text(64), mood=_worst_text(64),
                    transcript_ids=(_worst_text(64),) * MAX_SOURCE_TRANSCRIPTS,
                    excerpt=_worst_text(MAX_EXCERPT_CHARS), seed=2**64 - 1,
                    evolve=Evolve(image_id=_worst_text(64), strength=0.55)),
        GeneratedImage(**room, image=b"\xff" * MAX_IMAGE_BYTES, mime_type="image/jpeg", width=MAX_IMAGE_SIDE,
                       height=MAX_IMAGE_SIDE, index=INT64_MAX,
                       backend=_worst_text(64), prompt_id=_worst_text(64), prompt_text=_worst_text(1000),
                       keywords=keywords, style=_worst_text(64), excerpt=_worst_text(MAX_EXCERPT_CHARS),
                       generation_seconds=1e300),
        Control(**room, command=Command.SET_STYLE, mic="m" * 64, value=_worst_text(256)),
        MicStatus(**room, level_dbfs=-1e300, speech_ratio=0.5, device=_worst_text(256)),
        Heard(**room, segment_id=_worst_text(64), start_at=NOW, end_at=NOW, envelope_db=(-70,) * MAX_ENVELOPE_FRAMES,
              score=-999.123456789),
        SpokenCommand(**room, transcript_id=_worst_text(64), action=SpokenAction.UNRECOGNISED,
                      subject=_worst_text(MAX_HEARD_CHARS), heard=_worst_text(MAX_HEARD_CHARS)),
        JobText(**room, lines=(JobLine(transcript_id=_worst_text(64),
                                       text=_worst_text(MAX_JOB_TEXT_CHARS // MAX_JOB_LINES),
                                       words=(word,) * (MAX_JOB_WORDS // MAX_JOB_LINES), language="yue"),)
                * MAX_JOB_LINES),
        JobProgress(**room, stage=JobStage.TRANSCRIBING),
        JobUnpainted(**room, reason=_worst_text(200)),
    ]


def test_the_largest_valid_message_of_every_type_fits_the_broker() -> None:
    from shared.messages.envelope import WIRE_LIMIT_BYTES

    largest = _largest()
    assert {m.KIND for m in largest} == set(MESSAGE_TYPES)
    sizes = {m.KIND: len(m.to_json()) for m in largest}
    assert all(size <= WIRE_LIMIT_BYTES for size in sizes.values()), sizes


@pytest.mark.parametrize("spoken", ["German", "DE", "de-AT", "d", "deut", "", "auto"])
def test_a_spoken_language_is_written_as_its_iso_code_and_nothing_else(spoken: str) -> None:
    """What travels is what the prompter and illustrator look up: a lower-case ISO 639 code; a tag is normalised
    by its sender (language_code), and `auto` is a room's wish, never what was heard."""
    with pytest.raises(ValidationError, match="language"):
        SAMPLES["transcript"].model_validate({**SAMPLES["transcript"].model_dump(), "language": spoken})
    with pytest.raises(ValidationError, match="language"):
        JobLine(transcript_id="t1", text="Apfelkuchen", language=spoken)


def test_a_segment_asks_for_a_language_or_auto_or_leaves_it_to_the_transcriber() -> None:
    audio = SAMPLES["audio"]
    assert audio.language is None
    for wish in ("de", "auto", "yue"):
        assert AudioSegment.from_json(audio.model_copy(update={"language": wish}).to_json()).language == wish
    with pytest.raises(ValidationError, match="language"):
        AudioSegment.model_validate({**audio.model_dump(), "language": "automatic"})


@pytest.mark.parametrize(("tag", "code"), [("de", "de"), ("DE", "de"), ("de-AT", "de"), ("en_us", "en"),
                                           (" fr-CA ", "fr"), ("yue", "yue"), ("zh-Hant-TW", "zh")])
def test_language_tags_are_read_as_their_primary_subtag(tag: str, code: str) -> None:
    assert language_code(tag) == code
    assert room_language(tag) == code


@pytest.mark.parametrize("bad", ["German", "d", "1de", "de--AT", "", "x" * 40, "de AT"])
def test_what_is_no_language_tag_is_refused_by_name(bad: str) -> None:
    with pytest.raises(ValueError, match="language code"):
        language_code(bad)
    assert room_language("Auto") == "auto"


def test_a_list_of_languages_is_read_code_by_code_in_order_once_each() -> None:
    """VOXFRAME_AUTO_LANGUAGES, read alike by the transcriber and the prompter."""
    assert language_list("de-AT, en,DE,, fr ") == "de,en,fr"
    with pytest.raises(ValueError, match="language code"):
        language_list("en,German")


def test_a_job_text_is_bounded_in_total_not_only_per_line() -> None:
    from shared.messages.job import MAX_JOB_TEXT_CHARS, MAX_JOB_WORDS

    line = JobLine(transcript_id="t", text="x" * 20_000)
    with pytest.raises(ValidationError, match="at most"):
        JobText(room="r", source="upload", job_id="j", lines=(line,) * (MAX_JOB_TEXT_CHARS // 20_000 + 1))
    word = Word(text="a", start_seconds=0, end_seconds=0, confidence=1)
    many = JobLine(transcript_id="t", text="a", words=(word,) * 8000)
    with pytest.raises(ValidationError, match="at most"):
        JobText(room="r", source="upload", job_id="j", lines=(many,) * (MAX_JOB_WORDS // 8000 + 1))


def test_job_messages_route_apart_from_live_ones() -> None:
    live, job = SAMPLES["audio"], SAMPLES["audio"].model_copy(update={"job_id": "j1"})
    assert live.routing_key == "audio.living.mic1" and job.routing_key == "job.audio.living.mic1"


def test_the_default_picture_size_is_written_once() -> None:
    """The prompter's policy, the prompt message and the generator's request all start from one default size."""
    from pathlib import Path

    from services.generator.engines import ImageRequest
    from services.prompter.policy import Policy
    from shared.messages.prompt import DEFAULT_HEIGHT, DEFAULT_WIDTH

    root = Path(__file__).resolve().parent.parent
    stating = [str(p.relative_to(root)) for folder in ("services", "shared") for p in (root / folder).rglob("*.py")
               if re.search(rf"\b{DEFAULT_HEIGHT}\b", p.read_text())]
    assert stating == ["shared/messages/prompt.py"]
    prompt = ImagePrompt(room="r", source="s", text="a lake")
    assert (Policy().width, Policy().height) == (ImageRequest(text="x").width, ImageRequest(text="x").height) \
        == (prompt.width, prompt.height) == (DEFAULT_WIDTH, DEFAULT_HEIGHT)


@pytest.mark.parametrize(("kind", "field", "value"), [
    ("image", "width", 2**62), ("image", "height", 16385), ("image", "index", 2**63), ("audio", "sequence", 2**63),
    ("transcript", "sequence", 2**63), ("image", "width", 0), ("transcript", "sequence", -1)])
def test_whole_numbers_past_their_bounds_are_refused(kind: str, field: str, value: int) -> None:
    """A sequence of 2^63 validated, then failed the display's SQLite as OverflowError: a handler error, retried and
    dead-lettered late instead of refused as invalid at once."""
    body = json.loads(SAMPLES[kind].to_json()) | {field: value}
    with pytest.raises(ValidationError, match=field):
        MESSAGE_TYPES[kind].model_validate_json(json.dumps(body))


def test_a_scenes_counts_past_64_bits_are_refused() -> None:
    from shared.messages.scene import Scene, SceneElement

    element = SceneElement(id="e1", keyword="lake", weight=0.5, x=0.5, entered=3)
    for bad in ({"window": 2**63}, {"topic": 2**63}, {"elements": [element.model_dump() | {"entered": 2**63}]},
                {"elements": [element.model_dump() | {"topic": 2**64}]}):
        with pytest.raises(ValidationError):
            Scene.model_validate_json(json.dumps(bad))
    assert Scene.model_validate_json(json.dumps({"window": 2**63 - 1, "elements": [element.model_dump()]})).window \
        == 2**63 - 1
