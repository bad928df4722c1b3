"""The capture's own metrics (the bus counts what every stage shares: `shared.metrics`).

A capture process hears one mic, so its metrics carry that mic's `room` and `mic` as labels: `label_mic` at start
serves them so, and only then, since every worker's process imports this module (the CLI loads every subcommand)
and a transcriber must not export a capture's `voxframe_capture_device_up 0`, a dead mic to the alert rules.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from shared.audio.outbox import OutboxCounters

MIC_METRICS = CollectorRegistry(auto_describe=True)  # served by label_mic, with the mic's room and mic added

# the input
DEVICE_UP = Gauge("voxframe_capture_device_up", "1 while audio arrives from the input", registry=MIC_METRICS)
REOPENS = Counter("voxframe_capture_device_reopens_total", "Times the input was reopened after it failed",
                  registry=MIC_METRICS)
MALFORMED_EVENTS = Counter("voxframe_capture_malformed_events_total",
                           "Events a Wyoming peer sent that were refused (bad framing, sizes or audio format); "
                           "each closes that connection, which is reopened with backoff", registry=MIC_METRICS)
INPUT_OVERFLOWS = Counter("voxframe_capture_input_overflows_total",
                          "Audio blocks lost because the device or this process fell behind", registry=MIC_METRICS)

# the mic: level, speech and segments cut
LEVEL_DBFS = Gauge("voxframe_capture_input_level_dbfs", "RMS input level over the last status interval",
                   registry=MIC_METRICS)
SPEECH_RATIO = Gauge("voxframe_capture_speech_ratio", "Share of the last status interval the VAD called speech",
                     registry=MIC_METRICS)
MUTED = Gauge("voxframe_capture_muted", "1 while the mic is muted", registry=MIC_METRICS)
VAD_SECONDS = Counter("voxframe_capture_vad_seconds_total", "CPU time spent in voice activity detection",
                      registry=MIC_METRICS)
SEGMENTS_CUT = Counter("voxframe_capture_segments_cut_total", "Speech segments cut from the input", ["end_reason"],
                       registry=MIC_METRICS)

# segments on their way to the broker, counted by the shared outbox (`shared.audio.outbox`)
COUNTERS = OutboxCounters(
    published=Counter("voxframe_capture_segments_published_total", "Speech segments the broker confirmed",
                      registry=MIC_METRICS),
    published_seconds=Counter("voxframe_capture_audio_published_seconds_total", "Audio seconds the broker confirmed",
                              registry=MIC_METRICS),
    dropped=Counter("voxframe_capture_segments_dropped_total",
                    "Oldest segments dropped because the broker was away longer than the buffer holds",
                    registry=MIC_METRICS),
    arbitrated=Counter("voxframe_capture_segments_arbitrated_total",
                       "Segments left to another mic of the room that heard the same speech better", ["room"],
                       registry=MIC_METRICS),
)


class _MicLabels(Collector):
    """The capture metrics as the default registry serves them: each sample with this process's room and mic."""

    def __init__(self) -> None:
        self.labels: dict[str, str] = {}

    def collect(self) -> Iterator[Metric]:
        for family in MIC_METRICS.collect():
            labelled = Metric(family.name, family.documentation, family.type, family.unit)
            for sample in family.samples:
                labelled.add_sample(sample.name, {**self.labels, **sample.labels}, sample.value, sample.timestamp,
                                    sample.exemplar)
            yield labelled


_LABELS = _MicLabels()


def label_mic(room: str, mic: str) -> None:
    """Serve the capture metrics, each naming the mic this process hears (before serving /metrics)."""
    if not _LABELS.labels:
        REGISTRY.register(_LABELS)
    _LABELS.labels = {"room": room, "mic": mic}
