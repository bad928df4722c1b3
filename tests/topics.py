"""How a choice of keywords is scored against what people said a window was about (bench/prompts.py and the
prompter's tests score the same way), and the multi-voice room scenes that ship in the repo to score it on.

A window is a dict with `topics` (each a list of the words that name it) and `related` (further words that are fair
to paint); topic recall is the share of topics some keyword names, keyword precision the share of keywords that
name a topic or a related word.
"""

from __future__ import annotations

import json
from pathlib import Path

from services.prompter.engines.vocabulary import singular
from services.transcriber.engines.models import ENGLISH_MODEL

DATA = Path(__file__).resolve().parents[1] / "bench" / "data"
SCENES = DATA / "room_scenes.json"  # written for issue 24 before the selector was changed; dev and held-out
SCENES_HEARD = DATA / "scenes_heard.json"  # what the pipeline heard of them with tiny.en (bench/heard_scenes.py)
# dev may be tuned on; heldout to heldout5 were scored and looked at (issue 24); heldout6 was written after them
SPLITS = ("dev", "heldout", "heldout2", "heldout3", "heldout4", "heldout5", "heldout6")


def words(phrase: str) -> list[str]:
    return [singular(w) for w in phrase.lower().replace("'", "").replace("-", " ").split()]


def names(keyword: str, variant: str) -> bool:
    """A keyword names a topic variant when it is the variant, contains it ("cherry tomatoes" ~ "tomato"),
    or is the variant's head word ("retriever" ~ "golden retriever")."""
    k, v = words(keyword), words(variant)
    if any(k[i:i + len(v)] == v for i in range(len(k) - len(v) + 1)):
        return True
    return k == v[-1:]


def fair(keyword: str, window: dict) -> bool:
    """A keyword is precise when it names a topic or a related word of its window, or is part of one
    ("lift" of "chair lift")."""
    variants = [v for topic in window["topics"] for v in topic] + window.get("related", [])
    return any(names(keyword, v) or names(v, keyword) for v in variants)


def scenes_heard(model: str = ENGLISH_MODEL) -> Path:
    """Where what `model` heard of the scenes is cached: the default English model's in SCENES_HEARD, another
    model's beside it, so hearing with one never overwrites the other's."""
    return SCENES_HEARD if model == ENGLISH_MODEL else DATA / f"scenes_heard-{Path(model).name}.json"


def room_scenes(model: str = ENGLISH_MODEL) -> dict[str, list[dict]]:
    """`scenes-dev`, `scenes-heldout`, `scenes-heldout2` (one line per turn, as written) and their `-heard` twins
    (one line per segment the live cutter made, with `model`'s word confidences; `said`: the written turns):
    conversations of windows whose lines are {text, words} dicts."""
    scenes = json.loads(SCENES.read_text())
    heard = json.loads(scenes_heard(model).read_text())["conversations"]
    sets = {}
    for split in SPLITS:
        written = [{**c, "windows": [{**w, "lines": [turn[3] for turn in w["turns"]]} for w in c["windows"]]}
                   for c in scenes[split]]
        sets[f"scenes-{split}"] = [{**c, "windows": [{**w, "lines": [{"text": t} for t in w["lines"]]}
                                                      for w in c["windows"]]} for c in written]
        sets[f"scenes-{split}-heard"] = [
            {**c, "windows": [{**w, "said": w["lines"], "lines": lines}
                              for w, lines in zip(c["windows"], heard[c["name"]], strict=True)]}
            for c in written]
    return sets
