"""Display fan-out: N open frames on one room, images published on the real broker; how long until each frame
has been told of each image (websocket event), and until it also has the image's bytes (HTTP GET).

    make bench-display            # 200 frames, 30 images; target p99 ≤ 250 ms for the event
    .venv/bin/python bench/display.py --clients 500 --images 20

Runs the real `voxframe display` as a subprocess on a private namespace of the local RabbitMQ.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import numpy as np
import pika
import websockets
from PIL import Image
from tqdm import tqdm

ROOT = Path(__file__).resolve().parents[1]
from shared.bus import Bus
from shared.config import BusSettings
from shared.messages import GeneratedImage, Keyword

ROOM = "bench-room"
TARGET_P99_MS = 250.0


def picture(index: int) -> bytes:
    """A 1024×576 JPEG of about the size a generator sends."""
    rng = np.random.default_rng(index)
    pixels = (rng.random((576 // 8, 1024 // 8, 3)) * 255).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).resize((1024, 576), Image.BICUBIC).save(out, "JPEG", quality=85)
    return out.getvalue()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Frames:
    """The simulated frames: one websocket each; on every image event, note the time and fetch the bytes."""

    def __init__(self, url: str, count: int, fetch: bool) -> None:
        self.url = url
        self.count = count
        self.fetch = fetch
        self.notified: dict[str, list[float]] = {}
        self.fetched: dict[str, list[float]] = {}
        self.ready = 0

    async def run_one(self, http: httpx.AsyncClient, stop: asyncio.Event) -> None:
        async with websockets.connect(f"{self.url.replace('http', 'ws')}/ws/frame/{ROOM}", max_size=None,
                                      compression=None, open_timeout=60) as ws:
            await ws.recv()  # hello
            self.ready += 1
            fetches: set[asyncio.Task[None]] = set()
            while not stop.is_set():
                try:
                    raw = await asyncio.wait_for(ws.recv(), 0.5)
                except TimeoutError:
                    continue
                arrived = time.perf_counter()
                event = json.loads(raw)
                if event["type"] != "image":
                    continue
                image_id = event["image"]["id"]
                self.notified.setdefault(image_id, []).append(arrived)
                if self.fetch:  # as a browser would, without holding up the next event
                    fetches.add(task := asyncio.create_task(self._download(http, image_id, event["image"]["url"])))
                    task.add_done_callback(fetches.discard)

    async def _download(self, http: httpx.AsyncClient, image_id: str, path: str) -> None:
        response = await http.get(f"{self.url}{path}")
        response.raise_for_status()
        self.fetched.setdefault(image_id, []).append(time.perf_counter())


def percentiles(values_ms: list[float]) -> dict[str, float]:
    a = np.array(values_ms)
    return {"p50_ms": round(float(np.percentile(a, 50)), 2), "p90_ms": round(float(np.percentile(a, 90)), 2),
            "p99_ms": round(float(np.percentile(a, 99)), 2), "max_ms": round(float(a.max()), 2),
            "samples": len(values_ms)}


async def phase(clients: int, count: int, interval: float, fetch: bool, url: str, bus: Bus) -> dict[str, object]:
    """Open `clients` frames, publish `count` images `interval` s apart, and time every delivery."""
    frames = Frames(url, clients, fetch=fetch)
    stop = asyncio.Event()
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(limits=limits, timeout=30) as http:
        tasks = [asyncio.create_task(frames.run_one(http, stop)) for _ in range(clients)]
        started = time.monotonic()
        while frames.ready < clients:
            if time.monotonic() - started > 60:
                raise SystemExit(f"only {frames.ready} of {clients} frames connected in 60 s")
            await asyncio.sleep(0.05)
        print(f"{clients} frames connected in {time.monotonic() - started:.1f} s; "
              f"{count} images, {interval} s apart{', each fetched by every frame' if fetch else ''}")
        published: dict[str, float] = {}
        payloads = [picture(i) for i in range(count)]
        for i in tqdm(range(count), desc="images", unit="img"):
            image = GeneratedImage(room=ROOM, source="bench", image=payloads[i], mime_type="image/jpeg", width=1024,
                                   height=576, backend="bench", prompt_id=str(uuid.uuid4()),
                                   prompt_text=f"benchmark picture {i}", keywords=(Keyword(text="bench", score=1),),
                                   generation_seconds=0.0)
            published[str(image.id)] = time.perf_counter()
            await asyncio.to_thread(bus.publish, image, timeout=10)
            await asyncio.sleep(interval)
        deadline = time.monotonic() + 30
        wanted = clients * count
        while time.monotonic() < deadline and (
                sum(map(len, frames.notified.values())) < wanted
                or (frames.fetch and sum(map(len, frames.fetched.values())) < wanted)):
            await asyncio.sleep(0.1)
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
    notified = [(t - published[i]) * 1000 for i, times in frames.notified.items() if i in published for t in times]
    fetched = [(t - published[i]) * 1000 for i, times in frames.fetched.items() if i in published for t in times]
    return {
        "clients": clients, "images": count, "interval_s": interval, "image_bytes": len(payloads[0]),
        "deliveries_expected": wanted, "deliveries_received": len(notified),
        "event_latency": percentiles(notified) if notified else None,
        **({"event_plus_image_bytes_latency": percentiles(fetched) if fetched else None,
            "downloads_received": len(fetched)} if fetch else {}),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=200, help="open frames (websockets) on one room")
    parser.add_argument("--images", type=int, default=30, help="images to publish in the event phase")
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between images in the event phase")
    parser.add_argument("--fetch-images", type=int, default=8,
                        help="images in the download phase, where every frame also fetches each image (0: skip)")
    parser.add_argument("--fetch-interval", type=float, default=4.0, help="seconds between images when fetching")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "display.json", help="JSON result")
    args = parser.parse_args()

    settings = BusSettings(namespace=f"vfbench-{uuid.uuid4().hex[:8]}")
    port, display_id = free_port(), f"bench{uuid.uuid4().hex[:6]}"
    data_dir = Path(tempfile.mkdtemp(prefix="voxframe-bench-display-"))
    env = {**os.environ, "VOXFRAME_NAMESPACE": settings.namespace, "VOXFRAME_AMQP_URL": settings.amqp_url,
           # every simulated frame comes from 127.0.0.1; real frames are one per device
           "VOXFRAME_DISPLAY_WS_MAX_PER_ADDRESS": str(args.clients + 10),
           "VOXFRAME_DISPLAY_WS_MAX_CLIENTS": str(max(1000, args.clients + 10))}
    server = subprocess.Popen([sys.executable, "-m", "shared.cli", "display", "--host", "127.0.0.1", "--port",
                               str(port), "--display-id", display_id, "--data-dir", str(data_dir)],
                              cwd=ROOT, env=env)
    bus = Bus("bench", settings)
    try:
        bus.start()
        bus.wait_connected(30)
        url = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        result: dict[str, object] = {"events": asyncio.run(phase(args.clients, args.images, args.interval, False,
                                                                  url, bus))}
        if args.fetch_images:
            result["events_and_downloads"] = asyncio.run(phase(args.clients, args.fetch_images, args.fetch_interval,
                                                               True, url, bus))
    finally:
        bus.stop(10)
        server.terminate()
        server.wait(20)
        _cleanup(settings, display_id)
        shutil.rmtree(data_dir, ignore_errors=True)
    result.update({"target_event_p99_ms": TARGET_P99_MS, "cpus": os.cpu_count(), "python": platform.python_version(),
                   "when": time.strftime("%Y-%m-%dT%H:%M:%S")})
    events = result["events"]
    latency = events["event_latency"] or {}
    result["meets_target"] = bool(latency) and latency["p99_ms"] <= TARGET_P99_MS \
        and events["deliveries_received"] == events["deliveries_expected"]
    print(json.dumps(result, indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"saved {args.out}")
    return 0 if result["meets_target"] else 1


def _cleanup(settings: BusSettings, display_id: str) -> None:
    bus = Bus("cleanup", settings)
    t = bus.topology
    channel = pika.BlockingConnection(pika.URLParameters(settings.amqp_url)).channel()
    for queue in (t.dead.name, t.dropped.name, t.audio.name, t.prompter.name, t.prompts.name,
                  t.display(display_id).name):
        channel.queue_delete(queue)
    for exchange in (t.exchange, t.dead_letter_exchange):
        channel.exchange_delete(exchange)
    channel.connection.close()


if __name__ == "__main__":
    sys.exit(main())
