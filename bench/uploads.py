"""Upload decoding under hostile input: how fast, and with how much memory, a decompression bomb is refused,
beside what a legal upload costs.

    make bench-uploads

Inputs, made fresh each run: a FLAC of 60 minutes of 48 kHz stereo silence (a few hundred KB that decode to
~1.3 GB of float samples), the same FLAC with its length field zeroed (so only the streamed decode's stop can
refuse it), the silence as a piped WebM/Opus (the ffmpeg path) and a legal 10-minute 48 kHz stereo FLAC of speech.
Each case runs `services.display.jobs.uploads.prepare` — what `POST /api/uploads` runs — in a fresh child process
that reads its peak RSS (`ru_maxrss`) just before the call (the baseline: interpreter, imports, the file's
bytes) and after it (VmHWM); the parent samples the RSS of the child's whole tree, ffmpeg included, every 5 ms. \
Targets: the bomb refused in
< 1 s with < 100 MB over the baseline; the legal upload accepted within 300 MB over it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile
import soxr

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._results import save_results
from shared.audio import SAMPLE_RATE_HZ, decode_audio
from tests.support import REAL_AUDIO

LIMIT_SECONDS = 600.0  # the display's default VOXFRAME_UPLOAD_MAX_SECONDS
BOMB_SECONDS = 3600
TARGET_REFUSAL_SECONDS = 1.0
TARGET_REFUSAL_EXTRA_MB = 100.0
TARGET_LEGAL_EXTRA_MB = 300.0


def make_bomb_flac(path: Path) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i", "anullsrc=r=48000:cl=stereo",
                    "-t", str(BOMB_SECONDS), "-c:a", "flac", "-y", str(path)], check=True)


def make_bomb_flac_unknown_length(path: Path) -> None:
    """The same FLAC with STREAMINFO's total-samples field zeroed ("unknown", as the format allows): only the
    streamed decode's stop at the limit can refuse it."""
    make_bomb_flac(path)
    data = bytearray(path.read_bytes())
    data[21] &= 0xF0  # total samples: the low 4 bits of byte 13 of STREAMINFO (which starts at byte 8)...
    data[22:26] = bytes(4)  # ...and the next 4 bytes
    path.write_bytes(bytes(data))


def make_bomb_webm(path: Path) -> None:
    """The silence as WebM/Opus, written through a pipe as a live recorder would: decoded by ffmpeg."""
    with path.open("wb") as out:
        subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i",
                        "anullsrc=r=48000:cl=stereo", "-t", str(BOMB_SECONDS), "-c:a", "libopus", "-b:a", "6k",
                        "-f", "webm", "pipe:1"], check=True, stdout=out)


def make_legal_flac(path: Path) -> None:
    """Ten minutes of the real recordings with pauses between them, as a 48 kHz stereo phone recording."""
    speech = [soxr.resample(decode_audio(p).astype(np.float32) / 32768, SAMPLE_RATE_HZ, 48000)
              for p in sorted(REAL_AUDIO.glob("*.wav"))]
    pause = np.zeros(48000, dtype=np.float32)
    total = int(LIMIT_SECONDS * 48000)
    pieces = [piece for _ in range(total // sum(len(s) + len(pause) for s in speech) + 1) for s in speech
              for piece in (s, pause)]
    mono = np.concatenate(pieces)[:total]
    soundfile.write(path, np.stack([mono, mono * 0.8], axis=1), 48000, format="FLAC", subtype="PCM_16")


def _peak_rss_mb() -> float:
    """This process's own peak RSS (VmHWM: per address space, so not inherited from the parent as ru_maxrss is)."""
    status = Path("/proc/self/status").read_text()
    return int(status.split("VmHWM:")[1].split()[0]) / 1024


def _tree_rss_mb(pid: int) -> float:
    """Current RSS of a process and all its descendants (the child and any ffmpeg it runs)."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            total += int(Path(f"/proc/{current}/status").read_text().split("VmRSS:")[1].split()[0])
            for task in Path(f"/proc/{current}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
    return total / 1024


def child(path: str) -> None:
    """In a fresh process: peak RSS before and after one `prepare`, its outcome and its wall time."""
    from services.display.jobs.uploads import UploadRejected, prepare

    data = Path(path).read_bytes()
    before = _peak_rss_mb()
    started = time.perf_counter()
    try:
        upload = prepare(data, LIMIT_SECONDS)
        outcome = f"accepted: {len(upload.pieces)} segments, {upload.audio_seconds:.1f} s"
    except UploadRejected as exc:
        outcome = f"refused {exc.status}: {exc}"
    seconds = time.perf_counter() - started
    after = _peak_rss_mb()
    print(json.dumps({"outcome": outcome, "seconds": round(seconds, 3), "baseline_rss_mb": round(before, 1),
                      "peak_rss_mb": round(after, 1), "extra_rss_mb": round(after - before, 1)}))


def measure(path: Path) -> dict[str, object]:
    """Run one case in a child; sample the RSS of its process tree (ffmpeg included) every 5 ms meanwhile."""
    proc = subprocess.Popen([sys.executable, __file__, "--child", str(path)], stdout=subprocess.PIPE, text=True,
                            cwd=ROOT)
    tree_peak = 0.0
    while proc.poll() is None:
        tree_peak = max(tree_peak, _tree_rss_mb(proc.pid))
        time.sleep(0.005)
    out = proc.stdout.read() if proc.stdout else ""
    if proc.returncode:
        raise RuntimeError(f"bench child failed with {proc.returncode}")
    return {"file_kb": round(path.stat().st_size / 1024, 1), **json.loads(out.strip().splitlines()[-1]),
            "tree_peak_rss_mb_sampled": round(tree_peak, 1)}


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="voxframe-bench-uploads-") as tmp:
        cases = {"bomb_flac_60min": (Path(tmp) / "bomb.flac", make_bomb_flac),
                 "bomb_flac_60min_length_unknown": (Path(tmp) / "liar.flac", make_bomb_flac_unknown_length),
                 "bomb_webm_60min_piped": (Path(tmp) / "bomb.webm", make_bomb_webm),
                 "legal_flac_10min": (Path(tmp) / "legal.flac", make_legal_flac)}
        results: dict[str, object] = {}
        for name, (path, make) in cases.items():
            make(path)
            results[name] = measure(path)
            print(name, results[name], flush=True)
    bomb, legal = results["bomb_flac_60min"], results["legal_flac_10min"]
    meets = (str(bomb["outcome"]).startswith("refused 413") and bomb["seconds"] < TARGET_REFUSAL_SECONDS
             and bomb["extra_rss_mb"] < TARGET_REFUSAL_EXTRA_MB
             and str(legal["outcome"]).startswith("accepted") and legal["extra_rss_mb"] < TARGET_LEGAL_EXTRA_MB)
    save_results("uploads", {"limit_seconds": LIMIT_SECONDS, **results,
                             "targets": {"refusal_seconds": TARGET_REFUSAL_SECONDS,
                                         "refusal_extra_rss_mb": TARGET_REFUSAL_EXTRA_MB,
                                         "legal_extra_rss_mb": TARGET_LEGAL_EXTRA_MB},
                             "meets_target": meets})
    return 0 if meets else 1


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2])
    else:
        sys.exit(main())
