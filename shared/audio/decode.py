"""Reading audio files and uploads of any common format into 16 kHz mono int16 samples."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile

from shared.audio.convert import SAMPLE_RATE_HZ, to_pipeline_format

AudioSource = str | os.PathLike[str] | bytes


class AudioDecodeError(ValueError):
    """The input is not audio we can read (decided by its content, not its name)."""


def decode_audio(source: AudioSource) -> np.ndarray:
    """Decode a file path or the bytes of a file to 16 kHz mono int16.

    WAV/FLAC/OGG/MP3 go through libsndfile; anything else (M4A, WebM/Opus, ...) through ffmpeg when it is
    installed. Raises AudioDecodeError for content that is not audio, FileNotFoundError for a missing path.
    """
    if not isinstance(source, bytes) and not Path(source).is_file():
        raise FileNotFoundError(f"no such audio file: {source}")
    try:
        samples, rate_hz = _read_with_libsndfile(source)
    except soundfile.LibsndfileError as exc:
        return _read_with_ffmpeg(source, libsndfile_error=str(exc))
    return to_pipeline_format(samples, rate_hz)


def _read_with_libsndfile(source: AudioSource) -> tuple[np.ndarray, int]:
    with soundfile.SoundFile(io.BytesIO(source) if isinstance(source, bytes) else source) as f:
        exact = f.subtype in ("PCM_16", "PCM_S8", "PCM_U8")  # int16 keeps the samples bit-exact
        samples = f.read(dtype="int16" if exact else "float32", always_2d=True)
        return samples, f.samplerate


def _read_with_ffmpeg(source: AudioSource, libsndfile_error: str) -> np.ndarray:
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise AudioDecodeError(f"not a WAV/FLAC/OGG/MP3 file ({libsndfile_error}); "
                               "install ffmpeg to read other formats")
    if isinstance(source, bytes):
        # A temporary file, not a pipe: MP4-family files keep their index at the end and need seeking.
        with tempfile.NamedTemporaryFile(prefix="voxframe-upload-") as tmp:
            tmp.write(source)
            tmp.flush()
            return _run_ffmpeg(ffmpeg, tmp.name)
    return _run_ffmpeg(ffmpeg, os.fspath(source))


def _run_ffmpeg(ffmpeg: str, path: str) -> np.ndarray:
    command = [ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-i", path, "-map", "0:a:0",
               "-af", "aresample=resampler=soxr", "-f", "s16le", "-acodec", "pcm_s16le",
               "-ac", "1", "-ar", str(SAMPLE_RATE_HZ), "pipe:1"]
    result = subprocess.run(command, capture_output=True, check=False)
    if result.returncode != 0:
        lines = result.stderr.decode(errors="replace").replace(f"{path}: ", "").strip().splitlines()
        raise AudioDecodeError(f"not audio that libsndfile or ffmpeg can read: {lines[-1] if lines else 'no detail'}")
    return np.frombuffer(result.stdout, dtype="<i2").astype(np.int16)
