"""`make bench-prompts`: does the prompter pick what a person would say the conversation was about?

Replays the labelled living-room conversations in tests/data/conversations.json through the real handler
(the bus replaced by a recorder, the clock stepped 30 s per window), one room per conversation so novelty
carries over from window to window as it would live. Reports:
- topic recall: share of labelled topics named by the published prompt's keywords (a missing prompt
  misses them all);
- filtered-term slips: planted profanity and personal data found in any prompt's text, keywords or excerpt
  (target 0);
- quiet windows that correctly published nothing, and how long a window's selection takes.
Exits non-zero when a filtered term slips through or recall falls under --min-recall.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import uuid
from pathlib import Path

from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._results import percentile, save_results
from services.prompter.engines.lexical import LexicalSelector
from services.prompter.engines.vocabulary import singular
from services.prompter.handler import Policy, Prompter
from shared.messages import ImagePrompt, Transcript

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "conversations.json"


def words(phrase: str) -> list[str]:
    return [singular(w) for w in phrase.lower().replace("'", "").replace("-", " ").split()]


def names(keyword: str, variant: str) -> bool:
    """A keyword names a topic variant when it is the variant, contains it ("cherry tomatoes" ~ "tomato"),
    or is the variant's head word ("retriever" ~ "golden retriever")."""
    k, v = words(keyword), words(variant)
    if any(k[i:i + len(v)] == v for i in range(len(k) - len(v) + 1)):
        return True
    return k == v[-1:]


class Replay:
    """Feeds one conversation's windows to a Prompter and keeps what it published per window."""

    def __init__(self, selector: LexicalSelector, window_seconds: float) -> None:
        self.now = 0.0
        self.window_seconds = window_seconds
        self.published: list[ImagePrompt] = []
        self.prompter = Prompter(selector, self.published.append, lambda: lambda: None,
                                 Policy(window_seconds=window_seconds), clock=lambda: self.now)

    def window(self, room: str, lines: list[str]) -> tuple[ImagePrompt | None, float]:
        before = len(self.published)
        for text in lines:
            self.prompter.on_transcript(Transcript(room=room, source="bench", audio_id=str(uuid.uuid4()), text=text,
                                                   engine="bench", model="none", audio_seconds=3,
                                                   processing_seconds=0))
        self.now += self.window_seconds
        started = time.perf_counter()
        self.prompter.tick()
        elapsed = time.perf_counter() - started
        return (self.published[-1] if len(self.published) > before else None), elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DATA, help="labelled conversations (JSON)")
    parser.add_argument("--min-recall", type=float, default=0.8, help="fail under this topic recall")
    parser.add_argument("--verbose", action="store_true", help="print every window's keywords")
    args = parser.parse_args()

    conversations = json.loads(args.data.read_text())["conversations"]
    selector = LexicalSelector()
    selector.select(["Warm up the word tables with a dog on a beach."])  # the first call fills lazy caches
    topics = recalled = planted = slipped = quiet = quiet_ok = prompts = 0
    slips: list[str] = []
    seconds: list[float] = []
    windows = sum(len(c["windows"]) for c in conversations)
    with tqdm(total=windows, unit="window", desc="prompts") as bar:
        for conversation in conversations:
            replay = Replay(selector, window_seconds=30)
            for number, window in enumerate(conversation["windows"]):
                prompt, elapsed = replay.window(conversation["name"], window["lines"])
                seconds.append(elapsed)
                keywords = [k.text for k in prompt.keywords] if prompt else []
                prompts += prompt is not None
                if window.get("quiet"):
                    quiet += 1
                    quiet_ok += prompt is None
                hits = [any(names(k, v) for k in keywords for v in topic) for topic in window["topics"]]
                topics += len(hits)
                recalled += sum(hits)
                published = (f"{prompt.text} {prompt.excerpt} {' '.join(keywords)}" if prompt else "").lower()
                for term in window.get("forbidden", []):
                    planted += 1
                    if term.lower() in published:
                        slipped += 1
                        slips.append(f"{conversation['name']}#{number}: {term}")
                if args.verbose:
                    tqdm.write(f"{conversation['name']}#{number}: {keywords} hits={hits}")
                bar.update()

    recall = recalled / topics if topics else 0.0
    results = {
        "conversations": len(conversations),
        "windows": windows,
        "prompts_published": prompts,
        "topics_labelled": topics,
        "topic_recall": round(recall, 3),
        "filtered_terms_planted": planted,
        "filtered_terms_slipped": slipped,
        "slip_rate": round(slipped / planted, 4) if planted else 0.0,
        "slips": slips,
        "quiet_windows": quiet,
        "quiet_windows_skipped": quiet_ok,
        "window_ms_mean": round(1000 * statistics.fmean(seconds), 2),
        "window_ms_p95": round(1000 * percentile(seconds, 95), 2),
        "window_ms_max": round(1000 * max(seconds), 2),
        "targets": {"slip_rate": 0, "topic_recall_min": args.min_recall},
    }
    save_results("prompts", results)
    return 1 if slipped or recall < args.min_recall else 0


if __name__ == "__main__":
    sys.exit(main())
