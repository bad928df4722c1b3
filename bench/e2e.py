"""End-to-end latency of the whole pipeline on this machine with the offline defaults.

Real workers (capture replaying joined real recordings at real-time pace, faster-whisper tiny.en, prompter,
poster generator, display) on the local RabbitMQ. Measured:
- speech end → transcript published (the transcript's `created_at` minus its `origin_at`),
- prompt published → image event on a frame's websocket (wall clock at arrival minus the prompt's `created_at`),
- speech end → image on the frame (arrival minus the image's `origin_at`: includes the prompter's window).
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path

import websockets

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._results import percentile, save_results
from shared.bus import Bus
from shared.config import BusSettings
from shared.messages import ImagePrompt, Transcript
from tests.e2e.harness import Pipeline
from tests.e2e.test_pipeline import STREAM_A, STREAM_B, joined_recording
from tests.support import REAL_AUDIO, Broker, free_port

ROOM = "bench"
WINDOW_SECONDS = 10
RUN_SECONDS = 90


def main() -> None:
    settings = BusSettings(namespace=f"bench-e2e-{uuid.uuid4().hex[:6]}")
    tmp = Path(tempfile.mkdtemp(prefix="voxframe-bench-e2e-"))
    recording = joined_recording(REAL_AUDIO, STREAM_A + STREAM_B, tmp / "stream.wav")
    pipeline = Pipeline(settings.namespace, settings.amqp_url, tmp,
                        VOXFRAME_PROMPT_WINDOW_SECONDS=str(WINDOW_SECONDS), VOXFRAME_PROMPT_MIN_WORDS="3")
    port = free_port()
    pipeline.add("display", "display", "--host", "127.0.0.1", "--port", str(port), "--display-id", "bench",
                 http_port=port)
    for name in ("generator", "prompter", "transcriber"):
        pipeline.add(name, name)
    pipeline.add("capture", "capture", "--room", ROOM, "--mic", "mic1", "--file", str(recording), "--loop")

    transcript_ms: list[float] = []
    prompts: dict[str, datetime] = {}
    prompt_to_frame_ms: list[float] = []
    speech_to_frame_ms: list[float] = []

    watcher = Bus("bench-watch", settings)
    watch_queue = watcher.topology.display("bench-watch")

    def on_transcript(t: Transcript) -> None:
        transcript_ms.append((t.created_at - t.origin_at).total_seconds() * 1000)

    def on_prompt(p: ImagePrompt) -> None:
        prompts[str(p.id)] = p.created_at

    watcher.consume(watch_queue, {Transcript: on_transcript, ImagePrompt: on_prompt})

    async def frame() -> None:
        async with websockets.connect(f"ws://127.0.0.1:{port}/ws/frame/{ROOM}", max_size=None) as ws:
            deadline = time.monotonic() + RUN_SECONDS
            while time.monotonic() < deadline:
                try:
                    event = json.loads(await asyncio.wait_for(ws.recv(), deadline - time.monotonic()))
                except TimeoutError:
                    break
                arrived = time.time()
                if event["type"] != "image":
                    continue
                image = event["image"]
                made = prompts.get(image["prompt_id"])
                if made is not None:
                    prompt_to_frame_ms.append((arrived - made.timestamp()) * 1000)
                speech_to_frame_ms.append((arrived - datetime.fromisoformat(image["origin_at"]).timestamp()) * 1000)
                print(f"  image {len(speech_to_frame_ms)}: speech end → frame {speech_to_frame_ms[-1] / 1000:.1f} s",
                      flush=True)

    try:
        watcher.start()
        watcher.wait_connected(10)
        for name in ("display", "generator", "prompter", "transcriber"):
            pipeline.workers[name].start()
        for name in ("display", "generator", "prompter", "transcriber"):
            pipeline.workers[name].wait_healthy(90)
        print(f"pipeline up; replaying {recording.name} for {RUN_SECONDS} s with {WINDOW_SECONDS} s windows",
              flush=True)
        listener = threading.Thread(target=lambda: asyncio.run(frame()))
        listener.start()
        pipeline.workers["capture"].start()
        listener.join()
    finally:
        pipeline.stop_all()
        watcher.stop(10)
        cleanup = Broker(settings)
        cleanup.extra_queues |= {watch_queue.name, f"{settings.namespace}.display.bench"}
        cleanup.cleanup()

    def stats(values: list[float]) -> dict[str, float | int]:
        return {"count": len(values), "p50_ms": round(percentile(values, 50), 1),
                "p99_ms": round(percentile(values, 99), 1)}

    save_results("e2e", {
        "setup": {"window_seconds": WINDOW_SECONDS, "run_seconds": RUN_SECONDS, "engine": "faster-whisper tiny.en int8",
                  "generator": "poster"},
        "speech_end_to_transcript": stats(transcript_ms),
        "prompt_to_image_on_frame": stats(prompt_to_frame_ms),
        "speech_end_to_image_on_frame": stats(speech_to_frame_ms),
    })


if __name__ == "__main__":
    main()
