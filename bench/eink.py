"""E-ink frames: how long the real display takes to serve a room's picture dithered for a panel, 800×480 (Spectra 6
7.3") and 1600×1200 (Spectra 6 13.3"), made anew (uncached), from the variant cache (cached), and the 304 a
frame that has it gets. The picture is the illustrator's 1920×1080 JPEG, as the generator sends it.

Uncached: each request names a look not asked before (a saturation a hair different), so the display fits, tones,
dithers and encodes it; cached: the same URL again; 304: If-None-Match. One request at a time, over HTTP on
127.0.0.1, so each time is the whole serve as a frame waits for it. On a shared machine the wall time also counts
waiting for a core, so the render's CPU time in this process (what one core of its own takes) is measured too.

The e-paper finish (docs/services/eink.md) against the screen finish as the baseline, in this process: the
illustrator's CPU time to draw a 1920×1080 picture each way, and the render's CPU time for a picture drawn in the
panel's inks (mapped ink for ink) against a screen picture (dithered).

    make bench-eink            # BENCH_RUNS uncached per size (default 30), 5× as many cached and 304s

Runs the real `voxframe display` as a subprocess on a private namespace of the local RabbitMQ; results go to
bench/results/eink.json.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._results import percentile, save_results
from bench.display import SCENES, picture, running_display
from services.display.frames import eink
from services.generator.engines import ImageRequest
from services.generator.engines.illustrator import IllustratorBackend
from shared.messages import GeneratedImage

ROOT = Path(__file__).resolve().parents[1]
ROOM = "bench-eink"
KINDS = ("spectra6-800x480", "spectra6-1600x1200")


def timed(client: httpx.Client, url: str, expect: int, **headers: str) -> float:
    """Milliseconds for one GET, body read; fails loudly on another status."""
    started = time.perf_counter()
    response = client.get(url, headers=headers)
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != expect:
        raise RuntimeError(f"GET {url}: {response.status_code} {response.text[:200]}")
    return elapsed


def stats(values_ms: list[float]) -> dict[str, float]:
    return {"p50_ms": round(percentile(values_ms, 50), 1), "p99_ms": round(percentile(values_ms, 99), 1),
            "max_ms": round(max(values_ms), 1), "n": len(values_ms)}


def render_cpu(data: bytes, kind: str, runs: int) -> list[float]:
    """CPU milliseconds of one render (fit, tone, dither, PNG) in this process, a new look each time."""
    times = []
    for i in range(runs):
        started = time.process_time()
        eink.render(data, eink.PANELS[kind], eink.Look(saturation=1 + (i + 1) / 1000))
        times.append((time.process_time() - started) * 1000)
    return times


def measure(client: httpx.Client, base: str, kind: str, runs: int, data: bytes) -> dict[str, object]:
    url = f"{base}/eink/{ROOM}/{kind}.png"
    uncached = [timed(client, f"{url}?saturation={1 + (i + 1) / 1000:.3f}", 200) for i in range(runs)]
    first = client.get(url)
    cached = [timed(client, url, 200) for _ in range(runs * 5)]
    not_modified = [timed(client, url, 304, **{"If-None-Match": first.headers["etag"]}) for _ in range(runs * 5)]
    return {"uncached": stats(uncached), "cached": stats(cached), "not_modified_304": stats(not_modified),
            "render_cpu": stats(render_cpu(data, kind, runs)), "png_bytes": len(first.content)}


def cpu_ms(make: Callable[[], object], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.process_time()
        make()
        times.append((time.process_time() - started) * 1000)
    return times


def finishes(runs: int) -> dict[str, object]:
    """Screen (the baseline) and e-paper finish, Spectra 6: drawing 1920×1080 and serving it at 800×480 (CPU)."""
    backend, panel = IllustratorBackend(), eink.PANELS[KINDS[0]]
    wanted = ImageRequest("a scene", keywords=SCENES[0], width=1920, height=1080, seed=0)
    out: dict[str, object] = {}
    for finish in ("screen", panel.finish):
        request = dataclasses.replace(wanted, finish=finish)
        data = backend.generate(request)[0].data
        out[finish] = {"draw_cpu": stats(cpu_ms(functools.partial(backend.generate, request), runs)),
                       "render_cpu": stats(cpu_ms(functools.partial(eink.render, data, panel, eink.Look()), runs)),
                       "picture_bytes": len(data)}
    return out


def main() -> int:
    runs = int(os.environ.get("BENCH_RUNS", "30"))
    result: dict[str, object] = {"picture": "illustrator, 1920x1080 JPEG", "dither": "floyd-steinberg, measured inks",
                                 "runs_uncached": runs, "load_average_before": os.getloadavg()[0]}
    with running_display("eink") as (base, bus), httpx.Client(timeout=60) as client:
        data = picture(0, 1920, 1080)
        image = GeneratedImage(room=ROOM, source="bench", image=data, mime_type="image/jpeg",
                               width=1920, height=1080, backend="illustrator", prompt_id="bench",
                               prompt_text="a scene", generation_seconds=0.1)
        bus.publish(image)
        deadline = time.monotonic() + 30
        while client.get(f"{base}/eink/{ROOM}/{KINDS[0]}.png?dither=none").status_code != 200:
            if time.monotonic() > deadline:
                raise RuntimeError("the picture did not reach the display in 30 s")
            time.sleep(0.1)
        for kind in KINDS:
            result[kind] = measure(client, base, kind, runs, data)
    result["finish"] = finishes(max(5, runs // 3))
    save_results("eink", result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
