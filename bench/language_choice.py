"""Choosing and painting in each language, for make bench-languages: topic recall, keyword precision, names
painted and the share of keywords the illustrator depicts, per language and split (dev, held-out, the fresh
held-out), on the scenes of bench/data/language_scenes.json as written or as the pipeline heard them.

- topic recall: share of a scene's topics named by the chosen keywords (a keyword names a topic when its lemma is
  the lemma of one of the topic's words, or it contains one);
- keyword precision: share of chosen keywords that name a topic or a `related` word;
- depicted: share of chosen keywords the illustrator finds a picture for (through their English gloss).
"""

from __future__ import annotations

import json
import os
import sys
import time
from functools import lru_cache
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script too

from bench._results import save_results
from services.generator.engines import ImageRequest
from services.generator.engines.illustrator import IllustratorBackend
from services.prompter.__main__ import load_selector
from services.prompter.engines import Heard, KeywordSelector
from services.prompter.engines.multilingual import MultilingualSelector
from shared.language.bridge import GLOSSED, lemma

SCENES = Path(__file__).resolve().parent / "data" / "language_scenes.json"
HeardLine = tuple[str, str, Heard]  # a line as the pipeline heard it: text, language, each word's confidence


def load_scenes() -> dict:
    return json.loads(SCENES.read_text(encoding="utf-8"))


def _forms(words: list[str], language: str) -> set[str]:
    return {form for word in words for form in (word.lower(), _lemma(word, language))}


def _lemma(word: str, language: str) -> str:
    return lemma(word, language) if language in GLOSSED else word.lower().removesuffix("s")


def names(keyword: str, words: list[str], language: str) -> bool:
    """Whether `keyword` names one of `words` (as lemmas, or one inside a longer keyword)."""
    forms = _forms(words, language)
    parts = keyword.lower().split()
    return bool({keyword.lower(), _lemma(keyword, language)} & forms
                or any(_lemma(part, language) in forms or part in forms for part in parts))


def score(selector: KeywordSelector, illustrator: IllustratorBackend, scenes: list[dict], language: str,
          lines_by_scene: dict[str, list[HeardLine]] | None = None) -> dict:
    """Scores of one language's scenes: as written, or as heard where `lines_by_scene` (scene name → its lines as
    (text, language the pipeline detected, its words' confidence)) has them. A line heard in another language is
    read in that one; the confidences weigh in as the prompter weighs a transcript's."""
    multilingual = MultilingualSelector(selector)
    topics = recalled = kept = fair = depicted = names_painted = 0
    seconds: list[float] = []
    windows = []
    for scene in scenes:
        lines = (lines_by_scene or {}).get(scene["name"]) or [(text, language, {}) for _, text in scene["turns"]]
        texts, languages, heard = [t for t, _, _ in lines], [code for _, code, _ in lines], [h for _, _, h in lines]
        multilingual.select(texts, heard=heard, languages=languages)  # warm: word lists load once per process
        started = time.perf_counter()
        chosen = multilingual.select(texts, heard=heard, languages=languages).chosen()
        seconds.append(time.perf_counter() - started)
        keywords = [c.text for c in chosen]
        hits = [any(names(k, words, language) for k in keywords) for words in scene["topics"].values()]
        topics += len(hits)
        recalled += sum(hits)
        fair_words = [w for words in scene["topics"].values() for w in words] + scene["related"]
        kept += len(keywords)
        fair += sum(names(k, fair_words, language) for k in keywords)
        names_painted += sum(any(n in k.lower() for n in scene["names"]) for k in keywords)
        items = illustrator.depict(ImageRequest(text=" ".join(keywords) or "-", keywords=tuple(keywords),
                                                language=language)) if keywords else []
        depicted += len(items)
        windows.append({"scene": scene["name"], "keywords": keywords, "topics_named": sum(hits),
                        "depicted": [item.keyword for item in items]})
    return {"topic_recall": round(recalled / topics, 3) if topics else None,
            "keyword_precision": round(fair / kept, 3) if kept else None,
            "depicted_share": round(depicted / kept, 3) if kept else None,
            "names_painted": names_painted, "keywords": kept, "windows": windows,
            "selection_ms_max": round(1000 * max(seconds), 1) if seconds else None}


@lru_cache(maxsize=1)
def parts() -> tuple[KeywordSelector, IllustratorBackend]:
    """The prompter's selector as it runs (warmed up) and the illustrator, loaded once."""
    return load_selector(4, semantic=True), IllustratorBackend("PNG")


def score_language_scenes(lines_by_scene: dict[str, list[HeardLine]], language: str) -> dict:
    """Scores of the scenes named in `lines_by_scene` (all of one language and split), on those lines."""
    named = {scene["name"]: scene for split in load_scenes()["languages"][language].values() for scene in split}
    return score(*parts(), [named[name] for name in lines_by_scene], language, lines_by_scene)


def main() -> int:
    """The scenes as written (no speech engine): what the choosing alone achieves, dev and both held-out splits."""
    results = {language: {split: score(*parts(), scenes, language) for split, scenes in splits.items()}
               for language, splits in load_scenes()["languages"].items()}
    save_results("language-choice", {"as_written": results, "load_average_at_end": os.getloadavg()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
