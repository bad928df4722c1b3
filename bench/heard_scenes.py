"""What the pipeline hears of the multi-voice room scenes (bench/data/room_scenes.json): each window's turns
spoken by espeak-ng voices taking turns (some quieter, some overlapping) in one room, cut as a live mic is
(`segment_file`) and transcribed by the transcriber's own engine, one line per segment.

`bench/prompts.py` scores the written turns and these. The results are cached in bench/data/scenes_heard.json
(with the engine and model they came from), because transcribing takes minutes: `python bench/heard_scenes.py`
rebuilds it (`--split heldout2` hears one split and keeps the others' lines as cached).
`hear` is also how bench/prompts.py hears the real recordings of ../shared/audio/conversation.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.transcriber.engines import SpeechEngine
from shared.audio import SegmenterOptions, segment_file
from tests.speech import Turn, in_a_room, taking_turns
from tests.topics import SCENES, SCENES_HEARD, SPLITS


def hear(engine: SpeechEngine, samples: np.ndarray) -> list[dict]:
    """One line ({text, words}) per segment the live cutter makes of `samples`, as the engine heard it."""
    lines = []
    for segment in segment_file(samples, SegmenterOptions()):
        got = engine.transcribe(segment.samples)
        if got.text.strip():
            lines.append({"text": got.text, "words": [w.model_dump() for w in got.words]})
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", choices=SPLITS, action="append", help="hear only these (default: all)")
    args = parser.parse_args()
    from services.transcriber.__main__ import TranscriberSettings, build_engine

    engine = build_engine(TranscriberSettings())
    scenes = json.loads(SCENES.read_text())
    heard: dict[str, list[list[dict]]] = json.loads(SCENES_HEARD.read_text())["conversations"] if args.split else {}
    seed = 0  # one room-noise seed per window, in the order of SPLITS, whichever splits are heard
    for split in SPLITS:
        if args.split and split not in args.split:
            seed += sum(len(c["windows"]) for c in scenes[split])
            continue
        for conversation in scenes[split]:
            windows = []
            for window in conversation["windows"]:
                turns = [Turn(voice, gap, gain, text) for voice, gap, gain, text in window["turns"]]
                lines = hear(engine, in_a_room(taking_turns(turns), seed))
                seed += 1
                windows.append(lines)
                print(f"{conversation['name']}: {' | '.join(line['text'] for line in lines)}", flush=True)
            heard[conversation["name"]] = windows
    SCENES_HEARD.write_text(json.dumps({"engine": engine.name, "model": engine.model, "conversations": heard},
                                indent=1) + "\n")
    print(f"saved {SCENES_HEARD}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
