"""Capture: CPU per live mic (the VAD's real-time factor) and segment-boundary error on real speech.

Targets: one core carries >= 50 live mics of VAD + segmenting; boundaries within ~300 ms of the speech.
Boundary reference: each recording in ../shared/audio/real holds one utterance; its speech is where the
10 ms frames come within 35 dB of its loudest (tests/capture/reference.py), padded by 1.5 s of silence.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._results import percentile, save_results
from shared.audio import SAMPLE_RATE_HZ, Segmenter, SegmenterOptions, decode_audio, segment_file
from tests.capture.reference import speech_bounds
from tests.support import REAL_AUDIO

PAUSE_SECONDS = 1.5
MICS = 50
MIC_SECONDS = 60.0
BLOCK_MS = 100


def corpus() -> tuple[np.ndarray, list[tuple[str, int, int]]]:
    """All recordings, pause-separated, and where each one's speech lies."""
    pause = np.zeros(int(PAUSE_SECONDS * SAMPLE_RATE_HZ), dtype=np.int16)
    pieces, truth, offset = [pause], [], len(pause)
    for path in sorted(REAL_AUDIO.glob("*.wav")):
        samples = decode_audio(path)
        start, end = speech_bounds(samples)
        truth.append((path.name, offset + start, offset + end))
        pieces += [samples, pause]
        offset += len(samples) + len(pause)
    return np.concatenate(pieces), truth


def boundary_errors(stream: np.ndarray, truth: list[tuple[str, int, int]]) -> dict[str, object]:
    segments = segment_file(stream)
    starts, ends, split, missed = [], [], [], []
    for name, start, end in truth:
        inside = [s for s in segments if s.start_sample < end and s.end_sample > start]
        if not inside:
            missed.append(name)
            continue
        if len(inside) > 1:
            split.append(name)
        starts.append((inside[0].start_sample - start) * 1000 / SAMPLE_RATE_HZ)
        ends.append((inside[-1].end_sample - end) * 1000 / SAMPLE_RATE_HZ)
    merged = sum(1 for s in segments if sum(s.start_sample < e and s.end_sample > b for _, b, e in truth) > 1)
    abs_errors = [abs(x) for x in starts + ends]
    return {
        "recordings": len(truth), "segments": len(segments), "missed": missed, "split": split,
        "segments_spanning_two_recordings": merged,
        "start_error_ms": {"median": percentile(starts, 50), "min": min(starts), "max": max(starts)},
        "end_error_ms": {"median": percentile(ends, 50), "min": min(ends), "max": max(ends)},
        "abs_error_ms": {"p50": percentile(abs_errors, 50), "p95": percentile(abs_errors, 95),
                         "max": max(abs_errors)},
        "within_350_ms": sum(e <= 350 for e in abs_errors) / len(abs_errors),
    }


def cpu_per_mic(stream: np.ndarray, block_ms: int) -> dict[str, float]:
    """MICS segmenters fed round-robin, as one process serving many mics would; CPU time, not wall time."""
    block = SAMPLE_RATE_HZ * block_ms // 1000
    total = int(MIC_SECONDS * SAMPLE_RATE_HZ)
    looped = np.tile(stream, int(np.ceil((total + MICS * SAMPLE_RATE_HZ) / len(stream))))
    mics = [(Segmenter(SegmenterOptions()), i * SAMPLE_RATE_HZ) for i in range(MICS)]  # different offsets
    started = time.process_time()
    for begin in tqdm(range(0, total, block), desc=f"{MICS} mics, {block_ms} ms blocks", unit="block",
                      mininterval=1.0):
        for segmenter, offset in mics:
            segmenter.feed(looped[offset + begin:offset + begin + block])
    cpu = time.process_time() - started
    audio_seconds = MICS * total / SAMPLE_RATE_HZ
    vad = sum(s.vad_seconds for s, _ in mics)
    return {"block_ms": block_ms, "audio_seconds": audio_seconds, "cpu_seconds": round(cpu, 3),
            "real_time_factor_per_mic": round(cpu / audio_seconds, 5),
            "vad_share_of_cpu": round(vad / cpu, 3),
            "mics_per_core": round(audio_seconds / cpu, 1)}


def decode_speed(stream: np.ndarray) -> dict[str, float]:
    import tempfile

    import soundfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "corpus.mp3"
        soundfile.write(path, np.tile(stream, 2), SAMPLE_RATE_HZ, format="MP3")
        started = time.perf_counter()
        decoded = decode_audio(path)
        elapsed = time.perf_counter() - started
    return {"mp3_audio_seconds": round(len(decoded) / SAMPLE_RATE_HZ, 1),
            "times_real_time": round(len(decoded) / SAMPLE_RATE_HZ / elapsed, 1)}


def main() -> None:
    stream, truth = corpus()
    print(f"corpus: {len(truth)} recordings, {len(stream) / SAMPLE_RATE_HZ:.0f} s with pauses")
    cpu = [cpu_per_mic(stream, block_ms) for block_ms in (BLOCK_MS, 20)]
    results = {
        "defaults": SegmenterOptions().__dict__,
        "boundaries": boundary_errors(stream, truth),
        "cpu": cpu,
        "decode": decode_speed(stream),
        "targets": {"mics_per_core_at_least": 50,
                    "met": cpu[0]["mics_per_core"] >= 50},
    }
    save_results("capture", results)


if __name__ == "__main__":
    main()
