"""Live capture through sounddevice from a PulseAudio virtual microphone: exact samples, unplug survived."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import numpy as np
import pytest

from services.capture.sources.microphone import Microphone
from services.capture.watchdog import EXIT_STUCK, STALLS_STUCK
from shared.audio import SAMPLE_RATE_HZ, SegmenterOptions, decode_audio
from shared.messages import AudioSegment, EndReason, MicStatus
from tests.capture.conftest import listening, messages
from tests.capture.pulse import VirtualMic
from tests.capture.reference import speech_bounds
from tests.support import Broker, stays, wait_for

pytestmark = pytest.mark.skipif(shutil.which("pulseaudio") is None or shutil.which("pactl") is None,
                                reason="pulseaudio is not installed (apt-get install pulseaudio libasound2-plugins)")

SPEECH = "pocketsphinx_librivox_ss01_0880.wav"
MS = SAMPLE_RATE_HZ // 1000
STUCK_SECONDS = STALLS_STUCK * Microphone().stall_seconds  # a capture silent this long is stuck; twice, it exits


def test_every_capture_metric_names_the_room_and_the_mic(start_capture, mic: VirtualMic) -> None:  # type: ignore[no-untyped-def]
    """Dashboards and alerts tell mics apart by name, not by the container's address."""
    capture = listening(start_capture, mic)
    for name in ("voxframe_capture_device_up", "voxframe_capture_input_level_dbfs", "voxframe_capture_muted"):
        samples = wait_for(lambda n=name: capture.samples(n), timeout=10, message=name)  # type: ignore[misc]
        assert [labels for labels, _ in samples] == [{"room": "den", "mic": "desk"}], name  # type: ignore[union-attr]


def test_a_microphone_stuck_inside_the_audio_library_fails_health_then_exits(start_capture, mic: VirtualMic) -> None:  # type: ignore[no-untyped-def]
    """A sound server that stops answering holds PortAudio's abort() for a minute (the stall check cannot act from
    inside it): the capture says so on /healthz and in its log, then exits for a restart with a fresh PortAudio."""
    capture = listening(start_capture, mic)
    with mic.frozen():
        frozen_at = time.monotonic()
        wait_for(lambda: not capture.healthy() and capture.metric("voxframe_capture_device_up") == 0,
                 timeout=STUCK_SECONDS + 4, message="health to fail")
        assert "stuck inside the audio library" in capture.output()
        assert capture.wait(timeout=frozen_at + 2 * STUCK_SECONDS + 4 - time.monotonic()) == EXIT_STUCK
    assert "exiting" in capture.output()


def test_a_silent_microphone_is_not_declared_stuck(start_capture, mic: VirtualMic) -> None:  # type: ignore[no-untyped-def]
    """Digital silence is audio: blocks keep coming, so past the exit bound the capture is healthy and running."""
    capture = listening(start_capture, mic)
    stays(lambda: capture.healthy() and capture.metric("voxframe_capture_device_up") == 1,
          seconds=2 * STUCK_SECONDS + 1, message="a healthy capture of silence")
    assert capture.stop() == 0


def test_only_a_capture_process_exports_capture_metrics() -> None:
    """Every worker imports the capture's module (the CLI loads every subcommand): a transcriber exporting
    `voxframe_capture_device_up 0` would be a dead mic to VoxframeMicDead."""
    import subprocess
    import sys

    code = ("import shared.cli, services.capture.metrics; from prometheus_client import generate_latest, REGISTRY; "
            "print(generate_latest(REGISTRY).decode())")
    exported = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "voxframe_capture_" not in exported


def _assert_exactly_the_speech(segment: AudioSegment, clip: np.ndarray) -> None:
    """The segment is a slice of silence + clip + silence, bit for bit, starting within ~300 ms of the speech and
    ending up to the post-roll (and 150 ms) after it."""
    pcm = np.frombuffer(segment.pcm, dtype="<i2")
    clip_at = int(np.flatnonzero(pcm)[0]) - int(np.flatnonzero(clip)[0])  # where the clip starts inside pcm
    expected = np.zeros(len(pcm), dtype=np.int16)
    first, last = max(0, clip_at), min(len(pcm), clip_at + len(clip))
    expected[first:last] = clip[first - clip_at:last - clip_at]
    assert np.array_equal(pcm, expected)
    speech_start, speech_end = speech_bounds(clip)
    assert abs(clip_at + speech_start) <= 350 * MS, f"starts {(clip_at + speech_start) / MS:.0f} ms before speech"
    after_ms = (len(pcm) - clip_at - speech_end) / MS
    assert -350 <= after_ms <= SegmenterOptions().post_roll_ms + 150, f"ends {after_ms:.0f} ms after speech"


class _Tap:
    """Everything published to a tap queue so far, kept in order."""

    def __init__(self, broker: Broker, *bindings: str) -> None:
        self.broker, self.queue, self.seen = broker, broker.tap(*bindings), []

    def of(self, kind: type) -> list:  # type: ignore[type-arg]
        self.seen += messages(self.broker, self.queue)
        return [m for m in self.seen if isinstance(m, kind)]


def test_speech_into_a_real_microphone_is_published_bit_exact_and_silence_is_not(
        speech_dir: Path, broker: Broker, start_capture, mic: VirtualMic) -> None:
    tap = _Tap(broker, "audio.#", "status.#")
    capture = listening(start_capture, mic)
    wait_for(lambda: len(tap.of(MicStatus)) >= 2, timeout=10, message="two statuses of silence")
    clip = decode_audio(speech_dir / SPEECH)
    mic.play(clip)
    [segment] = wait_for(lambda: tap.of(AudioSegment), timeout=20, message="the spoken segment")
    assert (segment.room, segment.source, segment.sequence, segment.end_reason) == \
           ("den", "desk", 0, EndReason.SILENCE)
    _assert_exactly_the_speech(segment, clip)
    statuses = tap.of(MicStatus)
    assert all(s.device == "pulse" and not s.muted for s in statuses)
    assert statuses[0].speech_ratio == 0 and statuses[0].level_dbfs == -100  # digital silence first
    assert any(s.speech_ratio > 0.3 for s in statuses)
    assert capture.stop() == 0


@pytest.mark.slow
def test_an_unplugged_microphone_is_reopened_when_it_comes_back(
        speech_dir: Path, broker: Broker, start_capture, mic: VirtualMic) -> None:
    tap = _Tap(broker, "audio.#")
    capture = listening(start_capture, mic)
    mic.unplug()
    wait_for(lambda: capture.metric("voxframe_capture_device_up") == 0, timeout=15, message="the loss noticed")
    wait_for(lambda: capture.metric("voxframe_capture_device_reopens_total") >= 2, timeout=15,
             message="a failed reopen")
    assert capture.process.poll() is None, capture.output()
    assert capture.output().count("Input failed") == 1  # logged once, not once per retry

    mic.plug()
    wait_for(lambda: capture.metric("voxframe_capture_device_up") == 1, timeout=30, message="the mic reopened")
    clip = decode_audio(speech_dir / SPEECH)
    mic.play(clip)
    [segment] = wait_for(lambda: tap.of(AudioSegment), timeout=20, message="speech after replugging")
    _assert_exactly_the_speech(segment, clip)
    assert capture.stop() == 0
