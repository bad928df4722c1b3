"""A small bilingual lexicon from CLDR's emoji keywords: "Schnee" → snow, "Käse" → cheese, "forêt" → forest.

CLDR names each emoji once per language (the names `bridge.py` reads) and also tags it with keywords ("Käse" on
🧀, whose German name is "Käsestück"). Keywords are not parallel lists, so they are aligned the way a bilingual
lexicon is learnt from parallel text: a local keyword glosses as the English keyword that tags the same emoji most
often relative to how often each occurs (Dice), and only where they meet on two emoji or more (one meeting ties
"bosque" with "hairy" on the yeti as well as with "forest").

The lexicon ships as `data/cldr_keywords.json` (Unicode License V3, notice in `data/CLDR-LICENSE.txt`), made by
`python -m shared.language.cldr_keywords PATH` from the `annotations/` folder of npm's `cldr-annotations-full`.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from functools import lru_cache
from pathlib import Path

LANGUAGES = ("de", "es", "fr")
CLDR_VERSION = "48.2.0"
MIN_DICE = 0.5  # half the emoji either tags, tagged by both: "Bildschirm" and "computer" meet on 2 of 11 (0.31)
MIN_SHARED = 2  # emoji a keyword and its gloss must tag together
_VARIATION = "\ufe0f"  # asks for the emoji presentation of the character before it
_DATA = Path(__file__).parent / "data" / "cldr_keywords.json"


def keyword_gloss(word: str, language: str) -> str | None:
    """The English for a lower-case keyword (or its lemma) of `language`, or None."""
    return lexicon(language).get(word)


@lru_cache(maxsize=len(LANGUAGES) + 1)
def lexicon(language: str) -> dict[str, str]:
    """A language's keywords and their English (empty for one CLDR's keywords are not aligned for)."""
    return dict(_lexicons().get(language, {}))


@lru_cache(maxsize=1)
def _lexicons() -> dict[str, dict[str, str]]:
    """The file, read once for all its languages."""
    return dict(json.loads(_DATA.read_text(encoding="utf-8"))["lexicon"])


def _keywords(annotations: dict[str, list[str]]) -> set[str]:
    return {w.lower() for w in annotations.get("default", []) + annotations.get("tts", [])}


def align(local: dict[str, dict[str, list[str]]], english: dict[str, dict[str, list[str]]]) -> dict[str, str]:
    """Local keyword → the English keyword it best aligns with, over the emoji both languages annotate."""
    together: Counter[tuple[str, str]] = Counter()
    local_count: Counter[str] = Counter()
    english_count: Counter[str] = Counter()
    for char, tags in local.items():
        if char not in english or len(char.replace(_VARIATION, "")) > 1:
            continue  # a sequence (👩‍💻, 🧑‍🚒) is tagged with its parts' and its role's words: "Bildschirm", "inventor"
        mine, theirs = _keywords(tags), _keywords(english[char])
        local_count.update(mine)
        english_count.update(theirs)
        together.update((m, t) for m in mine for t in theirs)
    best: dict[str, tuple[float, int, str]] = {}
    for (word, gloss), shared in together.items():
        dice = 2 * shared / (local_count[word] + english_count[gloss])
        if shared >= MIN_SHARED and dice >= MIN_DICE:
            best[word] = max(best.get(word, (0.0, 0, "")), (dice, shared, gloss))  # a tie: the same gloss each run
    return {word: gloss for word, (_, _, gloss) in sorted(best.items())}


def build(annotations_dir: Path) -> dict[str, object]:
    def load(language: str) -> dict[str, dict[str, list[str]]]:
        path = annotations_dir / language / "annotations.json"
        return dict(json.loads(path.read_text(encoding="utf-8"))["annotations"]["annotations"])

    english = load("en")
    return {"source": f"Unicode CLDR {CLDR_VERSION} annotations (npm cldr-annotations-full), Unicode License V3",
            "lexicon": {language: align(load(language), english) for language in LANGUAGES}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("annotations", type=Path, help="the annotations/ folder of cldr-annotations-full")
    data = build(parser.parse_args().annotations)
    _DATA.write_text(json.dumps(data, ensure_ascii=False, indent=0, sort_keys=True) + "\n", encoding="utf-8")
    print(f"{_DATA}: " + ", ".join(f"{k} {len(v)}" for k, v in data["lexicon"].items()))  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
