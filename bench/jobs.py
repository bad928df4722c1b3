"""`make bench-jobs`: does a live room keep its latency while a long upload is being transcribed? (issue 14)

Real parts on the local RabbitMQ: one `voxframe transcriber` (tiny.en, default settings) and one `voxframe
display` (it takes the upload, cuts it and publishes the job's AudioSegments, and follows the job).
A live mic is played by this process: every ~4 s one live AudioSegment for room "living" (a real recording of
2-6 s from ../shared/audio/real, `end_at` = now, as capture publishes at speech end), and a tap on
`transcript.#` stamps each live Transcript's arrival. Measured per live segment: speech end (`end_at`) →
Transcript on the tap.

- Phase 1 (idle): IDLE_SEGMENTS live segments, no upload.
- Phase 2 (loaded): POST /api/uploads a 10-minute 16 kHz WAV of the real recordings joined with pauses of
  0.3-1.5 s (some shorter than the segmenter's 0.8 s end silence, so some job segments run long, as in real
  talk), then the same live feed until GET /api/uploads/{job} shows every line transcribed.

A tap on `job.transcript.#` records each job segment's engine call ([arrival - processing_seconds, arrival]), so
each loaded live segment says how long it waited behind a job call already in the engine at its speech end (the
bus serves live audio first but cannot preempt a call in progress), and how many job calls began while it waited
(none should: each is live audio overtaken by an upload). Target: p99 loaded <= 2 × p99 idle.
The machine is shared: the mean 1-minute load average of each phase is reported beside its numbers.
"""

from __future__ import annotations

import io
import os
import random
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pika
import requests
import soundfile

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._results import percentile, save_results
from shared.audio import SAMPLE_RATE_HZ, decode_audio
from shared.bus import Bus, Topology
from shared.config import BusSettings
from shared.messages import AudioSegment, EndReason, Transcript
from tests.e2e.harness import Pipeline
from tests.support import REAL_AUDIO, Broker, free_port

ROOM = "living"
UPLOAD_ROOM = "upload"
LIVE_EVERY_SECONDS = 4.0
IDLE_SEGMENTS = 40
UPLOAD_SECONDS = 600.0
TURN_CLIPS = (1, 6)  # recordings per speaker turn
GAP_SECONDS = (0.05, 0.3)  # between recordings within a turn (each has its own quiet edges too)
PAUSE_SECONDS = (1.0, 2.0)  # between turns
TARGET_RATIO = 2.0
JOB_TIMEOUT_SECONDS = 1500.0
SEED = 14


def live_clips() -> list[np.ndarray]:
    clips = [decode_audio(p) for p in sorted(REAL_AUDIO.glob("*.wav"))]
    return [c for c in clips if 2.0 <= len(c) / SAMPLE_RATE_HZ <= 6.0]


def upload_wav() -> bytes:
    """Ten minutes of talk: all the real recordings in a seeded random order, in turns of 1-6 of them joined by
    the short gaps of one speaker going on (merged into one segment of up to the segmenter's maximum, as a talk
    or meeting recording is), with the longer pauses between turns."""
    rng = random.Random(SEED)
    clips = [decode_audio(p) for p in sorted(REAL_AUDIO.glob("*.wav"))]
    total = int(UPLOAD_SECONDS * SAMPLE_RATE_HZ)
    pieces, length, left_in_turn = [], 0, 0
    while length < total:
        order = clips[:]
        rng.shuffle(order)
        for clip in order:
            if left_in_turn == 0:
                left_in_turn = rng.randint(*TURN_CLIPS)
            left_in_turn -= 1
            gap = rng.uniform(*(GAP_SECONDS if left_in_turn else PAUSE_SECONDS))
            pieces += [clip, np.zeros(int(gap * SAMPLE_RATE_HZ), dtype=np.int16)]
            length += len(pieces[-2]) + len(pieces[-1])
    out = io.BytesIO()
    soundfile.write(out, np.concatenate(pieces)[:total], SAMPLE_RATE_HZ, format="WAV", subtype="PCM_16")
    return out.getvalue()


class Tap:
    """A queue of ours bound to `transcript.#` and `job.transcript.#`; stamps each Transcript as it arrives."""

    def __init__(self, settings: BusSettings) -> None:
        self.settings = settings
        self.name = f"{settings.namespace}.tap.{uuid.uuid4().hex[:6]}"
        self.live: dict[str, tuple[float, Transcript]] = {}  # audio id → (arrival, transcript)
        self.job: list[tuple[float, Transcript]] = []
        self.ready = threading.Event()
        self.failed: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-tap", daemon=True)

    def start(self) -> None:
        self._thread.start()
        if not self.ready.wait(20):
            raise RuntimeError("the tap did not connect")

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        try:
            self._tap()
        except BaseException as exc:  # noqa: BLE001 (the run is void: reported by main)
            self.failed = exc

    def _tap(self) -> None:
        connection = pika.BlockingConnection(pika.URLParameters(self.settings.amqp_url))
        channel = connection.channel()
        exchange = Topology.from_settings(self.settings).exchange  # declared by the workers, already up
        channel.queue_declare(self.name, durable=True)
        for key in ("transcript.#", "job.transcript.#"):
            channel.queue_bind(self.name, exchange, routing_key=key)

        def on_message(ch: object, method: object, props: pika.BasicProperties, body: bytes) -> None:
            arrived = time.time()
            transcript = Transcript.from_json(body)
            if transcript.job_id is None:
                self.live[transcript.audio_id] = (arrived, transcript)
            else:
                self.job.append((arrived, transcript))

        channel.basic_consume(self.name, on_message, auto_ack=True)
        self.ready.set()
        while not self._stop.is_set():
            connection.process_data_events(time_limit=0.05)
        channel.queue_delete(self.name)
        connection.close()


class LiveMic:
    """Publishes one live segment every ~4 s; remembers each one's speech end."""

    def __init__(self, bus: Bus, clips: list[np.ndarray], rng: random.Random) -> None:
        self.bus, self.clips, self.rng = bus, clips, rng
        self.sent: list[tuple[str, float, float, str]] = []  # (audio id, end_at epoch, audio seconds, phase)
        self.load: dict[str, list[float]] = {}  # phase → the 1-minute load average at each segment
        self.sequence = 0

    def say(self, phase: str) -> None:
        clip = self.rng.choice(self.clips)
        end = datetime.now(UTC)
        seconds = len(clip) / SAMPLE_RATE_HZ
        segment = AudioSegment(room=ROOM, source="mic1", pcm=clip.astype("<i2").tobytes(),
                               sample_rate_hz=SAMPLE_RATE_HZ, channels=1, start_at=end - timedelta(seconds=seconds),
                               end_at=end, end_reason=EndReason.SILENCE, sequence=self.sequence, origin_at=end)
        self.sequence += 1
        self.bus.publish(segment, timeout=10)
        self.sent.append((str(segment.id), end.timestamp(), seconds, phase))
        self.load.setdefault(phase, []).append(os.getloadavg()[0])

    def run(self, phase: str, keep_going: Callable[[], bool], count: int | None = None) -> None:
        next_at = time.monotonic()
        sent = 0
        while keep_going() and (count is None or sent < count):
            self.say(phase)
            sent += 1
            next_at += LIVE_EVERY_SECONDS * self.rng.uniform(0.9, 1.1)
            time.sleep(max(0.0, next_at - time.monotonic()))


def stats(values: list[float]) -> dict[str, float | int]:
    return {"count": len(values), "p50_ms": round(percentile(values, 50), 1),
            "p95_ms": round(percentile(values, 95), 1), "p99_ms": round(percentile(values, 99), 1),
            "max_ms": round(max(values), 1) if values else float("nan")}


def main() -> int:
    settings = BusSettings(namespace=f"bench-jobs-{uuid.uuid4().hex[:6]}")
    tmp = Path(tempfile.mkdtemp(prefix="voxframe-bench-jobs-"))
    rng = random.Random(SEED)
    clips = live_clips()
    data = upload_wav()
    pipeline = Pipeline(settings.namespace, settings.amqp_url, tmp)
    port = free_port()
    pipeline.add("display", "display", "--host", "127.0.0.1", "--port", str(port), "--display-id", "bench",
                 http_port=port)
    pipeline.add("transcriber", "transcriber")
    base = f"http://127.0.0.1:{port}"
    bus = Bus("bench-live", settings)
    tap = Tap(settings)
    mic = LiveMic(bus, clips, rng)
    job: dict[str, object] = {}
    load_before = os.getloadavg()
    try:
        for worker in pipeline.workers.values():
            worker.start()
        for worker in pipeline.workers.values():
            worker.wait_healthy(120)
        bus.start()
        bus.wait_connected(10)
        tap.start()
        mic.say("warmup")  # the engine's first call is slower; not counted
        time.sleep(LIVE_EVERY_SECONDS)
        print(f"workers up; phase 1: {IDLE_SEGMENTS} live segments, no upload", flush=True)
        mic.run("idle", lambda: True, IDLE_SEGMENTS)
        time.sleep(LIVE_EVERY_SECONDS)
        print(f"phase 2: uploading {len(data) / 2**20:.1f} MB ({UPLOAD_SECONDS:.0f} s of speech)", flush=True)
        posted = time.time()
        accepted = requests.post(f"{base}/api/uploads", files={"audio": ("talk.wav", data)},
                                 data={"room": UPLOAD_ROOM}, timeout=120)
        accepted.raise_for_status()
        job_id = accepted.json()["job_id"]
        accepted_at = time.time()
        print(f"job {job_id}: {accepted.json()['segments']} segments, accepted after "
              f"{accepted_at - posted:.1f} s", flush=True)
        done = threading.Event()

        def follow() -> None:
            deadline = time.monotonic() + JOB_TIMEOUT_SECONDS
            last = -1
            while time.monotonic() < deadline:
                view = requests.get(f"{base}/api/uploads/{job_id}", timeout=10).json()
                if view["transcribed"] != last and view["transcribed"] % 25 == 0:
                    print(f"  job: {view['transcribed']}/{view['segments']} lines, {view['status']}", flush=True)
                last = view["transcribed"]
                if view["transcribed"] >= view["segments"] or view["status"] == "error":
                    job.update(view=view, finished_at=time.time())
                    break
                time.sleep(0.5)
            done.set()

        follower = threading.Thread(target=follow, daemon=True)
        follower.start()
        mic.run("loaded", lambda: not done.is_set())
        follower.join()
        time.sleep(LIVE_EVERY_SECONDS * 2)  # the last live segments' transcripts
    finally:
        load_after = os.getloadavg()
        tap.stop()
        bus.stop(10)
        pipeline.stop_all()
        cleanup = Broker(settings)
        t = cleanup.topology
        cleanup.extra_queues |= {t.job_audio.name, t.job_prompts.name, t.jobs.name, t.display("bench").name}
        cleanup.cleanup()

    if tap.failed is not None:
        raise SystemExit(f"the tap lost the broker ({tap.failed!r}): the run is void, nothing saved")
    view = job.get("view")
    if not isinstance(view, dict):
        raise SystemExit(f"the job did not finish in {JOB_TIMEOUT_SECONDS:.0f} s; logs in {tmp}")
    calls = sorted((arrived - t.processing_seconds, arrived, t) for arrived, t in tap.job)
    job_calls = [c[1] - c[0] for c in calls]
    job_audio = [c[2].audio_seconds for c in calls]
    phases: dict[str, list[float]] = {"idle": [], "loaded": []}
    waits_behind_job: list[float] = []
    passed_by: list[int] = []  # per loaded live segment: job calls started after its speech end, before it
    queued: dict[str, list[float]] = {"idle": [], "loaded": []}  # speech end → transcript, less the engine call
    engine_live: dict[str, list[float]] = {"idle": [], "loaded": []}
    lost: dict[str, int] = {"idle": 0, "loaded": 0}
    per_segment = []
    for audio_id, end_at, seconds, phase in mic.sent:
        if phase == "warmup":
            continue
        got = tap.live.get(audio_id)
        if got is None:
            lost[phase] += 1
            continue
        arrived, transcript = got
        latency = (arrived - end_at) * 1000
        phases[phase].append(latency)
        engine_live[phase].append(transcript.processing_seconds * 1000)
        queued[phase].append(latency - transcript.processing_seconds * 1000)
        behind = next((c for c in calls if c[0] <= end_at < c[1]), None)  # a job call in the engine at speech end
        left = (behind[1] - end_at) * 1000 if behind else 0.0
        started = arrived - transcript.processing_seconds
        overtaken = sum(1 for c in calls if end_at <= c[0] < started)  # job calls begun while this one waited
        if phase == "loaded":
            waits_behind_job.append(left)
            passed_by.append(overtaken)
        per_segment.append({"phase": phase, "audio_seconds": round(seconds, 2), "latency_ms": round(latency, 1),
                            "engine_ms": round(transcript.processing_seconds * 1000, 1),
                            "job_call_left_at_speech_end_ms": round(left, 1), "job_calls_begun_meanwhile": overtaken,
                            "job_segment_in_engine_s": round(behind[2].audio_seconds, 1) if behind else None})
    idle, loaded = stats(phases["idle"]), stats(phases["loaded"])
    load = {phase: round(sum(v) / len(v), 2) for phase, v in mic.load.items() if phase != "warmup"}
    ratio = round(loaded["p99_ms"] / idle["p99_ms"], 2)
    wall = job["finished_at"] - posted
    results = {
        "setup": {"engine": "faster-whisper tiny.en int8 (transcriber defaults)", "transcribers": 1,
                  "live_every_seconds": LIVE_EVERY_SECONDS, "live_clip_seconds": "2-6",
                  "upload_seconds": UPLOAD_SECONDS, "upload_turn_clips": list(TURN_CLIPS),
                  "upload_gaps_seconds": list(GAP_SECONDS),
                  "upload_pauses_seconds": list(PAUSE_SECONDS),
                  "upload_mb": round(len(data) / 2**20, 1), "cpus": os.cpu_count(),
                  "loadavg_before": [round(x, 2) for x in load_before],
                  "loadavg_after": [round(x, 2) for x in load_after]},
        "idle": {"speech_end_to_transcript": idle, "engine_ms": stats(engine_live["idle"]),
                 "not_in_engine_ms": stats(queued["idle"]), "mean_loadavg_1min": load["idle"], "lost": lost["idle"]},
        "loaded": {"speech_end_to_transcript": loaded, "engine_ms": stats(engine_live["loaded"]),
                   "not_in_engine_ms": stats(queued["loaded"]), "mean_loadavg_1min": load["loaded"],
                   "lost": lost["loaded"],
                   "job_call_in_engine_at_speech_end": sum(1 for w in waits_behind_job if w > 0),
                   "job_call_left_at_speech_end_ms": stats(waits_behind_job),
                   "live_segments_overtaken_by_a_job_call": sum(1 for n in passed_by if n),
                   "job_calls_begun_while_live_waited": sum(passed_by)},
        "upload": {"segments": view["segments"], "transcribed": view["transcribed"], "status": view["status"],
                   "accept_seconds": round(accepted_at - posted, 2), "wall_seconds": round(wall, 1),
                   "real_time_factor": round(wall / UPLOAD_SECONDS, 3),
                   "segment_audio_seconds": {"p50": round(percentile(job_audio, 50), 1),
                                             "p95": round(percentile(job_audio, 95), 1),
                                             "max": round(max(job_audio), 1) if job_audio else None},
                   "engine_call_ms": stats([c * 1000 for c in job_calls])},
        "p99_ratio_loaded_to_idle": ratio,
        "p95_ratio_loaded_to_idle": round(loaded["p95_ms"] / idle["p95_ms"], 2),
        "p50_ratio_loaded_to_idle": round(loaded["p50_ms"] / idle["p50_ms"], 2),
        "target_ratio": TARGET_RATIO,
        "meets_target": ratio <= TARGET_RATIO and not lost["idle"] and not lost["loaded"],
        "per_live_segment": per_segment,
    }
    save_results("jobs", results)
    print(f"live speech end → transcript p99: idle {idle['p99_ms']:.0f} ms, loaded {loaded['p99_ms']:.0f} ms, "
          f"ratio {ratio} (target <= {TARGET_RATIO}); upload {view['segments']} segments in {wall:.0f} s; "
          f"mean load {load['idle']} / {load['loaded']} on {os.cpu_count()} CPUs")
    return 0 if results["meets_target"] else 1


if __name__ == "__main__":
    sys.exit(main())
