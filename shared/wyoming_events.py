"""Wyoming events read from a peer we do not control (a satellite, a mic service, whatever answered mDNS).

The `wyoming` library's `read_event` trusts its peer: a header line is read however long it grows, the lengths
it names are read in full, and a header that is not a JSON object, or nests deep, raises errors a caller does
not expect. Here every part is bounded before it is read and checked before it is used, and anything wrong is a
`MalformedEvent` (a ValueError): that connection's error, never the reader's process's.
"""

from __future__ import annotations

from typing import Any, BinaryIO

from wyoming.event import Event

from shared.json_limits import is_whole_number, parse_json

MAX_HEADER_BYTES = 64 * 1024  # a header names a type and two lengths; real ones are ~100 bytes
MAX_DATA_BYTES = 1024 * 1024  # an `info` answer lists a satellite's models: a few kB
MAX_PAYLOAD_BYTES = 1024 * 1024  # an audio chunk: real ones are ~2-8 kB (1 s of 48 kHz 32-bit stereo is 384 kB)
RATES_HZ = (8000, 384000)  # what an input device may run at (the capture's --input-rate-hz bounds)
WIDTHS = (1, 2, 3, 4)  # bytes per sample that the audio converter reads
MAX_CHANNELS = 64


class MalformedEvent(ValueError):
    """The peer sent bytes that are not a Wyoming event we accept."""


def read_event(reader: BinaryIO) -> Event | None:
    """The next event, None once the peer closed the connection (also mid-event); MalformedEvent if it is not
    one. At most MAX_HEADER_BYTES + MAX_DATA_BYTES + MAX_PAYLOAD_BYTES are held for one event."""
    line = reader.readline(MAX_HEADER_BYTES + 1)
    if not line.endswith(b"\n"):
        if len(line) > MAX_HEADER_BYTES:
            raise MalformedEvent(f"a header line longer than {MAX_HEADER_BYTES} bytes")
        return None
    header = parse_json(line)
    if not isinstance(header, dict):
        raise MalformedEvent(f"a header that is a JSON {type(header).__name__}, not an object")
    event_type, data = header.get("type"), header.get("data") or {}
    if not isinstance(event_type, str) or not isinstance(data, dict):
        raise MalformedEvent("a header without a type string or with data that is not an object")
    data_length = _length(header, "data_length", MAX_DATA_BYTES)
    payload_length = _length(header, "payload_length", MAX_PAYLOAD_BYTES)
    if data_length:
        more = _read_exactly(reader, data_length)
        if more is None:
            return None
        extra = parse_json(more)
        if not isinstance(extra, dict):
            raise MalformedEvent(f"event data that is a JSON {type(extra).__name__}, not an object")
        data = {**data, **extra}
    payload = _read_exactly(reader, payload_length) if payload_length else b""
    if payload is None:
        return None
    return Event(type=event_type, data=data, payload=payload or None)


def audio_format(event: Event) -> tuple[int, int, int]:
    """An `audio-start`'s or `audio-chunk`'s (rate, width, channels), each in range, and a chunk's audio in
    whole frames; MalformedEvent otherwise."""
    rate, width, channels = (event.data.get(key) for key in ("rate", "width", "channels"))
    if not (is_whole_number(rate) and RATES_HZ[0] <= rate <= RATES_HZ[1]):
        raise MalformedEvent(f"{event.type}: rate {rate!r} is not a whole number of Hz in {RATES_HZ}")
    if not (is_whole_number(width) and width in WIDTHS):
        raise MalformedEvent(f"{event.type}: width {width!r} is not one of {WIDTHS} bytes")
    if not (is_whole_number(channels) and 1 <= channels <= MAX_CHANNELS):
        raise MalformedEvent(f"{event.type}: channels {channels!r} is not from 1 to {MAX_CHANNELS}")
    if event.payload and len(event.payload) % (width * channels):
        raise MalformedEvent(f"{event.type}: {len(event.payload)} bytes are not whole frames of "
                             f"{width} × {channels} bytes")
    return rate, width, channels


def _length(header: dict[str, Any], key: str, limit: int) -> int:
    value = header.get(key) or 0
    if not (is_whole_number(value) and 0 <= value <= limit):
        raise MalformedEvent(f"{key} {str(value)[:40]!r} is not a length from 0 to {limit} bytes")
    return int(value)


def _read_exactly(reader: BinaryIO, size: int) -> bytes | None:
    """`size` bytes (a buffered reader returns fewer only at the end of the stream), or None if it ended."""
    data = reader.read(size)
    return data if len(data) == size else None
