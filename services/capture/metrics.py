"""The capture's own metrics (the bus counts what every stage shares: `shared.metrics`)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

from shared.audio.outbox import OutboxCounters

# the input
DEVICE_UP = Gauge("voxframe_capture_device_up", "1 while audio arrives from the input")
REOPENS = Counter("voxframe_capture_device_reopens_total", "Times the input was reopened after it failed")
MALFORMED_EVENTS = Counter("voxframe_capture_malformed_events_total",
                           "Events a Wyoming peer sent that were refused (bad framing, sizes or audio format); "
                           "each closes that connection, which is reopened with backoff")
INPUT_OVERFLOWS = Counter("voxframe_capture_input_overflows_total",
                          "Audio blocks lost because the device or this process fell behind")

# the mic: level, speech and segments cut
LEVEL_DBFS = Gauge("voxframe_capture_input_level_dbfs", "RMS input level over the last status interval")
SPEECH_RATIO = Gauge("voxframe_capture_speech_ratio", "Share of the last status interval the VAD called speech")
MUTED = Gauge("voxframe_capture_muted", "1 while the mic is muted")
VAD_SECONDS = Counter("voxframe_capture_vad_seconds_total", "CPU time spent in voice activity detection")
SEGMENTS_CUT = Counter("voxframe_capture_segments_cut_total", "Speech segments cut from the input", ["end_reason"])

# segments on their way to the broker, counted by the shared outbox (`shared.audio.outbox`)
COUNTERS = OutboxCounters(
    published=Counter("voxframe_capture_segments_published_total", "Speech segments the broker confirmed"),
    published_seconds=Counter("voxframe_capture_audio_published_seconds_total", "Audio seconds the broker confirmed"),
    dropped=Counter("voxframe_capture_segments_dropped_total",
                    "Oldest segments dropped because the broker was away longer than the buffer holds"),
    arbitrated=Counter("voxframe_capture_segments_arbitrated_total",
                       "Segments left to another mic of the room that heard the same speech better", ["room"]),
)
