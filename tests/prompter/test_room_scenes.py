"""Choosing on talk as rooms have it (issue 24): several voices taking turns, some quieter or overlapping, things
said in passing, cut as a live mic cuts them and heard by the pipeline's engine. The scenes ship in the repo
(tests/topics.py), so this runs on a fresh clone; `make bench-prompts` reports the same sets and the real
recordings beside them.

The dev scenes are what the selector was tuned on; heldout to heldout5 were looked at after their first score
and are dev since; heldout6 was written before the last change and scored once after it. As written, dev and
heldout must reach the issue's bar (topic recall 0.85, keyword precision 0.9; `make bench-prompts` reports the
others, kept out of here for CI's time). As heard, every set holds the floor
this selector reached (recall 0.82 dev, 0.82 heldout, 0.63 heldout2, 0.52 heldout3; precision 0.94, 0.86, 0.72,
0.82): the issue's bar is not met on heard talk. A window's selection costs at most 100 ms of one core's CPU
with every cache cold.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from services.prompter.__main__ import load_selector
from services.prompter.engines import KeywordSelector
from services.prompter.engines.grammar import noun_like
from services.prompter.engines.lexical import LexicalSelector
from services.prompter.window import word_confidence
from services.transcriber.engines.models import BUILT_IN
from shared.messages import Transcript, Word
from tests.topics import fair, names, room_scenes

BAR = {"scenes-dev": (0.85, 0.9), "scenes-heldout": (0.85, 0.9),  # the (topic recall, keyword precision)
       "scenes-dev-heard": (0.8, 0.85), "scenes-heldout-heard": (0.8, 0.85),  # the floor reached on heard talk
       "scenes-heldout2-heard": (0.6, 0.7), "scenes-heldout3-heard": (0.5, 0.75)}
MAX_WINDOW_CPU_MS = 100
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def selector() -> KeywordSelector:
    return load_selector(4)  # the prompter's default: semantic where the model is installed, as the service runs


def heard(line: dict) -> dict[str, float]:
    """A heard line's word confidences, read as the prompter reads a transcript's."""
    transcript = Transcript(room="scene", source="test", audio_id=str(uuid.uuid4()), text=line["text"],
                            words=tuple(Word(**w) for w in line.get("words", ())), engine="test", model="none",
                            audio_seconds=3, processing_seconds=0)
    return word_confidence(transcript)


def chosen(selector: KeywordSelector, window: dict) -> list[str]:
    lines = window["lines"]
    return [c.text for c in selector.select([line["text"] for line in lines], None, [heard(x) for x in lines]).keywords]


@pytest.mark.parametrize("split", BAR)
def test_a_room_of_voices_gets_its_topics_and_little_else(selector: KeywordSelector, split: str) -> None:
    topics = found = kept = precise = 0
    misses = []
    for conversation in room_scenes()[split]:
        for number, window in enumerate(conversation["windows"]):
            keywords = chosen(selector, window)
            hits = [any(names(k, v) for k in keywords for v in topic) for topic in window["topics"]]
            topics, found = topics + len(hits), found + sum(hits)
            kept, precise = kept + len(keywords), precise + sum(fair(k, window) for k in keywords)
            if not all(hits) or not all(fair(k, window) for k in keywords):
                misses.append(f"{conversation['name']}#{number}: {keywords}")
    recall, precision = found / topics, precise / kept
    min_recall, min_precision = BAR[split]
    assert recall >= min_recall and precision >= min_precision, (recall, precision, misses)


@pytest.mark.parametrize("model", BUILT_IN)
def test_no_one_is_painted_in_any_scene(model: str) -> None:
    """The people each scene names (who speak, who are spoken of) are never chosen, in any split, as written or as
    heard by either built-in model: "Lily must have loved that", "The Beatles, ABBA, all sorts" included. Names are
    taken out before any scoring, so what the lexical selector (fast: no embeddings) never chooses, the semantic one
    never does."""
    selector = LexicalSelector(4)
    painted = []
    for split, conversations in room_scenes(model).items():
        for conversation in conversations:
            for number, window in enumerate(conversation["windows"]):
                keywords = " ".join(chosen(selector, window)).lower()
                painted += [f"{split} {conversation['name']}#{number}: {name}" for name in window["names"]
                            if name.lower() in keywords]
    assert painted == []


def window_cpu_ms(repeats: int = 2) -> list[float]:
    """CPU milliseconds the default selector takes per scene window, every cache emptied first (phrase vectors,
    tagged clauses), as if every word of the window were new."""
    selector = load_selector(4)
    windows = [w for split in ("scenes-dev-heard", "scenes-heldout-heard") for c in room_scenes()[split]
               for w in c["windows"]]
    costs = []
    for window in windows * repeats:
        getattr(selector, "_cache", {}).clear()
        noun_like.cache_clear()
        started = time.thread_time()
        chosen(selector, window)
        costs.append(1000 * (time.thread_time() - started))
    return costs


def test_a_window_is_chosen_within_its_cpu_budget() -> None:
    """On one core: a child process with one BLAS thread, timed in CPU time, which is what a window costs a core
    whatever else shares the machine (wall time here would measure the other tests)."""
    one_thread = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    script = "import json, tests.prompter.test_room_scenes as t; print(json.dumps(t.window_cpu_ms()))"
    child = subprocess.run([sys.executable, "-c", script], env=one_thread, cwd=REPO, capture_output=True, text=True,
                           timeout=300, check=True)
    costs = sorted(json.loads(child.stdout.strip().splitlines()[-1]))
    p99 = costs[min(len(costs) - 1, round(0.99 * (len(costs) - 1)))]
    assert p99 <= MAX_WINDOW_CPU_MS, costs[-5:]
