"""A Home Assistant voice satellite or a Wyoming mic service, heard over TCP like any other mic.

A satellite (`wyoming-satellite`) streams only after `run-satellite` and then sends `audio-chunk`s without an
`audio-start`; a mic service sends `audio-start` and chunks on its own and drops the `run-satellite` it does not
know. Every chunk carries its rate, width and channels, so each is converted on its own terms to 16 kHz mono for
the segmenter. Events are read with `shared.wyoming_events`, bounded and checked: a broken or hostile peer costs
its own connection (capture reconnects with backoff), never the process.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Generator, Iterator
from typing import BinaryIO
from urllib.parse import urlsplit

import numpy as np
from wyoming.audio import AudioChunk, AudioChunkConverter, AudioStart
from wyoming.event import write_event
from wyoming.ping import Ping, Pong
from wyoming.satellite import RunSatellite

from services.capture.metrics import MALFORMED_EVENTS
from services.capture.sources import AudioBlock, SourceError
from shared.audio import StreamConverter
from shared.messages.status import MicKind
from shared.wyoming_events import audio_format, read_event

_LOGGER = logging.getLogger(__name__)

DEFAULT_PORT = 10700  # wyoming-satellite's
_CONNECT_SECONDS = 5.0


def parse_uri(uri: str) -> tuple[str, int]:
    """`tcp://HOST[:PORT]` (checked by the capture's settings) → (host, port)."""
    parts = urlsplit(uri)
    return parts.hostname or "", parts.port or DEFAULT_PORT


class WyomingSource:
    """Connects on each `blocks()` call; a refused, closed or silent connection raises SourceError, so
    capture reconnects with its backoff. `stall_seconds`: a satellite streams all the time, so this long
    without an event means it is gone (a host that vanished never closes the connection)."""

    kind: MicKind = "satellite"

    def __init__(self, uri: str, stall_seconds: float = 5.0) -> None:
        self.host, self.port = parse_uri(uri)
        self.stall_seconds = stall_seconds
        self.name = f"wyoming://{self.host}:{self.port}"

    def blocks(self) -> Generator[AudioBlock, None, None]:
        try:
            connection = socket.create_connection((self.host, self.port), timeout=_CONNECT_SECONDS)
        except OSError as exc:
            raise SourceError(f"cannot reach {self.name}: {exc}") from exc
        connection.settimeout(self.stall_seconds)
        with connection, connection.makefile("rb") as reader, connection.makefile("wb") as writer:
            try:
                write_event(RunSatellite().event(), writer)
                yield from self._audio(reader, writer)
            except OSError as exc:
                raise SourceError(f"{self.name}: {exc}") from exc
            except (KeyError, TypeError, ValueError) as exc:  # MalformedEvent above all
                MALFORMED_EVENTS.inc()
                raise SourceError(f"{self.name} sent a malformed event: {exc}") from exc

    def _audio(self, reader: BinaryIO, writer: BinaryIO) -> Iterator[AudioBlock]:
        to_16_bit = AudioChunkConverter(width=2)
        converter: StreamConverter | None = None
        streamed = False
        try:
            while (event := read_event(reader)) is not None:
                if Ping.is_type(event.type):
                    write_event(Pong(text=Ping.from_event(event).text).event(), writer)
                elif AudioStart.is_type(event.type):  # a mic service's new stream: fresh resampler state
                    rate, width, channels = audio_format(event)
                    _LOGGER.info("%s streams %d Hz, %d bit, %d channel(s)", self.name, rate, 8 * width, channels)
                    converter = None
                elif AudioChunk.is_type(event.type):
                    audio_format(event)
                    chunk = to_16_bit.convert(AudioChunk.from_event(event))
                    if converter is None or (converter.rate_hz, converter.channels) != (chunk.rate, chunk.channels):
                        converter = StreamConverter(chunk.rate, chunk.channels)
                    frames = np.frombuffer(chunk.audio, dtype="<i2").reshape(-1, chunk.channels)
                    streamed = True
                    yield AudioBlock(converter.convert(frames), time.time() - chunk.seconds)
        except TimeoutError:
            # A satellite that already serves a client keeps a second connection open and never answers it.
            busy = "" if streamed else (" (a satellite serves one client at a time: is Home Assistant or another "
                                        "Voxframe connected to it?)")
            raise SourceError(f"nothing from {self.name} for {self.stall_seconds:g} s{busy}") from None
        raise SourceError(f"{self.name} closed the connection")
