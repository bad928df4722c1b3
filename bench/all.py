"""`make bench`: run every benchmark in turn, then write a short Markdown summary of their JSON results."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
BENCHMARKS = ("bus", "capture", "arbitration", "stt", "prompts", "generator", "illustrator", "scenes", "ambient",
              "display", "eink", "uploads", "jobs", "e2e")


def flatten(value: object, prefix: str = "") -> dict[str, object]:
    """Leaf numbers and flags of a result, keyed by their dotted path (lists and machine info left out)."""
    if isinstance(value, dict):
        out: dict[str, object] = {}
        for key, item in value.items():
            if key not in ("machine", "at", "benchmark"):
                out.update(flatten(item, f"{prefix}{key}."))
        return out
    if isinstance(value, (int, float, bool)):
        return {prefix.rstrip("."): value}
    return {}


def main() -> int:
    failed = []
    for name in BENCHMARKS:
        print(f"\n=== bench {name} ===", flush=True)
        started = time.monotonic()
        code = subprocess.call([sys.executable, str(HERE / f"{name}.py")])
        print(f"=== bench {name}: exit {code} after {time.monotonic() - started:.0f} s", flush=True)
        if code:
            failed.append(name)
    lines = ["# Benchmark summary", ""]
    for name in BENCHMARKS:
        path = RESULTS / f"{name}.json"
        lines.append(f"## {name}")
        if name in failed or not path.exists():
            lines += ["", "failed or not run", ""]
            continue
        record = json.loads(path.read_text())
        lines += ["", f"run at {record.get('at', '?')}", "", "| measure | value |", "|---|---|"]
        lines += [f"| {key} | {value} |" for key, value in flatten(record).items()]
        lines.append("")
    (RESULTS / "SUMMARY.md").write_text("\n".join(lines))
    print(f"\nsummary: {RESULTS / 'SUMMARY.md'}" + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
