"""The frame's ambient motion in headless Chromium (issue 27): frames per second and CPU while a living scene's
picture hangs with its motion on, against the same picture with motion off (prefers-reduced-motion), measured
in the same run.

The pictures are the illustrator's own (a night campfire by the sea under the stars; a snowy hill), painted from
living scenes the real prompter rules make, and shown by the real `voxframe display` on a private namespace.
Chromium runs with `--disable-gpu` (software compositing, as on an old tablet without a usable GPU). Per
picture and setting, over BENCH_SECONDS (default 10): frames per second and the gap between frames (p95, from
requestAnimationFrame, counted after the CPU), and while the picture just hangs, the main thread's busy time
(CDP Performance metrics: tasks, script, style, layout) and the CPU time of all of Chromium's processes (from
/proc), each per second of wall time.

    make bench-ambient        # results in bench/results/ambient.json; targets: >= 50 fps, CPU <= 0.5 core
"""

from __future__ import annotations

import itertools
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._results import percentile, save_results
from bench.display import running_display
from services.generator.engines import ImageRequest
from services.generator.engines.illustrator import IllustratorBackend
from services.prompter.scene import update
from shared.messages import GeneratedImage
from shared.messages.scene import Scene

CHROMIUM = "/usr/bin/chromium"
SIZE = (1280, 720)
TARGETS = {"fps_min": 50.0, "chromium_cpu_max": 0.5}
SCENES = {
    "night-sea-campfire": ({"campfire": 1.0, "beach": 0.9, "stars": 0.8, "tent": 0.6},
                           ["A night on the beach by the campfire under the stars."]),
    "snowy-hill": ({"snowman": 1.0, "sled": 0.8, "tree": 0.6}, ["It is snowing on the hill, so cold!"]),
}
MEASURE = """async (seconds) => {
  const stamps = [];
  const end = performance.now() + seconds * 1000;
  await new Promise((done) => {
    const tick = (t) => { stamps.push(t); if (t < end) requestAnimationFrame(tick); else done(); };
    requestAnimationFrame(tick);
  });
  return stamps;
}"""


def picture(backend: IllustratorBackend, room: str, scene: Scene) -> GeneratedImage:
    keywords = tuple(e.keyword for e in scene.ranked())
    made = backend.generate(ImageRequest(" ".join(keywords), keywords, "watercolor", scene.mood, *SIZE, 1, 1,
                                         scene))[0]
    return GeneratedImage(room=room, source="bench", image=made.data, mime_type=made.mime_type, width=made.width,
                          height=made.height, backend=made.backend, prompt_id="bench", prompt_text=" ".join(keywords),
                          generation_seconds=0.1, depicted=made.depicted, regions=made.regions, scene=scene,
                          layout=made.layout)


def chromium_cpu_seconds() -> float:
    """User and system CPU time of every process below this one (Playwright's driver and Chromium)."""
    ticks = os.sysconf("SC_CLK_TCK")
    children: dict[int, list[int]] = {}
    stats: dict[int, list[str]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            stats[int(entry.name)] = fields
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    total, todo = 0.0, list(children.get(os.getpid(), []))
    while todo:
        pid = todo.pop()
        total += (int(stats[pid][11]) + int(stats[pid][12])) / ticks
        todo += children.get(pid, [])
    return total


def measure(browser, url: str, image: GeneratedImage, motion: bool, seconds: float) -> dict[str, float]:
    page = browser.new_page(viewport={"width": SIZE[0], "height": SIZE[1]},
                            reduced_motion="no-preference" if motion else "reduce")
    page.goto(f"{url}/frame/{image.room}?caption=off")
    page.wait_for_function("id => document.getElementById('stage').dataset.imageId === id", arg=str(image.id),
                           timeout=30_000)
    if motion:
        page.wait_for_selector("#ambient .ambience", timeout=30_000)
    else:
        page.wait_for_function("() => getComputedStyle(document.querySelector('.slide.shown')).opacity === '1'")
    cdp = page.context.new_cdp_session(page)
    cdp.send("Performance.enable")
    busy = ("TaskDuration", "ScriptDuration", "RecalcStyleDuration", "LayoutDuration")
    before = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    cpu, wall = chromium_cpu_seconds(), time.perf_counter()
    page.wait_for_timeout(seconds * 1000)  # the picture hangs: no script of ours runs meanwhile
    wall, cpu = time.perf_counter() - wall, chromium_cpu_seconds() - cpu
    after = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    stamps = page.evaluate(MEASURE, seconds)  # then the frame rate, counted by the page
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    result = {"fps": round((len(stamps) - 1) / ((stamps[-1] - stamps[0]) / 1000), 1),
              "frame_gap_p95_ms": round(percentile(gaps, 95), 1),
              "chromium_cpu": round(cpu / wall, 3),
              **{f"main_{name}": round((after[name] - before[name]) / wall, 4) for name in busy}}
    page.close()
    return result


def main() -> int:
    from playwright.sync_api import sync_playwright

    seconds = float(os.environ.get("BENCH_SECONDS", "10"))
    backend = IllustratorBackend("JPEG")
    results: dict[str, object] = {"viewport": list(SIZE), "seconds": seconds, "targets": TARGETS,
                                  "chromium": "headless, --disable-gpu (software compositing)"}
    passed = True
    with running_display("ambient") as (url, bus), sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM,
                                             args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        for name, (talked, lines) in SCENES.items():
            image = picture(backend, f"ambient-{name}", update(None, talked, lines, name))
            bus.publish(image)
            measured = {"layout": image.layout.model_dump(mode="json") if image.layout else None,
                        "motion_off": measure(browser, url, image, False, seconds),
                        "motion_on": measure(browser, url, image, True, seconds)}
            on = measured["motion_on"]
            passed &= on["fps"] >= TARGETS["fps_min"] and on["chromium_cpu"] <= TARGETS["chromium_cpu_max"]
            results[name] = measured
        browser.close()
    results["meets_targets"] = passed
    save_results("ambient", results)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
