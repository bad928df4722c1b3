"""The illustrator against its targets: 1920×1080 p50 ≤ 300 ms and p99 ≤ 600 ms after warm-up on one core
(the poster measured in the same run for comparison), generator RSS with the embedding model ≤ 250 MB, and the
share of the prompter's keywords it depicts on the labelled living-room conversations (target ≥ 80 %).

Run with `make bench-illustrator`; results go to bench/results/illustrator.json. BENCH_RUNS (default 60).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._results import percentile, save_results
from bench.generator import one_core
from bench.prompts import DATA, Replay
from services.generator.engines import ImageBackend, ImageRequest
from services.generator.engines.illustrator import IllustratorBackend
from services.generator.engines.poster import PosterBackend
from services.prompter.engines.lexical import LexicalSelector

SCENES = (
    ("camping under the stars", ("tent", "campfire", "owl", "marshmallows", "stars", "forest")),
    ("a birthday party", ("birthday cake", "balloons", "presents", "candles", "grandmother")),
    ("a ski trip", ("skiing", "mountains", "snow", "hot chocolate", "snowman")),
    ("a day at the beach", ("beach", "waves", "shells", "sandcastle", "sunscreen", "crab")),
    ("the kids' robot", ("robot", "batteries", "lego", "kitchen", "dog")),
)
STYLES = ("watercolor", "oil painting", "neon", "pastel", "pencil sketch", "pop art", "cinematic", "storybook")
RSS_SCRIPT = """
import json, sys
from services.generator.engines import ImageRequest
from services.generator.engines.illustrator import IllustratorBackend
scenes, styles = json.loads(sys.argv[1])
backend = IllustratorBackend()
for i in range(80):
    text, keywords = scenes[i % len(scenes)]
    backend.generate(ImageRequest(text, tuple(keywords), styles[i % len(styles)], "cheerful", 1920, 1080, 1, i))
print(next(line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM:")))
"""


def requests(runs: int, offset: int) -> list[ImageRequest]:
    return [ImageRequest(SCENES[i % len(SCENES)][0], SCENES[i % len(SCENES)][1], STYLES[i % len(STYLES)],
                         "cheerful", 1920, 1080, 1, offset + i) for i in range(runs)]


def latency(backend: ImageBackend, runs: int) -> dict[str, float]:
    for request in requests(len(SCENES) * len(STYLES), 10_000):  # warm-up: every scene in every style once
        backend.generate(request)
    seconds, sizes = [], []
    for request in requests(runs, 0):
        started = time.perf_counter()
        [picture] = backend.generate(request)
        seconds.append(time.perf_counter() - started)
        sizes.append(len(picture.data))
    return {"runs": runs, "p50_ms": round(1000 * statistics.median(seconds), 1),
            "p99_ms": round(1000 * percentile(seconds, 99), 1), "max_ms": round(1000 * max(seconds), 1),
            "mean_kb": round(statistics.mean(sizes) / 1024, 1)}


def rss_mb() -> float:
    """Peak RSS (VmHWM: ru_maxrss would carry this process's own peak across fork and exec) of a fresh process
    that loads the illustrator (catalog, model, index) and paints 80 pictures, as the generator worker does."""
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-c", RSS_SCRIPT, json.dumps([SCENES, STYLES])], cwd=root, capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(root)})
    return round(int(out.stdout.split()[-1]) / 1024, 1)


def depicted_share(backend: IllustratorBackend) -> dict[str, object]:
    """Replay the labelled conversations through the real prompter; count the chosen keywords it can draw."""
    selector = LexicalSelector()
    chosen = drawn = 0
    per_conversation = {}
    for conversation in json.loads(DATA.read_text())["conversations"]:
        replay = Replay(selector, window_seconds=30)
        c_chosen = c_drawn = 0
        for window in conversation["windows"]:
            prompt, _ = replay.window(conversation["name"], window["lines"])
            if prompt is None:
                continue
            keywords = tuple(k.text for k in sorted(prompt.keywords, key=lambda k: -k.score))
            items = backend.depict(ImageRequest(prompt.text, keywords))
            shown = [k for k in keywords if backend.matcher.match(k) in {i.glyph for i in items}]
            c_chosen, c_drawn = c_chosen + len(keywords), c_drawn + len(shown)
            print(f"{conversation['name']:>20}: {', '.join(f'{k}→{backend.matcher.match(k).name}' if k in shown else f'({k})' for k in keywords)}")
        per_conversation[conversation["name"]] = round(100 * c_drawn / max(c_chosen, 1), 1)
        chosen, drawn = chosen + c_chosen, drawn + c_drawn
    return {"keywords": chosen, "depicted": drawn, "percent": round(100 * drawn / max(chosen, 1), 1),
            "per_conversation_percent": per_conversation}


def main() -> int:
    pinning = one_core()
    runs = int(os.environ.get("BENCH_RUNS", "60"))
    illustrator = IllustratorBackend()
    results = {"cpu": pinning, "illustrator_1920x1080": latency(illustrator, runs),
               "poster_1920x1080": latency(PosterBackend("JPEG"), runs), "rss_mb": rss_mb(),
               "speech_prompts": depicted_share(illustrator)}
    speed = results["illustrator_1920x1080"]
    results["targets_met"] = (speed["p50_ms"] <= 300 and speed["p99_ms"] <= 600 and results["rss_mb"] <= 250
                              and results["speech_prompts"]["percent"] >= 80)
    save_results("illustrator", results)
    return 0 if results["targets_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
