"""Turning an uploaded file into the AudioSegments of a job: checked by content, decoded, cut into the pieces
`voxframe transcribe` hears a recording in (shared/audio/pieces.py), each with its context.

Everything here runs before a job exists, so a rejected file leaves nothing behind; it is CPU work, so the
web layer runs it in a thread.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

import numpy as np

from shared.audio import (
    SAMPLE_RATE_HZ,
    AudioDecodeError,
    AudioTooLong,
    Piece,
    decode_audio,
    plan_pieces,
    segment_file,
)
from shared.messages import AudioSegment, EndReason, derived_id, utc_now

# Leading bytes of the containers people record speech in; anything else is refused before decoding.
_SIGNATURES: tuple[tuple[int, bytes, str], ...] = (
    (0, b"RIFF", "WAV"), (0, b"RF64", "WAV"), (0, b"fLaC", "FLAC"), (0, b"OggS", "Ogg"), (0, b"ID3", "MP3"),
    (4, b"ftyp", "MP4/M4A"), (0, b"\x1aE\xdf\xa3", "WebM/Matroska"), (0, b"FORM", "AIFF"), (0, b"#!AMR", "AMR"),
    (0, b"caff", "CAF"),
)


class UploadRejected(ValueError):
    """A file we will not process: `status` is the HTTP status, `outcome` the metric label."""

    def __init__(self, status: int, outcome: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.outcome = outcome


@dataclass(frozen=True)
class PreparedUpload:
    samples: np.ndarray
    pieces: list[Piece]  # one job segment each
    audio_seconds: float


def sniff(data: bytes) -> str | None:
    """The container named by the file's first bytes, or None if it is no audio format we know."""
    for offset, magic, name in _SIGNATURES:
        if data[offset:offset + len(magic)] == magic:
            return name
    if len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0:  # an MPEG audio frame without ID3 tag
        return "MP3"
    return None


def prepare(data: bytes, max_seconds: float) -> PreparedUpload:
    """Check, decode and segment an upload; raises UploadRejected with a message a person can act on."""
    if not data:
        raise UploadRejected(400, "empty", "the uploaded file is empty")
    kind = sniff(data)
    if kind is None:
        raise UploadRejected(415, "not_audio", "this file is not audio: expected WAV, FLAC, Ogg/Opus, MP3, "
                                               "M4A, WebM, AIFF, AMR or CAF content")
    try:
        samples = decode_audio(data, max_seconds=max_seconds)
    except AudioTooLong as exc:  # told by the header, or noticed while decoding: never decoded past the limit
        raise UploadRejected(413, "too_long", str(exc)) from exc
    except AudioDecodeError as exc:
        raise UploadRejected(415, "undecodable", f"the file looks like {kind} but cannot be decoded: {exc}") from exc
    seconds = len(samples) / SAMPLE_RATE_HZ
    segments = segment_file(samples)
    if not segments:
        raise UploadRejected(422, "no_speech", f"no speech was found in the {seconds:.1f} s of audio")
    return PreparedUpload(samples, plan_pieces(segments, len(samples)), seconds)


def job_segments(upload: PreparedUpload, job_id: str, room: str, language: str | None = None) -> list[AudioSegment]:
    """The job's messages, a piece each with its context (start_at/end_at: its own part): `source="upload"`,
    numbered 0..N-1, the last one ending the input, each asking for `language` (None: the transcriber's default)."""
    now, trace = utc_now(), uuid.uuid4()
    last = len(upload.pieces) - 1
    return [
        AudioSegment(
            id=derived_id(job_id, "audio", i), room=room, source="upload", job_id=job_id, trace_id=trace,
            origin_at=now, pcm=upload.samples[piece.begin:piece.end].astype("<i2", copy=False).tobytes(),
            sample_rate_hz=SAMPLE_RATE_HZ, channels=1, start_at=now + timedelta(seconds=piece.own_seconds[0]),
            end_at=now + timedelta(seconds=piece.own_seconds[1]), context_before_seconds=piece.context_before_seconds,
            context_after_seconds=piece.context_after_seconds,
            end_reason=EndReason.END_OF_INPUT if i == last else piece.end_reason, sequence=i, language=language,
        )
        for i, piece in enumerate(upload.pieces)
    ]
