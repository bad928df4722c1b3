"""Images/s and latency per backend available here: the poster on one core at frame sizes, the two HTTP
backends against a local gpu-server, the poster fallback when the backend is down, and the tiny diffusers
pipeline when torch is installed (a randomly initialised test model: it times the plumbing, not a real model).
Then the peak memory of one 4096² poster and illustration, each in a fresh process, beside that process's peak
after a 256² one.

Run with `make bench-generator`; results go to bench/results/generator.json.
"""

from __future__ import annotations

import logging
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

from bench._results import percentile, save_results
from services.generator.engines import ImageBackend, ImageRequest
from services.generator.engines.dalle_playground import DallePlaygroundBackend
from services.generator.engines.fallback import ResilientBackend
from services.generator.engines.openai_images import OpenAIImagesBackend
from services.generator.engines.poster import PosterBackend
from services.generator.gpu_server import GenerationQueue, create_app
from tests.generator.picture_memory import ENGINES, peak_mib
from tests.generator.servers import closed_port_url, serve_app

PROMPT = "grandmother's apple pie in a sunny kitchen, watercolor"
KEYWORDS = ("apple pie", "grandmother", "kitchen", "sunday", "cinnamon")


def measure(name: str, backend: ImageBackend, width: int, height: int, runs: int, style: str = "watercolor",
            warmup: int = 1) -> tuple[str, dict[str, object]]:
    """Time `runs` single-image prompts, each with its own seed (so the composition varies, as in real use)."""
    def request(seed: int) -> ImageRequest:
        return ImageRequest(PROMPT, KEYWORDS, style, "happy", width, height, 1, seed)

    for seed in range(warmup):
        backend.generate(request(10_000 + seed))
    latencies, sizes = [], []
    for seed in tqdm(range(runs), desc=f"{name} {width}x{height}", unit="img", leave=False):
        started = time.perf_counter()
        [picture] = backend.generate(request(seed))
        latencies.append(time.perf_counter() - started)
        sizes.append(len(picture.data))
    result = {
        "backend": name, "size": f"{width}x{height}", "runs": runs,
        "images_per_second": round(runs / sum(latencies), 2),
        "p50_ms": round(1000 * statistics.median(latencies), 1),
        "p95_ms": round(1000 * percentile(latencies, 95), 1),
        "max_ms": round(1000 * max(latencies), 1),
        "mean_kb": round(statistics.mean(sizes) / 1024, 1),
    }
    print(f"{name:<34} {result['size']:>10}  {result['images_per_second']:>6} img/s  p50 {result['p50_ms']:>7} ms"
          f"  p95 {result['p95_ms']:>7} ms  max {result['max_ms']:>7} ms  {result['mean_kb']:>7} KB", flush=True)
    key = "".join(c if c.isalnum() else "_" for c in f"{name} {width}x{height}").strip("_")
    return "_".join(part for part in key.split("_") if part), result


def one_core() -> str:
    """The poster's target is per core: pin this process to one CPU so numpy and zlib cannot spread out."""
    if hasattr(os, "sched_setaffinity"):
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        return f"pinned to CPU {cpu}"
    return "not pinned (no sched_setaffinity)"


def run(runs: int) -> list[tuple[str, dict[str, object]]]:
    results = []
    for image_format in ("JPEG", "PNG"):
        poster = PosterBackend(image_format)
        for width, height in ((1920, 1080), (1024, 576)):
            results.append(measure(f"poster ({image_format.lower()})", poster, width, height, runs))
    results.append(measure("poster (jpeg, 4K)", PosterBackend("JPEG"), 3840, 2160, max(3, runs // 4)))

    queue = GenerationQueue(lambda: PosterBackend("PNG"))
    with serve_app(create_app(queue, model_name="poster")) as url:
        _wait(lambda: queue.status == "ready")
        results.append(measure("dalle-playground → gpu-server", DallePlaygroundBackend(url), 1024, 576, runs))
        results.append(measure("openai → gpu-server", OpenAIImagesBackend(url + "/v1", "poster"), 1024, 576, runs))

    down = ResilientBackend(DallePlaygroundBackend(closed_port_url(), connect_timeout_seconds=1), "dalle-playground",
                            PosterBackend("JPEG"), attempts=1)
    results.append(measure("fallback (backend down → poster)", down, 1920, 1080, runs))
    results.extend(_diffusers(max(3, runs // 4)))
    return results


def _diffusers(runs: int) -> list[tuple[str, dict[str, object]]]:
    try:
        from services.generator.engines.diffusion import DiffusersBackend
        from tests.generator.tiny_diffusion import save_tiny_pipeline
    except ImportError as exc:
        print(f"diffusers: skipped ({exc})")
        return []
    with tempfile.TemporaryDirectory() as directory:
        started = time.perf_counter()
        backend = DiffusersBackend(str(save_tiny_pipeline(Path(directory))), device="cpu", steps=2)
        print(f"diffusers: tiny pipeline built and loaded in {time.perf_counter() - started:.1f} s")
        return [measure("diffusers (tiny random, 2 steps)", backend, size, size, runs) for size in (64, 256)]


def memory(side: int = 4096) -> dict[str, dict[str, float]]:
    """Peak RSS of a fresh process painting one `side`² picture, beside its peak after a small one (the baseline)."""
    results = {}
    for engine in ENGINES:
        before, peak = peak_mib(engine, side)
        results[f"{engine}_{side}"] = {"baseline_mib": round(before, 1), "peak_mib": round(peak, 1),
                                       "bytes_per_pixel": round((peak - before) * 2**20 / side**2, 1)}
        print(f"peak memory, {engine} {side}x{side}: {peak:.0f} MiB (baseline after 256x256: {before:.0f} MiB, "
              f"{results[f'{engine}_{side}']['bytes_per_pixel']} bytes a pixel more)", flush=True)
    return results


def _wait(condition: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("gpu-server did not get ready")
        time.sleep(0.05)


def main() -> None:
    logging.basicConfig(level=logging.ERROR)  # the fallback row would log every refused connection
    runs = int(os.environ.get("BENCH_RUNS", "20"))
    pinning = one_core()
    print(f"generator benchmark: {runs} runs per row, {pinning}", flush=True)
    save_results("generator", {"cpu": pinning, "results": dict(run(runs)), "memory": memory()})


if __name__ == "__main__":
    main()
