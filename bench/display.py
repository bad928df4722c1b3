"""Display fan-out: N open frames on one room, images published on the real broker; how long until each frame
has been told of each image (websocket event), and until it also has the image's bytes (HTTP GET).

For each frame count, three phases: frames that only listen (the notice), frames that fetch the full original
(what frames did before variants), and frames that fetch as `frame.js` does: `?w=` their screen's width in
device pixels, bucketed, with their browser's Accept (most take WebP). The pictures are the illustrator's
(the default generator), painted at 1920×1080 JPEG as a full-HD frame's generator would be set.

    make bench-display            # 50, 200 and 500 frames; targets at 200: notice p99 ≤ 250 ms, bytes p99 ≤ 1 s
    .venv/bin/python bench/display.py --clients 200 --images 20

Runs the real `voxframe display` as a subprocess on a private namespace of the local RabbitMQ.
"""

from __future__ import annotations

import argparse
import asyncio
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
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np
import pika
import websockets
from tqdm import tqdm

ROOT = Path(__file__).resolve().parents[1]
from services.display.gallery.variants import WIDTHS
from services.generator.engines import ImageRequest
from services.generator.engines.illustrator import IllustratorBackend
from shared.bus import Bus, Topology
from shared.bus.teardown import delete_namespace
from shared.config import BusSettings
from shared.messages import GeneratedImage, Keyword

ROOM = "bench-room"
TARGET_P99_MS = 250.0
TARGET_BYTES_P99_MS = 1000.0
TARGET_FRAMES = 200
SCENES = (("tent", "campfire", "owl", "stars"), ("birthday cake", "balloons", "presents"),
          ("skier", "mountains", "snowman"), ("beach", "sandcastle", "sun"), ("cat", "sofa", "books"))
# (CSS width, device pixel ratio) of wall screens: photo frames, tablets, phones, laptops, TVs, a 4K TV
SCREENS = ((1024, 1), (800, 2), (1920, 1), (390, 3), (1280, 1), (800, 1), (1920, 2), (1366, 1))
OLD_BROWSER_ACCEPT = "image/png,image/svg+xml,image/*;q=0.8,*/*;q=0.5"  # one frame in five reads no WebP
BROWSER_ACCEPT = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"


def picture(index: int, width: int, height: int) -> bytes:
    """The illustrator's JPEG of one of a few scenes, as the generator would send it."""
    request = ImageRequest("a scene", keywords=SCENES[index % len(SCENES)], width=width, height=height, seed=index)
    return IllustratorBackend().generate(request)[0].data


def ask(frame: int) -> tuple[str, str]:
    """The query and Accept header frame number `frame` sends, as frame.js does on its screen."""
    css, ratio = SCREENS[frame % len(SCREENS)]
    need = css * ratio
    width = next((w for w in WIDTHS if w >= need), WIDTHS[-1])
    return f"?w={width}", OLD_BROWSER_ACCEPT if frame % 5 == 4 else BROWSER_ACCEPT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Frames:
    """The simulated frames: a websocket and an HTTP connection each; on every image event, note the time and fetch
    the bytes."""

    def __init__(self, url: str, count: int, fetch: str) -> None:
        self.url = url
        self.count = count
        self.fetch = fetch  # "": listen only; "original": the full picture; "sized": as frame.js asks
        self.notified: dict[str, list[float]] = {}
        self.fetched: dict[str, list[float]] = {}
        self.bytes: list[int] = []
        self.retries = 0
        self.ready = 0

    async def run_one(self, stop: asyncio.Event, frame: int) -> None:
        """One frame: its own connection, as each real frame is its own browser (a shared pool of hundreds of
        connections in one client costs the bench more than the server)."""
        query, accept = ask(frame) if self.fetch == "sized" else ("", "*/*")
        async with httpx.AsyncClient(limits=httpx.Limits(max_connections=1), timeout=30) as http:
            await self._listen(http, stop, query, accept)

    async def _listen(self, http: httpx.AsyncClient, stop: asyncio.Event, query: str, accept: str) -> None:
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
                    url = f"{self.url}{event['image']['url']}{query}"
                    fetches.add(task := asyncio.create_task(self._download(http, image_id, url, accept)))
                    task.add_done_callback(fetches.discard)

    async def _download(self, http: httpx.AsyncClient, image_id: str, url: str, accept: str) -> None:
        try:
            response = await http.get(url, headers={"Accept": accept})
        except httpx.RemoteProtocolError:  # the server closed the idle connection as it was reused: a browser
            self.retries += 1              # sends the GET again on a new one
            response = await http.get(url, headers={"Accept": accept})
        response.raise_for_status()
        self.fetched.setdefault(image_id, []).append(time.perf_counter())
        self.bytes.append(len(response.content))


def percentiles(values_ms: list[float]) -> dict[str, float]:
    a = np.array(values_ms)
    return {"p50_ms": round(float(np.percentile(a, 50)), 2), "p90_ms": round(float(np.percentile(a, 90)), 2),
            "p99_ms": round(float(np.percentile(a, 99)), 2), "max_ms": round(float(a.max()), 2),
            "samples": len(values_ms)}


async def phase(clients: int, payloads: list[bytes], size: tuple[int, int], interval: float, fetch: str, url: str,
                bus: Bus) -> dict[str, object]:
    """Open `clients` frames, publish the images `interval` s apart, and time every delivery."""
    count = len(payloads)
    frames = Frames(url, clients, fetch=fetch)
    stop = asyncio.Event()
    tasks = [asyncio.create_task(frames.run_one(stop, i)) for i in range(clients)]
    started = time.monotonic()
    while frames.ready < clients:
        if time.monotonic() - started > 60:
            raise SystemExit(f"only {frames.ready} of {clients} frames connected in 60 s")
        await asyncio.sleep(0.05)
    print(f"{clients} frames connected in {time.monotonic() - started:.1f} s; "
          f"{count} images, {interval} s apart{f', each fetched by every frame ({fetch})' if fetch else ''}")
    published: dict[str, float] = {}
    for i in tqdm(range(count), desc="images", unit="img"):
        image = GeneratedImage(room=ROOM, source="bench", image=payloads[i], mime_type="image/jpeg", width=size[0],
                               height=size[1], backend="illustrator", prompt_id=str(uuid.uuid4()),
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
        "clients": clients, "images": count, "interval_s": interval, "original_bytes": len(payloads[0]),
        "deliveries_expected": wanted, "deliveries_received": len(notified),
        "event_latency": percentiles(notified) if notified else None,
        **({"event_plus_image_bytes_latency": percentiles(fetched) if fetched else None,
            "downloads_received": len(fetched), "stale_connection_retries": frames.retries,
            "mean_bytes_per_download": round(sum(frames.bytes) / len(frames.bytes)) if frames.bytes else 0}
           if fetch else {}),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", default="50,200,500", help="open frames (websockets) on one room, per run")
    parser.add_argument("--images", type=int, default=30, help="images to publish in the listen-only phase")
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between images when only listening")
    parser.add_argument("--fetch-images", type=int, default=8,
                        help="images in each download phase, where every frame also fetches each image (0: skip)")
    parser.add_argument("--fetch-interval", type=float, default=4.0, help="seconds between images when fetching")
    parser.add_argument("--size", default="1920x1080", help="the pictures' WIDTHxHEIGHT")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "display.json", help="JSON result")
    args = parser.parse_args()
    counts = [int(c) for c in args.clients.split(",")]
    size = tuple(int(n) for n in args.size.split("x"))
    payloads = [picture(i, *size) for i in range(max(args.images, args.fetch_images))]

    # every simulated frame comes from 127.0.0.1; real frames are one per device
    limits = {"VOXFRAME_DISPLAY_WS_MAX_PER_ADDRESS": str(max(counts) + 10),
              "VOXFRAME_DISPLAY_WS_MAX_CLIENTS": str(max(1000, max(counts) + 10))}
    result: dict[str, object] = {}
    with running_display("display", limits) as (url, bus):
        for clients in counts:
            run = {"events": asyncio.run(phase(clients, payloads[:args.images], size, args.interval, "", url, bus))}
            for fetch in ("original", "sized") if args.fetch_images else ():
                run[f"fetch_{fetch}"] = asyncio.run(phase(clients, payloads[:args.fetch_images], size,
                                                          args.fetch_interval, fetch, url, bus))
            result[f"frames_{clients}"] = run
    result.update({"target_event_p99_ms": TARGET_P99_MS, "target_bytes_p99_ms": TARGET_BYTES_P99_MS,
                   "picture": f"illustrator, {args.size} JPEG", "cpus": os.cpu_count(),
                   "python": platform.python_version(), "when": time.strftime("%Y-%m-%dT%H:%M:%S")})
    result["meets_target"] = meets_target(result.get(f"frames_{TARGET_FRAMES}"))
    print(json.dumps(result, indent=2))
    print(summary(result))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"saved {args.out}")
    return 0 if result["meets_target"] else 1


def meets_target(run: dict | None) -> bool:
    """At 200 frames: every notice in time while listening, and every frame's sized bytes within a second."""
    if run is None:
        return False
    events, sized = run["events"], run.get("fetch_sized")
    listening = bool(events["event_latency"]) and events["event_latency"]["p99_ms"] <= TARGET_P99_MS \
        and events["deliveries_received"] == events["deliveries_expected"]
    return listening and (sized is None or (sized["downloads_received"] == sized["deliveries_expected"]
                                            and sized["event_plus_image_bytes_latency"]["p99_ms"]
                                            <= TARGET_BYTES_P99_MS))


def summary(result: dict[str, object]) -> str:
    """One line per frame count and phase: notice and bytes p50/p99."""
    lines = ["frames  phase      notice p50/p99 ms   bytes p50/p99 ms   mean bytes"]
    for key, run in result.items():
        if not key.startswith("frames_"):
            continue
        for name, p in run.items():
            bytes_ = p.get("event_plus_image_bytes_latency") or {}
            lines.append(f"{p['clients']:>6}  {name.removeprefix('fetch_'):<9}  "
                         f"{p['event_latency']['p50_ms']:>8.0f} / {p['event_latency']['p99_ms']:<6.0f}   "
                         f"{bytes_.get('p50_ms', float('nan')):>7.0f} / {bytes_.get('p99_ms', float('nan')):<6.0f}   "
                         f"{p.get('mean_bytes_per_download', '')}")
    return "\n".join(lines)


@contextmanager
def running_display(name: str, env: dict[str, str] | None = None) -> Iterator[tuple[str, Bus]]:
    """The real `voxframe display` as a subprocess on a private namespace, healthy, and a started bus to publish
    on; yields (its URL, the bus), then stops both and deletes the namespace's queues and the display's data."""
    settings = BusSettings(namespace=f"vfbench-{uuid.uuid4().hex[:8]}")
    port, display_id = free_port(), f"bench{uuid.uuid4().hex[:6]}"
    data_dir = Path(tempfile.mkdtemp(prefix=f"voxframe-bench-{name}-"))
    env = {**os.environ, "VOXFRAME_NAMESPACE": settings.namespace, "VOXFRAME_AMQP_URL": settings.amqp_url,
           **(env or {})}
    server = subprocess.Popen([sys.executable, "-m", "shared.cli", "display", "--host", "127.0.0.1", "--port",
                               str(port), "--display-id", display_id, "--data-dir", str(data_dir)], cwd=ROOT, env=env)
    bus = Bus("bench", settings)
    url = f"http://127.0.0.1:{port}"
    try:
        bus.start()
        bus.wait_connected(30)
        deadline = time.monotonic() + 60
        while not _answers(f"{url}/healthz"):
            if time.monotonic() > deadline:
                raise RuntimeError("the display did not become healthy in 60 s")
            time.sleep(0.1)
        yield url, bus
    finally:
        bus.stop(10)
        server.terminate()
        server.wait(20)
        _cleanup(settings, display_id)
        shutil.rmtree(data_dir, ignore_errors=True)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _cleanup(settings: BusSettings, display_id: str) -> None:
    topology = Topology.from_settings(settings)
    connection = pika.BlockingConnection(pika.URLParameters(settings.amqp_url))
    delete_namespace(connection.channel(), topology, [topology.display(display_id).name])
    connection.close()


if __name__ == "__main__":
    sys.exit(main())
