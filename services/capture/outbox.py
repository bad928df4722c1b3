"""The capture's segment metrics, counted by the shared outbox (`shared.audio.outbox`)."""

from __future__ import annotations

from prometheus_client import Counter

from shared.audio.outbox import OutboxCounters

COUNTERS = OutboxCounters(
    published=Counter("voxframe_capture_segments_published_total", "Speech segments the broker confirmed"),
    published_seconds=Counter("voxframe_capture_audio_published_seconds_total", "Audio seconds the broker confirmed"),
    dropped=Counter("voxframe_capture_segments_dropped_total",
                    "Oldest segments dropped because the broker was away longer than the buffer holds"),
    arbitrated=Counter("voxframe_capture_segments_arbitrated_total",
                       "Segments left to another mic of the room that heard the same speech better", ["room"]),
)
