"""CaptureHandler with a real segmenter: segments become messages, controls mute, statuses measure the input."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
import soundfile

from services.capture.handler import CaptureHandler
from services.capture.sources import AudioBlock
from shared.audio import SAMPLE_RATE_HZ, Segmenter, decode_audio, segment_file
from shared.messages import AudioSegment, Command, Control, EndReason
from tests.capture.reference import speech_bounds

SPEECH = "pocketsphinx_librivox_ss01_0880.wav"


def _feed(handler: CaptureHandler, samples: np.ndarray, started_at: float, block: int = 1600) -> list[AudioSegment]:
    out = []
    for begin in range(0, len(samples), block):
        out += handler.on_audio(AudioBlock(samples[begin:begin + block], started_at + begin / SAMPLE_RATE_HZ))
    return out


@pytest.fixture
def speech(speech_dir: Path) -> np.ndarray:
    pause = np.zeros(SAMPLE_RATE_HZ, dtype=np.int16)
    return np.concatenate([pause, decode_audio(speech_dir / SPEECH), pause, pause])


def test_segments_become_audio_messages_with_times_from_the_capture_clock(speech: np.ndarray,
                                                                          tmp_path: Path) -> None:
    handler = CaptureHandler("kitchen", "window", Segmenter(), record_dir=tmp_path)
    started_at = time.time() - 60
    [first] = _feed(handler, speech, started_at)
    [second] = _feed(handler, speech, started_at + len(speech) / SAMPLE_RATE_HZ)

    for message in (first, second):
        assert (message.room, message.source, message.sample_rate_hz, message.channels) == \
               ("kitchen", "window", SAMPLE_RATE_HZ, 1)
        assert message.end_reason is EndReason.SILENCE
        assert message.origin_at == message.end_at  # the utterance ended then
        assert (message.end_at - message.start_at).total_seconds() == pytest.approx(message.duration_seconds)
    assert (first.sequence, second.sequence) == (0, 1)
    [offline] = segment_file(speech)
    assert first.start_at.timestamp() == pytest.approx(started_at + offline.start_sample / SAMPLE_RATE_HZ, abs=0.002)
    gap = (second.start_at - first.start_at).total_seconds()
    assert gap == pytest.approx(len(speech) / SAMPLE_RATE_HZ, abs=0.04)  # VAD windows fall differently
    pcm = np.frombuffer(first.pcm, dtype="<i2")
    offset = round((first.start_at.timestamp() - started_at) * SAMPLE_RATE_HZ)
    assert np.array_equal(pcm, speech[offset:offset + len(pcm)])
    recorded = sorted(tmp_path.glob("kitchen_window_*.wav"))
    assert len(recorded) == 2 and np.array_equal(soundfile.read(recorded[0], dtype="int16")[0], pcm)


def test_a_muted_mic_sends_the_utterance_in_progress_then_nothing(speech: np.ndarray) -> None:
    handler = CaptureHandler("kitchen", "window", Segmenter())
    now = time.time()
    half = SAMPLE_RATE_HZ + 16000
    assert _feed(handler, speech[:half], now) == []
    handler.on_control(Control(room="kitchen", source="dashboard", command=Command.MUTE, mic="window"))
    cut_short = _feed(handler, speech[half:], now)
    assert [m.end_reason for m in cut_short] == [EndReason.MUTED]
    assert cut_short[0].duration_seconds < 1.5
    assert _feed(handler, speech, now) == []  # muted: a whole utterance goes nowhere
    assert handler.status().muted

    handler.on_control(Control(room="kitchen", source="dashboard", command=Command.UNMUTE))  # whole room
    assert not handler.status().muted
    assert [m.end_reason for m in _feed(handler, speech, now)] == [EndReason.SILENCE]


def test_commands_for_other_mics_or_other_stages_are_ignored(speech: np.ndarray) -> None:
    handler = CaptureHandler("kitchen", "window", Segmenter())
    handler.on_control(Control(room="kitchen", source="dashboard", command=Command.MUTE, mic="door"))
    handler.on_control(Control(room="kitchen", source="dashboard", command=Command.PAINT_NOW))
    assert not handler.status().muted
    assert len(_feed(handler, speech, time.time())) == 1


def test_the_rooms_language_goes_on_every_segment_cut_after_it_was_set(speech: np.ndarray) -> None:
    """Until a set_language arrives the segments name none (the transcriber's VOXFRAME_LANGUAGE applies); a tag
    is written as its primary subtag, and a bad value changes nothing (the prompter dead-letters it)."""
    handler = CaptureHandler("kitchen", "window", Segmenter())
    now = time.time()
    assert [m.language for m in _feed(handler, speech, now)] == [None]
    handler.on_control(Control(room="kitchen", source="dashboard", command=Command.SET_LANGUAGE, value="de-AT"))
    assert [m.language for m in _feed(handler, speech, now)] == ["de"]
    handler.on_control(Control(room="kitchen", source="dashboard", command=Command.SET_LANGUAGE, value="Klingon!"))
    handler.on_control(Control(room="kitchen", source="dashboard", command=Command.SET_LANGUAGE, value="AUTO"))
    assert [m.language for m in _feed(handler, speech, now)] == ["auto"]


def test_status_reports_level_and_speech_share_since_the_last_status(speech: np.ndarray) -> None:
    handler = CaptureHandler("kitchen", "window", Segmenter())
    t = np.arange(SAMPLE_RATE_HZ) / SAMPLE_RATE_HZ
    half_scale_tone = np.rint(16384 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
    _feed(handler, half_scale_tone, time.time())
    tone = handler.status()
    assert tone.level_dbfs == pytest.approx(-9.03, abs=0.05)  # a sine at half scale: 20·log10(0.5/√2)
    assert tone.speech_ratio == 0

    _feed(handler, speech, time.time())
    talk = handler.status()
    start, end = speech_bounds(speech)
    assert talk.speech_ratio == pytest.approx((end - start) / len(speech), abs=0.2)  # ~3 s of speech in 5 s
    assert -40 < talk.level_dbfs < 0

    silent = handler.status()  # nothing heard since the last status
    assert (silent.level_dbfs, silent.speech_ratio, silent.muted) == (-100.0, 0.0, False)
