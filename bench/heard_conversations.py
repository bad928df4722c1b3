"""What the offline engine hears of the held-out conversations: each line spoken by espeak-ng in a rotating
voice, mixed with pink room noise, transcribed by faster-whisper tiny.en through the transcriber's own engine.

`bench/prompts.py` scores both the written lines and these. The results are cached in bench/data/ (with the
engine, model and SNR they came from), because transcribing takes a few minutes:
`python bench/heard_conversations.py` rebuilds heldout_heard.json, `--set dev` the tuning set's dev_heard.json
(from tests/data/conversations.json: what the selector may be tuned on, so the held-out set stays unseen).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.stt import with_noise
from shared.demo import SAMPLE_RATE_HZ, speak

DATA = Path(__file__).resolve().parent / "data"
SETS = {"heldout": (DATA / "heldout_conversations.json", DATA / "heldout_heard.json"),
        "dev": (DATA.parents[1] / "tests" / "data" / "conversations.json", DATA / "dev_heard.json")}
VOICES = ("en-us", "en-gb", "en-gb-scotland", "en-us+f3", "en-gb-x-rp")
SNR_DB = 15.0  # a quiet living room: a fridge, a street outside
LEAD_SECONDS = 0.4  # silence around each line, as the capture's pre- and post-roll keep


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--snr-db", type=float, default=SNR_DB)
    parser.add_argument("--set", choices=SETS, default="heldout")
    args = parser.parse_args()
    written, out = SETS[args.set]
    from services.transcriber.engines.whisper import FasterWhisperEngine

    engine = FasterWhisperEngine()
    rng = np.random.default_rng(13)
    pad = np.zeros(int(LEAD_SECONDS * SAMPLE_RATE_HZ), np.int16)
    conversations = json.loads(written.read_text())["conversations"]
    heard: dict[str, list[list[dict]]] = {}
    turn = 0
    for conversation in conversations:
        windows = []
        for window in conversation["windows"]:
            lines = []
            for line in window["lines"]:
                voice = VOICES[turn % len(VOICES)]
                turn += 1
                speech = np.concatenate([pad, speak(line, voice), pad])
                got = engine.transcribe(with_noise(speech, args.snr_db, rng))
                lines.append({"voice": voice, "said": line, "text": got.text,
                              "words": [w.model_dump() for w in got.words]})
                print(f"{voice:>15}: {got.text}", flush=True)
            windows.append(lines)
        heard[conversation["name"]] = windows
    out.write_text(json.dumps({"engine": engine.name, "model": engine.model, "snr_db": args.snr_db,
                                 "voices": VOICES, "conversations": heard}, indent=1) + "\n")
    print(f"saved {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
