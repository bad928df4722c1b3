"""`make bench-languages`: hearing, choosing and painting in German, Spanish, French and English (the control).

Hearing: each scene of bench/data/language_scenes.json (family talk, several espeak-ng voices of its language taking
turns, `dev` to tune on, `heldout` and `heldout2` never; `heldout` has been seen) is spoken with pauses between
turns, mixed with pink room noise (SNR_DB), and cut at pauses as a live mic is. Every segment is heard in turn, in
the same run: by the pipeline's engine as the transcriber builds it (TranscriberSettings' defaults, so `auto`
chooses among VOXFRAME_AUTO_LANGUAGES; one engine per multilingual beam width given with --multilingual-beams) with
the room set to `auto` (the multilingual model detects, the room's prior weighs in, the chosen language's model
decodes, the guards drop invented text) and by bare faster-whisper on the multilingual model (its own language
detection among all its languages, beam 5, its VAD filter, nothing of Voxframe's). Reported per language and split:
WER of each with their deletions and insertions, language detection accuracy per segment (each) and per room (the
language most of a scene's words were heard in), and the real-time factor. The pipeline's lines (text, language,
each word's confidence, as a transcript carries them to the prompter) then go to bench/language_choice.py: topic
recall, keyword precision and the share of keywords the illustrator depicts, beside the same scores on the scenes as
written.

English models: tiny.en and the multilingual base, both told the language is English, on ../shared/audio/real
(read speech) and ../shared/audio/conversation (meetings, a phone call) file by file as `voxframe transcribe`
runs: WER (dev and held-out where the folder has both) and real-time factor, with the load average beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._results import save_results
from bench.language_choice import HeardLine, load_scenes, parts, score, score_language_scenes
from bench.stt import CONVERSATION, REAL_AUDIO, cpu_model, load_folder, run_pass, with_noise
from services.prompter.window import word_confidence
from services.transcriber.__main__ import TranscriberSettings, build_engine
from services.transcriber.engines.whisper import FasterWhisperEngine
from services.transcriber.languages import RoomLanguages
from services.transcriber.wer import errors
from shared.audio import SAMPLE_RATE_HZ, segment_file, to_float32
from shared.demo import speak

SNR_DB = 15.0  # a quiet living room: a fridge, a street outside
PAUSE_SECONDS = 1.0  # between turns: longer than the live cutter's end of utterance
SPEED_WPM = 150
LANGUAGES = ["de", "es", "fr", "en"]
SPLITS = ["dev", "heldout", "heldout2"]


def spoken_scene(scene: dict, voices: list[str], rng: np.random.Generator) -> np.ndarray:
    """The scene's turns, each in its speaker's voice, with pauses, in room noise."""
    pause = np.zeros(int(PAUSE_SECONDS * SAMPLE_RATE_HZ), np.int16)
    pieces = [pause]
    for speaker, text in scene["turns"]:
        pieces += [speak(text, voices[speaker], SPEED_WPM), pause]
    return with_noise(np.concatenate(pieces), SNR_DB, rng)


class BareMultilingual:
    """faster-whisper on the multilingual model as its README uses it: its own language detection, beam 5, its
    VAD filter, none of Voxframe's guards or priors."""

    def __init__(self) -> None:
        from faster_whisper import WhisperModel

        from services.transcriber.engines.models import MULTILINGUAL_MODEL, model_directory

        self._whisper = WhisperModel(str(model_directory(MULTILINGUAL_MODEL)), device="cpu", compute_type="int8",
                                     local_files_only=True)

    def transcribe(self, samples: np.ndarray) -> tuple[str, str]:
        segments, info = self._whisper.transcribe(to_float32(samples), beam_size=5, vad_filter=True)
        return " ".join(s.text.strip() for s in segments), info.language


def hear_scenes(language: str, scenes: list[dict], voices: list[str], engines: dict[int, FasterWhisperEngine],
                bare: BareMultilingual) -> tuple[dict, dict[int, dict[str, list[HeardLine]]]]:
    """Hearing figures of one language's split, the pipeline's per multilingual beam width (`engines`) beside bare
    faster-whisper's, all hearing each segment in turn so that their times share the machine's load; and each
    pipeline's lines per scene for the choosing scores."""
    rng = np.random.default_rng(28)
    lines: dict[int, dict[str, list[HeardLine]]] = {beam: {} for beam in engines}
    counts = {name: Counter[str]() for name in (*engines, "bare")}
    seconds = Counter[int | str]()
    words, audio_s = 0, 0.0
    for scene in scenes:
        rooms = {beam: RoomLanguages() for beam in engines}  # each scene a room of its own, heard from its first line
        heard: dict[int, list[HeardLine]] = {beam: [] for beam in engines}
        spoken_words = {beam: Counter[str]() for beam in engines}
        bare_heard = []
        for segment in segment_file(spoken_scene(scene, voices, rng)):
            for beam, engine in engines.items():
                started = time.perf_counter()
                got = engine.transcribe(segment.samples, "auto", rooms[beam].prior(scene["name"]))
                seconds[beam] += time.perf_counter() - started
                rooms[beam].heard(scene["name"], got.detected, segment.duration_seconds)
                counts[beam].update(segments=1, right=got.language == language)
                if got.text:
                    heard[beam].append((got.text, got.language, word_confidence(got)))
                    spoken_words[beam][got.language] += len(got.words)
            started = time.perf_counter()
            text, bare_language = bare.transcribe(segment.samples)
            seconds["bare"] += time.perf_counter() - started
            counts["bare"].update(segments=1, right=bare_language == language)
            bare_heard.append(text)
            audio_s += segment.duration_seconds
        reference = " ".join(text for _, text in scene["turns"])
        for name, said in [*((beam, " ".join(t for t, _, _ in heard[beam])) for beam in engines),
                           ("bare", " ".join(bare_heard))]:
            scored = errors(reference, said, language=language)
            counts[name].update(errors=scored.total, deleted=scored.deletions, inserted=scored.insertions)
        words += scored.words
        for beam in engines:
            counts[beam].update(rooms_right=bool(spoken_words[beam])
                                and spoken_words[beam].most_common(1)[0][0] == language)
            lines[beam][scene["name"]] = heard[beam]
            print(f"[{language}] {scene['name']} beam {beam}: {[(text, code) for text, code, _ in heard[beam]]}",
                  flush=True)
        print(f"  bare: {bare_heard}", flush=True)

    def figures(name: int | str) -> dict:
        count = counts[name]
        return {"wer": round(count["errors"] / words, 4), "deleted": count["deleted"], "inserted": count["inserted"],
                "detection_segment": round(count["right"] / count["segments"], 3),
                **({"detection_room": round(count["rooms_right"] / len(scenes), 3)} if name != "bare" else {}),
                "rtf": round(seconds[name] / audio_s, 3)}

    return {"scenes": len(scenes), "segments": counts["bare"]["segments"], "reference_words": words,
            "audio_seconds": round(audio_s, 1), "pipeline": {f"beam {beam}": figures(beam) for beam in engines},
            "bare": figures("bare")}, lines


def english_models(folders: list[Path]) -> dict:
    """tiny.en and base, told it is English, file by file on the real recordings and conversation."""
    from services.transcriber.long import transcribe_long

    results: dict[str, dict] = {}
    for model in ("tiny.en", "base"):
        engine = FasterWhisperEngine(model, language="en")
        results[model] = {}
        for folder in folders:
            passed = run_pass(lambda samples, e=engine: transcribe_long(e, samples)[0].text, load_folder(folder))
            passed.pop("per_file")
            results[model][folder.name] = {**passed, "load_average_1m": round(os.getloadavg()[0], 1)}
            print(f"[{model}] {folder.name}: {results[model][folder.name]}", flush=True)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--languages", nargs="*", default=LANGUAGES, help="these languages' scenes only")
    parser.add_argument("--splits", nargs="*", default=SPLITS, choices=SPLITS, help="these splits only")
    parser.add_argument("--multilingual-beams", nargs="+", type=int, metavar="N",
                        default=[TranscriberSettings().whisper_multilingual_beam_size],
                        help="the pipeline's multilingual beam widths to compare, each hearing every segment in turn")
    parser.add_argument("--part", choices=("all", "scenes", "english-models"), default="all",
                        help="one part only, saved as languages-PART.json (the two can run side by side)")
    args = parser.parse_args()
    results: dict[str, object] = {"cpu": cpu_model(), "load_average_1m_at_start": round(os.getloadavg()[0], 1),
                                  "snr_db": SNR_DB}
    if args.part != "english-models":
        results.update(scenes(args.languages, args.splits, args.multilingual_beams))
    if args.part != "scenes":
        folders = [f for f in (REAL_AUDIO, CONVERSATION) if (f / "manifest.tsv").exists()]
        results["english_models"] = english_models(folders) if folders else {"skipped": "no ../shared/audio"}
    results["load_average_1m_at_end"] = round(os.getloadavg()[0], 1)
    some = "" if args.languages == LANGUAGES else f"-{'-'.join(args.languages)}"
    some += "" if args.splits == SPLITS else f"-{'-'.join(args.splits)}"
    some += "" if args.multilingual_beams == parser.get_default("multilingual_beams") else \
        f"-beams-{'-'.join(map(str, args.multilingual_beams))}"
    save_results("languages" if args.part == "all" and not some else f"languages-{args.part}{some}", results)
    return 0


def scenes(languages: list[str], splits: list[str], beams: list[int]) -> dict[str, dict]:
    """Hearing and choosing figures of every language's scenes in `splits` (dev, held-out), the pipeline's with
    each multilingual beam width in `beams`."""
    data = load_scenes()
    engines = {}
    for beam in beams:
        engine = build_engine(TranscriberSettings(stt_engine="faster-whisper", language="auto",
                                                  whisper_multilingual_beam_size=beam))
        assert isinstance(engine, FasterWhisperEngine)
        engines[beam] = engine
    bare = BareMultilingual()
    results: dict[str, dict] = {"hearing": {}, "choosing": {}}
    for language in languages:
        hearing, choosing = {}, {}
        for split in splits:
            scenes = data["languages"][language][split]
            hearing[split], lines = hear_scenes(language, scenes, data["voices"][language], engines, bare)
            choosing[split] = {"heard": {f"beam {beam}": score_language_scenes(lines[beam], language)
                                         for beam in engines},
                               "as_written": score(*parts(), scenes, language),
                               "heard_lines": lines}  # to score the choosing again without hearing again
        results["hearing"][language], results["choosing"][language] = hearing, choosing
        print(json.dumps({language: hearing}), flush=True)
    return results


if __name__ == "__main__":
    sys.exit(main())
