"""`make bench-stt`: word error rate, speed, memory and capacity of each available speech-to-text engine.

Each engine runs in its own process (so its peak RSS is its own) over every folder given (default
../shared/audio/real, read speech, and ../shared/audio/conversation, real meetings and a phone call; a folder
needs a manifest.tsv with `file` and `reference_text` columns). The pipeline is run file by file along its three
ways in: `transcribe` (as `voxframe transcribe` runs: a file over 20 s cut at pauses, each piece heard with
context), `upload` (the display's job path: `prepare` cuts the uploaded WAV into the same pieces, `job_segments`
makes its AudioSegments, each goes through the transcriber's handler) and `live` (the files played, 4x real
time, into a real PulseAudio microphone that a `voxframe capture` process cuts, each segment it publishes through
the handler; skipped where there is no PulseAudio). Every engine also hears all files joined into one stream, cut
at pauses as a live mic is, and, on the first folder, each file with pink noise at 10 dB SNR. Every pass counts
deletions and insertions beside WER, and a folder holding HELD_OUT files is also totalled as dev and held-out.
`lost_at_segment_edges` counts the words the pipeline hears in a whole file whose middle lies outside every
segment the live cutter made of it. It also feeds silence, white and pink noise, which must produce no words.
Capacity is the number of continuously talking mics one replica keeps up with: N mics replay the joined
stream at random phases into one FIFO worker whose per-segment times are the measured ones; the largest N
whose p95 wait stays under LATENCY_BOUND_S counts.
The same passes run over bare faster-whisper tiny.en (beam 5, its own `vad_filter`, its default decoding, none of
Voxframe's guards), and `pipeline_vs_bare` compares the two on the same files in the same run: each of the
pipeline's paths (transcribe, upload, live) against the bare engine on the whole file, file by file, and streamed
against streamed: the pipeline must never be worse than the engine it wraps (WER within 0.01, deletions within
5 %, no file with more errors).
Targets (default engine, 2 cores): WER <= 5 % (<= 4 % and <= bare on ../shared/audio/real), RTF <= 0.1,
peak RSS <= 1.15x bare faster-whisper's in the same run, capacity >= 8 mics.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import random
import resource
import shutil
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._results import percentile, save_results
from services.transcriber.wer import Errors, errors
from shared.audio import SAMPLE_RATE_HZ as RATE

REAL_AUDIO = Path(__file__).resolve().parents[2] / "shared" / "audio" / "real"
CONVERSATION = REAL_AUDIO.parent / "conversation"
# Its README: these clips' references give one speaker's words, then the other's, so they are scored as bags of words.
UNORDERED = ("ami_es2002a_",)
# Never tuned on: the phone call (telephone band) and two of the four quiet ES2002a clips.
HELD_OUT = {"phone_newjersey_texas.wav", "ami_es2002a_bc_0526.wav", "ami_es2002a_bc_1049.wav"}
NOISE_SNR_DB = 10.0
LATENCY_BOUND_S = 5.0
STREAM_REPEATS = 5
# Peak RSS is held against bare faster-whisper's in the same run, not a constant: the pipeline's bench process also
# holds the upload and live harnesses and every folder's audio, as the bare one holds the audio.
TARGETS = {"wer": 0.05, "wer_real": 0.04, "real_time_factor": 0.1, "peak_rss_vs_bare": 1.15, "capacity_mics": 8}
DEFAULT = "faster-whisper tiny.en"
PATHS = ("transcribe", "upload", "live")  # the pipeline's ways in, each set against the bare engine on whole files
BARE = "bare faster-whisper tiny.en"

def load_folder(folder: Path) -> list[tuple[str, np.ndarray, str]]:
    from shared.audio import decode_audio

    with open(folder / "manifest.tsv", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    return [(row["file"], decode_audio(folder / row["file"]), row["reference_text"]) for row in rows]


def pink_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    spectrum = np.fft.rfft(rng.standard_normal(n))
    spectrum[1:] /= np.sqrt(np.arange(1, len(spectrum)))
    noise = np.fft.irfft(spectrum, n)
    return noise / np.sqrt(np.mean(noise**2))


def with_noise(samples: np.ndarray, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    speech = samples.astype(np.float64)
    noise = pink_noise(len(speech), rng) * np.sqrt(np.mean(speech**2) / 10 ** (snr_db / 10))
    return np.clip(speech + noise, -32768, 32767).astype(np.int16)


def totals(counted: dict[str, Errors]) -> dict[str, object]:
    words = sum(e.words for e in counted.values())
    return {"wer": round(sum(e.total for e in counted.values()) / max(1, words), 4), "reference_words": words,
            "word_errors": sum(e.total for e in counted.values()),
            "deletions": sum(e.deletions for e in counted.values()),
            "insertions": sum(e.insertions for e in counted.values())}


def run_pass(transcribe: object, clips: list[tuple[str, np.ndarray, str]]) -> dict[str, object]:
    """Transcribe each (name, samples, reference) with `transcribe(samples) -> text`; totals of word errors,
    deletions, insertions, reference words, audio and engine seconds, the same for dev and held-out files when
    the folder has both, and each file's errors by name."""
    counted: dict[str, Errors] = {}
    audio_s = engine_s = 0.0
    for name, samples, reference in clips:
        started = time.perf_counter()
        text = transcribe(samples)  # type: ignore[operator]
        engine_s += time.perf_counter() - started
        audio_s += len(samples) / RATE
        counted[name] = errors(reference, text, ordered=not name.startswith(UNORDERED))
    result: dict[str, object] = {**totals(counted), "audio_seconds": round(audio_s, 2),
                                 "engine_seconds": round(engine_s, 2),
                                 "real_time_factor": round(engine_s / audio_s, 4),
                                 "per_file": {name: {"errors": e.total, "deletions": e.deletions,
                                                     "insertions": e.insertions, "words": e.words}
                                              for name, e in counted.items()}}
    if HELD_OUT & counted.keys() and counted.keys() - HELD_OUT:
        result["dev"] = totals({n: e for n, e in counted.items() if n not in HELD_OUT})
        result["held_out"] = totals({n: e for n, e in counted.items() if n in HELD_OUT})
    return result


def lost_at_segment_edges(engine: object, clips: list[tuple[str, np.ndarray, str]],
                          spans: list[list[tuple[float, float]]]) -> dict[str, object]:
    """Words the engine hears in each whole file whose middle lies outside every one of that file's `spans`
    (seconds; the live cutter's segments): speech lost at segment edges (Whisper's word times are within ~0.2 s)."""
    heard = lost = 0
    examples: dict[str, list[str]] = {}
    for (name, samples, _), cut in zip(clips, spans, strict=True):
        words = engine.transcribe(samples).words  # type: ignore[attr-defined]
        outside = [w.text for w in words if not any(a <= (w.start_seconds + w.end_seconds) / 2 <= b for a, b in cut)]
        heard, lost = heard + len(words), lost + len(outside)
        if outside:
            examples[name] = outside
    return {"words_heard": heard, "words_outside_segments": lost, "per_file": examples}


def pipeline_paths(engine: object, clips: list[tuple[str, np.ndarray, str]]) -> dict[str, object]:
    """The pipeline's three paths over one folder, file by file: `transcribe` (as `voxframe transcribe` runs),
    `upload` (the display's job path: its `prepare` and `job_segments`, each AudioSegment through the
    transcriber's handler) and `live` (played into a real PulseAudio mic that `voxframe capture` cuts, each
    segment through the handler; skipped without PulseAudio), with the words heard in whole files that fall
    outside the live segments (or, without a mic, outside `segment_file`'s)."""
    import io
    import uuid

    import soundfile

    from services.display.jobs.uploads import UploadRejected, job_segments, prepare
    from services.transcriber.handler import TranscriptionHandler
    from services.transcriber.long import transcribe_long
    from shared.audio import segment_file

    handler = TranscriptionHandler(engine)  # type: ignore[arg-type]

    def heard(segments: list) -> str:  # type: ignore[type-arg]
        return " ".join(t.text for t in map(handler, segments) if t is not None)

    def uploaded(samples: np.ndarray) -> str:
        wav = io.BytesIO()
        soundfile.write(wav, samples, RATE, format="WAV", subtype="PCM_16")
        try:
            return heard(job_segments(prepare(wav.getvalue(), max_seconds=3600), str(uuid.uuid4()), "bench"))
        except UploadRejected:  # no speech found: nothing heard
            return ""

    paths: dict[str, object] = {"transcribe": run_pass(lambda s: transcribe_long(engine, s)[0].text, clips),  # type: ignore[arg-type]
                                "upload": run_pass(uploaded, clips)}
    if shutil.which("pulseaudio") is None or shutil.which("pactl") is None:
        paths["live"] = {"skipped": "no PulseAudio here (apt-get install pulseaudio libasound2-plugins)"}
        spans = [[(g.start_sample / RATE, g.end_sample / RATE) for g in segment_file(s)] for _, s, _ in clips]
    else:
        marker = (clips[0][1] * 0.7).astype(np.int16)  # speech unlike any clip's samples, played last
        from tests.capture.live_hearing import cuts_on_a_fresh_mic

        cuts = cuts_on_a_fresh_mic([s for _, s, _ in clips], marker)
        by_clip = {id(s): c for (_, s, _), c in zip(clips, cuts, strict=True)}
        paths["live"] = run_pass(lambda s: heard([c.segment for c in by_clip[id(s)]]), clips)
        paths["live"]["segments"] = sum(map(len, cuts))  # type: ignore[index]
        spans = [[c.seconds() for c in cut] for cut in cuts]
    paths["lost_at_segment_edges"] = lost_at_segment_edges(engine, clips, spans)
    return paths


class BareWhisper:
    """faster-whisper as its README uses it: beam 5 and its own VAD filter, nothing of Voxframe's."""

    name, model = "faster-whisper (bare)", "tiny.en"

    def __init__(self) -> None:
        from faster_whisper import WhisperModel

        from services.transcriber.engines.whisper import model_directory

        self._whisper = WhisperModel(str(model_directory("tiny.en")), device="cpu", compute_type="int8",
                                     local_files_only=True)

    def transcribe(self, samples: np.ndarray) -> object:
        from services.transcriber.engines import Recognition
        from shared.audio import to_float32

        segments, _ = self._whisper.transcribe(to_float32(samples), language="en", beam_size=5, vad_filter=True)
        return Recognition(text=" ".join(s.text.strip() for s in segments))


def simulate_capacity(segments: list[tuple[float, float]], stream_s: float, seed: int = 1) -> dict[str, object]:
    """Largest N mics (each replaying the stream, random phase) one FIFO worker serves with p95 wait
    under LATENCY_BOUND_S; `segments` are (end time in the stream, measured engine seconds)."""
    rng = random.Random(seed)
    best, waits_at_best = 0, 0.0
    for mics in range(1, 200):
        arrivals = sorted((phase + lap * stream_s + end, cost)
                          for phase in (rng.uniform(0, stream_s) for _ in range(mics))
                          for lap in range(STREAM_REPEATS) for end, cost in segments)
        clock, waits = 0.0, []
        for arrival, cost in arrivals:
            clock = max(clock, arrival) + cost
            waits.append(clock - arrival)
        p95 = percentile(waits, 95)
        if p95 > LATENCY_BOUND_S:
            break
        best, waits_at_best = mics, p95
    return {"capacity_mics": best, "p95_wait_seconds_at_capacity": round(waits_at_best, 2),
            "latency_bound_seconds": LATENCY_BOUND_S}


def stream_pass(engine: object, data: list[tuple[str, np.ndarray, str]]) -> dict[str, object]:
    """All files joined into one stream, cut at pauses exactly as a live mic is, each segment timed: WER, speed
    and the capacity those times give."""
    from shared.audio import SegmenterOptions, segment_file

    stream = np.concatenate([s for _, s, _ in data])
    cut = segment_file(stream, SegmenterOptions())
    timed = []
    text = []
    for segment in cut:
        t0 = time.perf_counter()
        text.append(engine.transcribe(segment.samples).text)  # type: ignore[attr-defined]
        timed.append((segment.end_sample / RATE, time.perf_counter() - t0))
    streamed = errors(" ".join(r for _, _, r in data), " ".join(text))
    engine_s = sum(cost for _, cost in timed)
    return {
        "wer": round(streamed.total / streamed.words, 4), "deletions": streamed.deletions,
        "insertions": streamed.insertions,
        "segments": len(cut), "audio_seconds": round(len(stream) / RATE, 2),
        "segment_seconds_mean": round(float(np.mean([s.duration_seconds for s in cut])), 2),
        "segment_seconds_max": round(max(s.duration_seconds for s in cut), 2),
        "engine_seconds": round(engine_s, 2), "real_time_factor": round(engine_s / (len(stream) / RATE), 4),
        "mics_at_full_load": round(len(stream) / RATE / engine_s, 1),
        **simulate_capacity(timed, len(stream) / RATE),
    }


def bench_engine(name: str, env: dict[str, str], folders: list[str], noise: bool) -> dict[str, object]:
    """In a child process: load the engine, run every pass, report with this process's peak RSS."""
    os.environ.update(env)
    from services.transcriber.__main__ import TranscriberSettings, build_engine

    rss_before_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    bare = name == BARE
    engine = BareWhisper() if bare else build_engine(TranscriberSettings())
    load_s = time.perf_counter() - started

    def whole(samples: np.ndarray) -> str:
        return str(engine.transcribe(samples).text)  # type: ignore[attr-defined]

    result: dict[str, object] = {"engine": engine.name, "model": engine.model, "load_seconds": round(load_s, 3)}
    rng = np.random.default_rng(0)
    for folder in folders:
        data = load_folder(Path(folder))
        print(f"[{name}] {folder}: {len(data)} files", flush=True)
        per_folder: dict[str, object] = {"files": len(data)}
        if bare:
            per_folder["file_by_file"] = run_pass(whole, data)
        else:
            per_folder.update(pipeline_paths(engine, data))
        per_folder["stream"] = stream_pass(engine, data)
        if noise and folder == folders[0]:
            clips = [(f, with_noise(s, NOISE_SNR_DB, rng), r) for f, s, r in data]
            per_folder[f"pink_noise_{NOISE_SNR_DB:g}db"] = run_pass(whole, clips)
        result[folder] = per_folder
        print(f"[{name}] {folder}: {per_folder}", flush=True)
    seconds = 10 * RATE
    invented = {}
    for label, samples in (("silence", np.zeros(seconds, np.int16)),
                           ("white_noise", (rng.standard_normal(seconds) * 3000).astype(np.int16)),
                           ("pink_noise", (pink_noise(seconds, rng) * 3000).astype(np.int16))):
        invented[label] = engine.transcribe(samples).text  # type: ignore[attr-defined]
    result["text_on_non_speech"] = invented
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    result["rss_after_imports_mb"] = round(rss_before_mb, 1)
    return result


def engines_to_run(models: list[str]) -> dict[str, dict[str, str]]:
    engines = {DEFAULT: {"VOXFRAME_STT_ENGINE": "faster-whisper", "VOXFRAME_WHISPER_MODEL": "tiny.en"}, BARE: {}}
    for model in models:
        engines[f"faster-whisper {Path(model).name}"] = {"VOXFRAME_STT_ENGINE": "faster-whisper",
                                                         "VOXFRAME_WHISPER_MODEL": model}
    if os.environ.get("VOXFRAME_ASSEMBLYAI_API_KEY"):
        engines["assemblyai"] = {"VOXFRAME_STT_ENGINE": "assemblyai"}
    return engines


def cpu_model() -> str:
    """Whisper's output shifts with the CPU's floating-point path, so results name the CPU they came from."""
    try:
        with open("/proc/cpuinfo") as f:
            return next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "?")
    except OSError:
        return platform.processor() or "?"


def compare(pipeline: dict, bare: dict) -> dict[str, object]:
    """Pipeline against the bare engine on one folder: each of the pipeline's paths (`transcribe`, `upload`,
    `live`) against the bare engine on whole files, streamed against streamed, noisy against noisy. `ok`: on every
    path no file has more errors, WER is within 0.01 and deletions within 5 % of the bare engine's."""
    whole = bare["file_by_file"]
    paths = {p: (pipeline[p], whole) for p in PATHS if "wer" in pipeline.get(p, {})}
    paths.update({p: (pipeline[p], bare[p]) for p in ("stream", f"pink_noise_{NOISE_SNR_DB:g}db")
                  if p in pipeline and p in bare})
    result: dict[str, object] = {}
    ok = True
    for path, (ours, theirs) in paths.items():
        fields = ("wer", "deletions", "insertions") if "deletions" in ours else ("wer",)
        entry: dict[str, object] = {f: {"pipeline": ours[f], "bare": theirs[f]} for f in fields}
        if "per_file" in ours:
            worse = {name: {"pipeline": e["errors"], "bare": theirs["per_file"][name]["errors"]}
                     for name, e in ours["per_file"].items() if e["errors"] > theirs["per_file"][name]["errors"]}
            entry["files_worse_than_bare"] = worse
            ok = ok and not worse
        if path in (*PATHS, "stream"):
            ok = ok and ours["wer"] <= theirs["wer"] + 0.01 and ("deletions" not in ours
                                                                  or ours["deletions"] <= theirs["deletions"] * 1.05)
        result[path] = entry
    result["ok"] = ok
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folders", nargs="*", default=[str(f) for f in (REAL_AUDIO, CONVERSATION) if f.is_dir()],
                        help="folders with manifest.tsv + WAVs")
    parser.add_argument("--model", action="append", default=[], help="also bench this faster-whisper model folder")
    parser.add_argument("--no-noise", action="store_true", help="skip the pink-noise pass")
    args = parser.parse_args()
    engines = engines_to_run(args.model)
    # Other work on the machine inflates RTF (and so lowers capacity): the load average says how busy it was.
    results: dict[str, object] = {"targets": TARGETS, "cpu": cpu_model(),
                                  "load_average_1m_at_start": os.getloadavg()[0], "engines": {}}
    if "assemblyai" not in engines:
        results["skipped"] = {"assemblyai": "VOXFRAME_ASSEMBLYAI_API_KEY not set"}
    for name, env in engines.items():
        with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
            results["engines"][name] = pool.submit(bench_engine, name, env, args.folders,  # type: ignore[index]
                                                   not args.no_noise and name != "assemblyai").result()
    default = results["engines"][DEFAULT]  # type: ignore[index]
    real = default[args.folders[0]]
    results["pipeline_vs_bare"] = {folder: compare(default[folder], results["engines"][BARE][folder])  # type: ignore[index]
                                   for folder in args.folders}
    bare_rss = results["engines"][BARE]["peak_rss_mb"]  # type: ignore[index]
    results["default_engine_vs_targets"] = {
        "wer": real["transcribe"]["wer"], "wer_ok": real["transcribe"]["wer"] <= TARGETS["wer"],
        "wer_real_ok": real["transcribe"]["wer"] <= TARGETS["wer_real"],
        "never_worse_than_bare": all(c["ok"] for c in results["pipeline_vs_bare"].values()),  # type: ignore[attr-defined]
        "real_time_factor": real["stream"]["real_time_factor"],
        "real_time_factor_ok": real["stream"]["real_time_factor"] <= TARGETS["real_time_factor"],
        "peak_rss_mb": default["peak_rss_mb"], "bare_peak_rss_mb": bare_rss,
        "peak_rss_vs_bare": round(default["peak_rss_mb"] / bare_rss, 3),
        "peak_rss_ok": default["peak_rss_mb"] <= TARGETS["peak_rss_vs_bare"] * bare_rss,
        "capacity_mics": real["stream"]["capacity_mics"],
        "capacity_ok": real["stream"]["capacity_mics"] >= TARGETS["capacity_mics"],
        "no_text_on_non_speech": not any(default["text_on_non_speech"].values()),
    }
    results["load_average_1m_at_end"] = os.getloadavg()[0]
    save_results("stt", results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
