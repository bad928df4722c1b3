"""`make bench-stt`: word error rate, speed, memory and capacity of each available speech-to-text engine.

Each engine runs in its own process (so its peak RSS is its own) over every folder given (default
../shared/audio/real; a folder needs a manifest.tsv with `file` and `reference_text` columns), three ways:
file by file; all files joined into one stream and cut at pauses exactly as a live mic is; and file by file
with pink noise at 10 dB SNR. It also feeds silence, white and pink noise, which must produce no words.
Capacity is the number of continuously talking mics one replica keeps up with: N mics replay the joined
stream at random phases into one FIFO worker whose per-segment times are the measured ones; the largest N
whose p95 wait stays under LATENCY_BOUND_S counts.
The same passes run over bare faster-whisper tiny.en (beam 5, its own `vad_filter`, its default decoding, none of
Voxframe's guards), and `pipeline_vs_bare` compares the two on the same files in the same run, file by file and
streamed: the pipeline must never be worse than the engine it wraps.
Targets (default engine, 2 cores): WER <= 5 % (<= 4 % and <= bare on ../shared/audio/real), RTF <= 0.1,
peak RSS <= 400 MB, capacity >= 8 mics.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import random
import resource
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._results import percentile, save_results
from services.transcriber.wer import edit_distance, normalise
from shared.audio import SAMPLE_RATE_HZ as RATE

REAL_AUDIO = Path(__file__).resolve().parents[2] / "shared" / "audio" / "real"
NOISE_SNR_DB = 10.0
LATENCY_BOUND_S = 5.0
STREAM_REPEATS = 5
TARGETS = {"wer": 0.05, "wer_real": 0.04, "real_time_factor": 0.1, "peak_rss_mb": 400, "capacity_mics": 8}
DEFAULT = "faster-whisper tiny.en"
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


def run_pass(engine: object, clips: list[tuple[str, np.ndarray, str]]) -> dict[str, object]:
    """Transcribe each (name, samples, reference); totals of word errors, reference words, audio and engine
    seconds, and the word errors of each clip by name."""
    errors = words = 0
    audio_s = engine_s = 0.0
    per_clip: dict[str, int] = {}
    for name, samples, reference in clips:
        started = time.perf_counter()
        heard = engine.transcribe(samples)  # type: ignore[attr-defined]
        engine_s += time.perf_counter() - started
        audio_s += len(samples) / RATE
        ref = normalise(reference)
        per_clip[name] = edit_distance(ref, normalise(heard.text))
        errors += per_clip[name]
        words += len(ref)
    return {"wer": round(errors / words, 4), "word_errors": errors, "reference_words": words,
            "audio_seconds": round(audio_s, 2), "engine_seconds": round(engine_s, 2),
            "real_time_factor": round(engine_s / audio_s, 4), "word_errors_per_file": per_clip}


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


def bench_engine(name: str, env: dict[str, str], folders: list[str], noise: bool) -> dict[str, object]:
    """In a child process: load the engine, run every pass, report with this process's peak RSS."""
    os.environ.update(env)
    from services.transcriber.__main__ import TranscriberSettings, build_engine
    from shared.audio import SegmenterOptions, segment_file

    rss_before_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    engine = BareWhisper() if name == BARE else build_engine(TranscriberSettings())
    load_s = time.perf_counter() - started
    result: dict[str, object] = {"engine": engine.name, "model": engine.model, "load_seconds": round(load_s, 3)}
    rng = np.random.default_rng(0)
    for folder in folders:
        data = load_folder(Path(folder))
        print(f"[{name}] {folder}: {len(data)} files", flush=True)
        per_folder: dict[str, object] = {"files": len(data)}
        per_folder["file_by_file"] = run_pass(engine, data)
        stream = np.concatenate([s for _, s, _ in data])
        cut = segment_file(stream, SegmenterOptions())
        timed = []
        text = []
        for segment in cut:
            t0 = time.perf_counter()
            text.append(engine.transcribe(segment.samples).text)  # type: ignore[attr-defined]
            timed.append((segment.end_sample / RATE, time.perf_counter() - t0))
        reference = normalise(" ".join(r for _, _, r in data))
        engine_s = sum(cost for _, cost in timed)
        per_folder["stream"] = {
            "wer": round(edit_distance(reference, normalise(" ".join(text))) / len(reference), 4),
            "segments": len(cut), "audio_seconds": round(len(stream) / RATE, 2),
            "segment_seconds_mean": round(float(np.mean([s.duration_seconds for s in cut])), 2),
            "segment_seconds_max": round(max(s.duration_seconds for s in cut), 2),
            "engine_seconds": round(engine_s, 2), "real_time_factor": round(engine_s / (len(stream) / RATE), 4),
            "mics_at_full_load": round(len(stream) / RATE / engine_s, 1),
            **simulate_capacity(timed, len(stream) / RATE),
        }
        if noise:
            clips = [(f, with_noise(s, NOISE_SNR_DB, rng), r) for f, s, r in data]
            per_folder[f"pink_noise_{NOISE_SNR_DB:g}db"] = run_pass(engine, clips)
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
    """Pipeline against the bare engine on one folder: WER of each pass, and the files it got more wrong.
    `ok`: no file worse, and WER file by file and streamed no higher than the bare engine's."""
    passes = [p for p in ("file_by_file", "stream", f"pink_noise_{NOISE_SNR_DB:g}db") if p in pipeline and p in bare]
    wer = {p: {"pipeline": pipeline[p]["wer"], "bare": bare[p]["wer"]} for p in passes}
    ours, theirs = pipeline["file_by_file"]["word_errors_per_file"], bare["file_by_file"]["word_errors_per_file"]
    worse = {name: {"pipeline": ours[name], "bare": theirs[name]} for name in ours if ours[name] > theirs[name]}
    return {"wer": wer, "files_worse_than_bare": worse,
            "ok": not worse and all(wer[p]["pipeline"] <= wer[p]["bare"] for p in ("file_by_file", "stream"))}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folders", nargs="*", default=[str(REAL_AUDIO)], help="folders with manifest.tsv + WAVs")
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
    results["default_engine_vs_targets"] = {
        "wer": real["file_by_file"]["wer"], "wer_ok": real["file_by_file"]["wer"] <= TARGETS["wer"],
        "wer_real_ok": real["file_by_file"]["wer"] <= TARGETS["wer_real"],
        "never_worse_than_bare": all(c["ok"] for c in results["pipeline_vs_bare"].values()),  # type: ignore[attr-defined]
        "real_time_factor": real["stream"]["real_time_factor"],
        "real_time_factor_ok": real["stream"]["real_time_factor"] <= TARGETS["real_time_factor"],
        "peak_rss_mb": default["peak_rss_mb"], "peak_rss_ok": default["peak_rss_mb"] <= TARGETS["peak_rss_mb"],
        "capacity_mics": real["stream"]["capacity_mics"],
        "capacity_ok": real["stream"]["capacity_mics"] >= TARGETS["capacity_mics"],
        "no_text_on_non_speech": not any(default["text_on_non_speech"].values()),
    }
    results["load_average_1m_at_end"] = os.getloadavg()[0]
    save_results("stt", results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
