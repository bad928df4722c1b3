"""The transcriber's own metrics (the bus counts what every stage shares: `shared.metrics`)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, Info

from shared.metrics import SECONDS_BUCKETS

# every engine (handler.py)
TRANSCRIPTION_SECONDS = Histogram("voxframe_transcriber_transcription_seconds",
                                  "Time the engine took for one segment", ["engine"], buckets=SECONDS_BUCKETS)
REAL_TIME_FACTOR = Histogram("voxframe_transcriber_real_time_factor",
                             "Engine seconds per second of audio (below 1 keeps up with one mic)", ["engine"],
                             buckets=(0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 5))
AUDIO_SECONDS = Counter("voxframe_transcriber_audio_seconds_total", "Seconds of audio transcribed", ["engine"])
SEGMENTS_WITHOUT_TEXT = Counter("voxframe_transcriber_segments_without_text_total",
                                "Segments in which the engine heard no words", ["engine"])
ENGINE_ERRORS = Counter("voxframe_transcriber_engine_errors_total", "Failed engine calls", ["engine", "reason"])
ENGINE_INFO = Info("voxframe_transcriber_engine", "The engine and model this replica loaded")

# the AssemblyAI streaming engine (engines/assemblyai.py)
SESSIONS_OPEN = Gauge("voxframe_transcriber_assemblyai_sessions_open", "AssemblyAI streaming sessions open now")
SESSIONS = Counter("voxframe_transcriber_assemblyai_sessions_total", "AssemblyAI streaming sessions opened")
RECONNECTS = Counter("voxframe_transcriber_assemblyai_reconnects_total",
                     "AssemblyAI sessions reopened after a drop", ["reason"])
