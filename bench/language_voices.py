"""Which espeak-ng voices and rate make bench-languages' speakers: how well bare faster-whisper base, told the
language, hears each dev line (bench/data/language_scenes.json) spoken alone by one voice at one rate, clean or
in room noise. Dev lines only: the held-out scenes are never heard here.

    PYTHONPATH=. .venv/bin/python bench/language_voices.py fr fr@150 fr+m3@150 fr+f2@150 [--snr 15]

What it measured (2-core AMD EPYC at load 6-12, WER over each language's 15 dev lines, clean):

| voice @ words a minute | German | Spanish | French |
|---|---|---|---|
| LANG @150 | 0.348 | 0.567 | 0.786 |
| LANG+f3 @150 (the old second voice) | 0.487 | 0.588 | 0.835 |
| LANG+m3 @150 | 0.330 | 0.505 | 0.699 |
| LANG+f2 @150 (the second voice since) | 0.348 | 0.474 | 0.728 |
| LANG @175 (espeak-ng's default) | 0.313 | 0.670 | 0.738 |
| LANG @120 / LANG+m3 @120 / LANG+m3 @135 | 0.296 / - / - | - | - / 0.757 / 0.786 |

- Noise is not what makes them hard: German's dev scenes as bench-languages cuts them, told German, 0.452 at
  15 dB SNR and 0.470 clean.
- Nor the rate: 120, 135, 150 and 175 words a minute move WER by under 0.1 either way, with no direction common to
  the languages. 150 stays (a conversational pace).
- Nor the language detection alone: told the language, base still mishears espeak-ng's French on about 0.7-0.8 of
  the words. espeak-ng's formant voices are simply hard for base; no other offline voice is installable here
  (apt has no mbrola candidate here; piper and kokoro need weights from the net).
- The voice variant is the one setting that matters consistently: +f3 was the worst heard in all three languages,
  +f2 (another woman's voice) is heard 0.11-0.14 better, so the scenes' second speaker is LANG+f2. English, the
  control, keeps its voices.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.language_choice import load_scenes
from bench.stt import with_noise
from services.transcriber.engines.models import MULTILINGUAL_MODEL, model_directory
from services.transcriber.wer import errors
from shared.audio import to_float32
from shared.demo import speak


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("language", help="whose dev lines: de, es, fr or en")
    parser.add_argument("voices", nargs="+", help="VOICE@WPM, e.g. fr+m3@150")
    parser.add_argument("--snr", type=float, default=None, help="room noise at this SNR in dB (default: clean)")
    args = parser.parse_args()
    from faster_whisper import WhisperModel

    whisper = WhisperModel(str(model_directory(MULTILINGUAL_MODEL)), device="cpu", compute_type="int8",
                           local_files_only=True)
    lines = [text for scene in load_scenes()["languages"][args.language]["dev"] for _, text in scene["turns"]]
    pad = np.zeros(8000, np.int16)
    for spec in args.voices:
        voice, rate = spec.rsplit("@", 1)
        rng = np.random.default_rng(28)
        wrong = words = 0
        started = time.process_time()
        for line in lines:
            audio = np.concatenate([pad, speak(line, voice, int(rate)), pad])
            audio = audio if args.snr is None else with_noise(audio, args.snr, rng)
            segments, _ = whisper.transcribe(to_float32(audio), language=args.language, beam_size=5, vad_filter=True)
            counted = errors(line, " ".join(s.text.strip() for s in segments), language=args.language)
            wrong, words = wrong + counted.total, words + counted.words
        print(json.dumps({"language": args.language, "voice": voice, "wpm": int(rate), "snr_db": args.snr,
                          "wer": round(wrong / words, 3), "cpu_seconds": round(time.process_time() - started, 1),
                          "load_average_1m": round(os.getloadavg()[0], 1)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
