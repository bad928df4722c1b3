"""A broken or hostile Wyoming peer costs its own connection, never the capture process: hostile bytes in the
real framing over real TCP, each refused as that source's error (logged, counted, reconnected with backoff),
memory bounded, and the mic heard again as soon as the peer behaves."""

from __future__ import annotations

import re
import socket
import time
from pathlib import Path

import pytest

from services.capture.sources import SourceError
from services.capture.sources.wyoming import WyomingSource
from shared.discovery import _identify
from shared.wyoming_events import MAX_HEADER_BYTES
from tests.capture.hostile_peer import HostilePeer, Script, frame, sends, silence
from tests.support import Broker, wait_for

FORMAT = {"rate": 16000, "width": 2, "channels": 1}
HOSTILE = {
    "a header that is a list": b"[1, 2, 3]\n",
    "a header that is a string": b'"audio-chunk"\n',
    "data that is not an object": frame({"type": "audio-chunk", "data": [1, 2]}),
    "deeply nested JSON": b'{"type": "audio-chunk", "data": {"x": ' + b"[" * 30_000 + b"]" * 30_000 + b"}}\n",
    "an absurd data_length": frame({"type": "audio-chunk", "data_length": 10**15}) + b"{}",
    "an absurd payload_length": frame({"type": "audio-chunk", "data": FORMAT, "payload_length": 10**15}) + b"\0" * 64,
    "a chunk that is not whole frames": frame({"type": "audio-chunk", "data": {**FORMAT, "channels": 2},
                                               "payload_length": 6}, payload=b"\0" * 6),
    "rate 0": frame({"type": "audio-chunk", "data": {**FORMAT, "rate": 0}, "payload_length": 4}, payload=b"\0" * 4),
    "rate 10^12": frame({"type": "audio-chunk", "data": {**FORMAT, "rate": 10**12}, "payload_length": 4},
                        payload=b"\0" * 4),
    "width 7": frame({"type": "audio-chunk", "data": {**FORMAT, "width": 7}, "payload_length": 14},
                     payload=b"\0" * 14),
    "0 channels": frame({"type": "audio-chunk", "data": {**FORMAT, "channels": 0}, "payload_length": 4},
                        payload=b"\0" * 4),
    "an audio-start with a rate that is text": frame({"type": "audio-start", "data": {**FORMAT, "rate": "fast"}}),
}
FLOOD_BYTES = 160 * 1024 * 1024


@pytest.mark.parametrize("name", HOSTILE)
def test_each_malformed_event_is_the_sources_error(name: str) -> None:
    peer = HostilePeer([sends(HOSTILE[name])])
    try:
        with pytest.raises(SourceError, match="malformed event"):
            next(WyomingSource(peer.uri, stall_seconds=5).blocks())
    finally:
        peer.close()


def test_a_header_line_without_end_is_refused_after_the_limit() -> None:
    peer = HostilePeer([sends(b"{" + b" " * (4 * MAX_HEADER_BYTES))])
    try:
        with pytest.raises(SourceError, match=f"header line longer than {MAX_HEADER_BYTES} bytes"):
            next(WyomingSource(peer.uri, stall_seconds=5).blocks())
    finally:
        peer.close()


def briefly() -> Script:
    """A peer behaving for a moment: a few chunks of silence, then it hangs up."""
    return lambda connection: connection.sendall(silence() * 3)


def streams(connection: socket.socket) -> None:
    """A peer behaving for good: real-time chunks until the other side hangs up."""
    try:
        while True:
            connection.sendall(silence())
            time.sleep(0.1)
    except OSError:
        pass


def _rss_kib(pid: int, field: str) -> int:
    text = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(rf"^{field}:\s+(\d+) kB", text, re.MULTILINE).group(1))  # type: ignore[union-attr]


def test_capture_outlives_a_hostile_peer_with_bounded_memory_and_hears_it_again(broker: Broker,
                                                                                start_capture) -> None:
    hostile: list[Script] = [script for data in HOSTILE.values() for script in (sends(data), briefly())]
    flood_at = 1 + len(hostile)
    peer = HostilePeer([briefly(), *hostile, sends(b"{" + b"x" * FLOOD_BYTES), streams])
    capture = start_capture("--room", "porch", "--mic", "sat", "--wyoming", peer.uri)
    pid = capture.process.pid
    try:
        wait_for(lambda: peer.connections >= flood_at or capture.process.poll() is not None, timeout=120,
                 interval=0.05, message="capture to reconnect through every hostile event")
        assert capture.process.poll() is None, capture.output()[-3000:]
        before_flood = _rss_kib(pid, "VmRSS")
        wait_for(lambda: peer.connections > flood_at or capture.process.poll() is not None, timeout=60,
                 message="capture to drop the flooding connection and reconnect")
        assert capture.process.poll() is None, capture.output()[-3000:]
        wait_for(lambda: capture.output().count("again") > len(HOSTILE) and capture.metric(
            "voxframe_capture_device_up") == 1, timeout=30, message="audio from the peer again")
        grew_mib = (_rss_kib(pid, "VmHWM") - before_flood) / 1024
        print(f"\npeak RSS {grew_mib:+.1f} MiB over the RSS before {FLOOD_BYTES >> 20} MiB without a newline; "
              f"{peer.connections} connections")
        assert grew_mib < 32
        assert capture.metric("voxframe_capture_malformed_events_total") == len(HOSTILE) + 1
        assert capture.process.poll() is None
    finally:
        peer.close()


@pytest.mark.parametrize("name", HOSTILE)
def test_discovery_asks_a_hostile_answerer_what_it_is_and_lists_nothing(name: str) -> None:
    """Anyone on the LAN can answer mDNS: `--discover` asks each what it is (`describe`), and a malformed answer
    leaves it off the list instead of ending `voxframe capture --discover`."""
    peer = HostilePeer([sends(HOSTILE[name])])
    try:
        assert _identify("hostile", peer.uri) is None
    finally:
        peer.close()
