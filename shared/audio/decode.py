"""Reading audio files and uploads of any common format into 16 kHz mono int16 samples.

A few hundred KB of compressed silence can claim hours of audio (a decompression bomb), so a length limit is
enforced twice: from the container's header before anything is decoded (where the format says), and while
decoding, which is streamed in blocks and stopped at the limit (for headers that lie or say nothing).
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import soundfile

from shared.audio.convert import StreamConverter
from shared.messages.audio import SAMPLE_RATE_HZ

AudioSource = str | os.PathLike[str] | bytes

BLOCK_FRAMES = 65536  # libsndfile frames decoded at a time (~1.4 s at 48 kHz)
PIPE_BYTES = 1 << 16  # ffmpeg output read at a time
FFMPEG_MARGIN_SECONDS = 1.0  # ffmpeg's `-t` sits this far past the limit, so "too long" is still noticed
DECODE_TIMEOUT_SECONDS = 60.0  # a legal upload decodes in a few seconds; a pathological file is cut off
_UNKNOWN_FRAMES = 1 << 62  # libsndfile's SF_COUNT_MAX: the header does not say how long the audio is


class AudioDecodeError(ValueError):
    """The input is not audio we can read (decided by its content, not its name)."""


class AudioTooLong(ValueError):
    """The audio is longer than the caller's limit; `seconds` is its length when the header said it."""

    def __init__(self, limit_seconds: float, seconds: float | None = None) -> None:
        super().__init__(f"the audio is {seconds:.0f} s long; the limit is {limit_seconds:.0f} s" if seconds is not None
                         else f"the audio is longer than the {limit_seconds:.0f} s limit")
        self.limit_seconds = limit_seconds
        self.seconds = seconds


def decode_audio(source: AudioSource, max_seconds: float | None = None,
                 timeout_seconds: float = DECODE_TIMEOUT_SECONDS) -> np.ndarray:
    """Decode a file path or the bytes of a file to 16 kHz mono int16.

    WAV/FLAC/OGG/MP3 go through libsndfile; anything else (M4A, WebM/Opus, ...) through ffmpeg when it is
    installed. With `max_seconds`, longer audio raises AudioTooLong without being decoded past the limit.
    Raises AudioDecodeError for content that is not audio (or takes over `timeout_seconds` to decode),
    FileNotFoundError for a missing path.
    """
    if not isinstance(source, bytes) and not Path(source).is_file():
        raise FileNotFoundError(f"no such audio file: {source}")
    deadline = time.monotonic() + timeout_seconds
    try:
        blocks = _read_with_libsndfile(source, max_seconds)
        return _collect(blocks, max_seconds, deadline, timeout_seconds)
    except soundfile.LibsndfileError as exc:
        return _read_with_ffmpeg(source, str(exc), max_seconds, deadline, timeout_seconds)


def _read_with_libsndfile(source: AudioSource, max_seconds: float | None) -> Iterator[np.ndarray]:
    """16 kHz mono int16 blocks; the header's length is checked before the first block is decoded."""
    with soundfile.SoundFile(io.BytesIO(source) if isinstance(source, bytes) else source) as f:
        if max_seconds is not None and 0 < f.frames < _UNKNOWN_FRAMES and f.frames / f.samplerate > max_seconds:
            raise AudioTooLong(max_seconds, f.frames / f.samplerate)
        exact = f.subtype in ("PCM_16", "PCM_S8", "PCM_U8")  # int16 keeps the samples bit-exact
        converter = StreamConverter(f.samplerate, f.channels)
        while len(block := f.read(BLOCK_FRAMES, dtype="int16" if exact else "float32", always_2d=True)):
            yield converter.convert(block)
        yield converter.convert(np.zeros((0, f.channels), dtype=np.float32), last=True)


def _collect(blocks: Iterator[np.ndarray], max_seconds: float | None, deadline: float,
             timeout_seconds: float) -> np.ndarray:
    """Join the blocks, stopping as soon as they pass the limit or the deadline."""
    limit = None if max_seconds is None else int(max_seconds * SAMPLE_RATE_HZ)
    out, total = [], 0
    for block in blocks:
        out.append(block)
        total += len(block)
        if limit is not None and max_seconds is not None and total > limit:  # limit is set with max_seconds
            raise AudioTooLong(max_seconds)
        if time.monotonic() > deadline:
            raise AudioDecodeError(f"decoding took longer than {timeout_seconds:.0f} s")
    return np.concatenate(out) if out else np.zeros(0, dtype=np.int16)


def _read_with_ffmpeg(source: AudioSource, libsndfile_error: str, max_seconds: float | None, deadline: float,
                      timeout_seconds: float) -> np.ndarray:
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise AudioDecodeError(f"not a WAV/FLAC/OGG/MP3 file ({libsndfile_error}); "
                               "install ffmpeg to read other formats")
    if isinstance(source, bytes):
        # A temporary file, not a pipe: MP4-family files keep their index at the end and need seeking.
        with tempfile.NamedTemporaryFile(prefix="voxframe-upload-") as tmp:
            tmp.write(source)
            tmp.flush()
            return _run_ffmpeg(ffmpeg, tmp.name, max_seconds, deadline, timeout_seconds)
    return _run_ffmpeg(ffmpeg, os.fspath(source), max_seconds, deadline, timeout_seconds)


def _probe_seconds(path: str, timeout_seconds: float) -> float | None:
    """The duration the container states (ffprobe), or None when it states none or ffprobe is missing."""
    ffprobe = shutil.which("ffprobe")
    if ffprobe is None:
        return None
    try:
        probed = subprocess.run([ffprobe, "-v", "error", "-protocol_whitelist", "file", "-show_entries",
                                 "format=duration", "-of", "default=noprint_wrappers=1:nokey=1", path],
                                capture_output=True, text=True, timeout=timeout_seconds, check=False)
        return float(probed.stdout.strip())
    except (subprocess.TimeoutExpired, ValueError):
        return None


def _run_ffmpeg(ffmpeg: str, path: str, max_seconds: float | None, deadline: float,
                timeout_seconds: float) -> np.ndarray:
    if max_seconds is not None:
        stated = _probe_seconds(path, max(0.1, deadline - time.monotonic()))
        if stated is not None and stated > max_seconds:
            raise AudioTooLong(max_seconds, stated)
    command = [ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-protocol_whitelist", "file,pipe",
               "-i", path, "-map", "0:a:0", "-af", "aresample=resampler=soxr",
               *(["-t", f"{max_seconds + FFMPEG_MARGIN_SECONDS:.3f}"] if max_seconds is not None else []),
               "-f", "s16le", "-acodec", "pcm_s16le", "-ac", "1", "-ar", str(SAMPLE_RATE_HZ), "pipe:1"]
    with tempfile.TemporaryFile() as errors, \
            subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors) as proc:
        timer = threading.Timer(max(0.0, deadline - time.monotonic()), proc.kill)
        timer.start()
        try:
            samples = _collect(_pcm_blocks(proc), max_seconds, deadline, timeout_seconds)
        finally:
            timer.cancel()
            proc.kill()  # a no-op once it has exited; stops it when we gave up early
            returncode = proc.wait()
        if time.monotonic() > deadline:
            raise AudioDecodeError(f"decoding took longer than {timeout_seconds:.0f} s")
        if returncode != 0:
            errors.seek(0)
            lines = errors.read(8192).decode(errors="replace").replace(f"{path}: ", "").strip().splitlines()
            raise AudioDecodeError("not audio that libsndfile or ffmpeg can read: "
                                   f"{lines[-1] if lines else 'no detail'}")
    return samples


def _pcm_blocks(proc: subprocess.Popen[bytes]) -> Iterator[np.ndarray]:
    assert proc.stdout is not None
    carry = b""
    while chunk := proc.stdout.read(PIPE_BYTES):
        data, carry = carry + chunk, b""
        if len(data) % 2:
            data, carry = data[:-1], data[-1:]
        yield np.frombuffer(data, dtype="<i2").astype(np.int16)
