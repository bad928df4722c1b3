"""What the pipeline hears of the multi-voice room scenes (bench/data/room_scenes.json): each window's turns
spoken by espeak-ng voices taking turns (some quieter, some overlapping) in one room, cut as a live mic is
(`segment_file`) and transcribed by the transcriber's own engine, one line per segment.

`bench/prompts.py` scores the written turns and these. The results are cached in bench/data/scenes_heard.json
(with the engine and model they came from), because transcribing takes minutes: `python bench/heard_scenes.py`
rebuilds it (`--split heldout2` hears one split and keeps the others' lines as cached). `--model base` hears with
another model into its own cache (bench/data/scenes_heard-base.json; `bench/prompts.py --model base` scores it).
Each run reports what hearing cost: the per-segment real-time factor (wall, and the process's CPU seconds per
second of audio, which other work on the machine inflates less) and peak RSS, in bench/results/heard-scenes-*.
`hear` is also how bench/prompts.py hears the real recordings of ../shared/audio/conversation.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._results import save_results
from services.transcriber.engines import SpeechEngine
from services.transcriber.engines.models import BUILT_IN
from shared.audio import SAMPLE_RATE_HZ, SegmenterOptions, segment_file
from tests.speech import Turn, in_a_room, taking_turns
from tests.topics import SCENES, SPLITS, scenes_heard


def hear(engine: SpeechEngine, samples: np.ndarray, spent: list[tuple[float, float, float]] | None = None
         ) -> list[dict]:
    """One line ({text, words}) per segment the live cutter makes of `samples`, as the engine heard it; `spent`
    gets each segment's (audio, wall, CPU) seconds."""
    lines = []
    for segment in segment_file(samples, SegmenterOptions()):
        started, used = time.perf_counter(), time.process_time()
        got = engine.transcribe(segment.samples)
        if spent is not None:
            spent.append((len(segment.samples) / SAMPLE_RATE_HZ, time.perf_counter() - started,
                          time.process_time() - used))
        if got.text.strip():
            lines.append({"text": got.text, "words": [w.model_dump() for w in got.words]})
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", choices=SPLITS, action="append", help="hear only these (default: all)")
    parser.add_argument("--model", choices=BUILT_IN, help="the English model to hear with, into its own cache "
                        "(default: VOXFRAME_WHISPER_MODEL's, tiny.en)")
    args = parser.parse_args()
    from services.transcriber.__main__ import TranscriberSettings, build_engine

    settings = TranscriberSettings(**({"whisper_model": args.model} if args.model else {}))
    cache = scenes_heard(settings.whisper_model)
    if args.split and not cache.exists():
        parser.error(f"--split keeps the other splits from {cache}, which is not there yet: hear every split first")
    engine = build_engine(settings)
    loaded_kib, load_at_start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, os.getloadavg()
    scenes = json.loads(SCENES.read_text())
    heard: dict[str, list[list[dict]]] = json.loads(cache.read_text())["conversations"] if args.split else {}
    spent: list[tuple[float, float, float]] = []
    seed = 0  # one room-noise seed per window, in the order of SPLITS, whichever splits are heard
    for split in SPLITS:
        if args.split and split not in args.split:
            seed += sum(len(c["windows"]) for c in scenes[split])
            continue
        for conversation in scenes[split]:
            windows = []
            for window in conversation["windows"]:
                turns = [Turn(voice, gap, gain, text) for voice, gap, gain, text in window["turns"]]
                lines = hear(engine, in_a_room(taking_turns(turns), seed), spent)
                seed += 1
                windows.append(lines)
                print(f"{conversation['name']}: {' | '.join(line['text'] for line in lines)}", flush=True)
            heard[conversation["name"]] = windows
    cache.write_text(json.dumps({"engine": engine.name, "model": engine.model, "conversations": heard},
                           indent=1) + "\n")
    print(f"saved {cache}")
    audio, wall, cpu = (sum(s[i] for s in spent) for i in range(3))
    save_results(f"heard-scenes-{settings.whisper_model}", {
        "model": engine.model, "beam_size": settings.whisper_beam_size, "splits": args.split or list(SPLITS),
        "segments": len(spent), "audio_seconds": round(audio, 1), "rtf_wall": round(wall / audio, 3),
        "rtf_cpu": round(cpu / audio, 3), "peak_rss_mib_loaded": round(loaded_kib / 1024),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "load_average_at_start": load_at_start, "load_average_at_end": os.getloadavg()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
