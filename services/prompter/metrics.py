"""Metrics of the prompter stage (the bus counts what every stage shares)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from shared.metrics import SECONDS_BUCKETS

WINDOWS_CLOSED = Counter("voxframe_prompter_windows_closed_total", "Windows closed", ["trigger"])
WINDOWS_SKIPPED = Counter("voxframe_prompter_windows_skipped_total", "Windows that published nothing", ["reason"])
PROMPTS = Counter("voxframe_prompter_prompts_published_total", "Image prompts published", ["trigger"])
WORDS_FILTERED = Counter("voxframe_prompter_words_filtered_total", "Words kept out of prompts", ["reason"])
ROOM_FAILURES = Counter("voxframe_prompter_room_failures_total",
                        "Times a room failed to close its window (the other rooms are served regardless)")
ROOMS = Gauge("voxframe_prompter_rooms", "Rooms whose settings and memory the prompter holds")
SPOKEN = Counter("voxframe_prompter_spoken_commands_total", "Lines that began with the wake phrase", ["action"])
SELECTION_SECONDS = Histogram("voxframe_prompter_selection_seconds", "Time to select a window's keywords",
                              buckets=SECONDS_BUCKETS)
