"""The generator's own metrics, and the gpu-server's (the bus counts what every stage shares: `shared.metrics`)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from shared.metrics import SECONDS_BUCKETS

# prompts and images (handler.py)
IMAGES = Counter("voxframe_generator_images_total", "Images published", ["backend", "fallback"])
DROPPED = Counter("voxframe_generator_prompts_dropped_total", "Prompts not painted", ["reason"])
EVOLUTIONS = Counter("voxframe_generator_evolutions_total", "Prompts asking to be painted over the room's last "
                     "picture, by what became of it: evolved, not_found or unavailable (both painted afresh)",
                     ["outcome"])

# the backend's retries, breaker and fallback (engines/fallback.py)
GENERATION_SECONDS = Histogram("voxframe_generator_generation_seconds",
                               "Time one backend call took to paint a prompt's images, successful calls only",
                               ["backend"], buckets=SECONDS_BUCKETS)
FAILURES = Counter("voxframe_generator_failures_total", "Backend calls that failed", ["backend", "reason"])
RETRIES = Counter("voxframe_generator_retries_total", "Backend calls tried again after a retryable failure",
                  ["backend"])
FALLBACKS = Counter("voxframe_generator_fallbacks_total", "Prompts painted by the poster instead of the backend",
                    ["backend", "reason"])
CIRCUIT_OPEN = Gauge("voxframe_generator_circuit_open", "1 while the breaker keeps calls away from the backend",
                     ["backend"])

# `voxframe gpu-server` (gpu_server.py)
GPU_REQUESTS = Counter("voxframe_gpu_server_requests_total", "Generation requests answered", ["api", "status"])
GPU_IN_FLIGHT = Gauge("voxframe_gpu_server_requests_in_flight", "Requests generating or waiting to")
GPU_SECONDS = Histogram("voxframe_gpu_server_generation_seconds", "Time one request's generation took",
                        buckets=SECONDS_BUCKETS)
