"""One hearing per room, with two real capture processes on two PulseAudio virtual mics fed at the same moment."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from shared.audio import SAMPLE_RATE_HZ, decode_audio
from shared.messages import AudioSegment
from tests.capture.conftest import CaptureProcess, messages
from tests.capture.pulse import VirtualMic
from tests.support import Broker, wait_for

pytestmark = pytest.mark.skipif(shutil.which("pulseaudio") is None or shutil.which("pactl") is None,
                                reason="pulseaudio is not installed (apt-get install pulseaudio libasound2-plugins)")

TALK = ["speechbrain_spk1_snt1.wav", "pocketsphinx_librivox_ss01_0880.wav", "deepspeech_arctic_a0024.wav"]
OTHER_TALK = ["pocketsphinx_librivox_ss01_0890.wav", "deepspeech_new_home_in_the_stars.wav",
              "speechbrain_spk2_snt1.wav"]
HOLD_MS = 1500  # VOXFRAME_ARBITRATION_HOLD_MS of the captures under test (see _listen)


def _conversation(speech_dir: Path, names: list[str]) -> np.ndarray:
    pause = np.zeros(int(1.5 * SAMPLE_RATE_HZ), dtype=np.int16)
    return np.concatenate([np.concatenate([decode_audio(speech_dir / n), pause]) for n in names])


@pytest.fixture
def two_mics(tmp_path: Path) -> Iterator[tuple[VirtualMic, VirtualMic]]:
    mics = (VirtualMic(tmp_path / "pulse-a", "vfmicA"), VirtualMic(tmp_path / "pulse-b", "vfmicB"))
    for mic in mics:
        mic.start()
        mic.plug()
    yield mics
    for mic in mics:
        mic.close()


def _listen(start_capture, mic: VirtualMic, room: str, name: str) -> CaptureProcess:  # type: ignore[no-untyped-def]
    # A segment waits HOLD_MS for the other mic's notice (800 ms by default): the rule is under test here, not the
    # wait, which a loaded machine (two test workers on two cores) can outlast, and then both mics keep the sound.
    capture: CaptureProcess = start_capture("--device", "pulse", "--input-rate-hz", "16000", "--input-channels", "1",
                                            "--room", room, "--mic", name,
                                            env={**mic.env, "VOXFRAME_ARBITRATION_HOLD_MS": str(HOLD_MS)})
    wait_for(lambda: capture.metric("voxframe_capture_device_up") == 1, timeout=20, message=f"mic {name} open")
    return capture


def _cut(capture: CaptureProcess) -> float:
    return capture.metric('voxframe_capture_segments_cut_total{end_reason="silence"}')


def _play_together(broker: Broker, mics: tuple[VirtualMic, VirtualMic], clips: tuple[np.ndarray, np.ndarray],
                   captures: tuple[CaptureProcess, CaptureProcess], rooms: tuple[str, str]) -> list[AudioSegment]:
    """Once both mics announce themselves (each capture hears the other's status as the tap does), play both
    clips at once; return what was published."""
    statuses = broker.tap(*{f"status.{room}.#" for room in rooms})
    seen: set[tuple[str, str]] = set()
    wait_for(lambda: seen.update((m.room, m.source) for m in messages(broker, statuses)) or len(seen) == 2, timeout=15,
             message="both mics announcing themselves")
    audio = broker.tap(*{f"audio.{room}.#" for room in rooms})
    for mic, clip in zip(mics, clips, strict=True):
        mic.play(clip)
    wait_for(lambda: all(m.idle() for m in mics), timeout=60, message="both clips played")
    wait_for(lambda: _cut(captures[0]) == 3 and _cut(captures[1]) == 3, timeout=20, message="3 segments cut by each")
    published: list[AudioSegment] = []

    def settled() -> bool:
        published.extend(m for m in messages(broker, audio) if isinstance(m, AudioSegment))
        arbitrated = sum(c.metric(f'voxframe_capture_segments_arbitrated_total{{room="{r}"}}')
                         for c, r in zip(captures, rooms, strict=True))
        return len(published) + arbitrated == 6

    wait_for(settled, timeout=20, message="every segment published or left to the other mic")
    return published


def test_two_mics_hearing_the_same_talk_send_each_utterance_once(broker: Broker, start_capture, two_mics,
                                                                 speech_dir: Path) -> None:
    """The same conversation on two mics of one room, the second 6 dB quieter: each utterance is published
    once, from the mic that heard it better; the other counts it as arbitrated away."""
    talk = _conversation(speech_dir, TALK)
    captures = (_listen(start_capture, two_mics[0], "den", "sofa"), _listen(start_capture, two_mics[1], "den", "door"))
    published = _play_together(broker, two_mics, (talk, (talk * 0.5).astype(np.int16)), captures, ("den", "den"))
    assert [m.source for m in published] == ["sofa"] * 3
    assert captures[1].metric('voxframe_capture_segments_arbitrated_total{room="den"}') == 3


def test_two_conversations_at_once_in_one_room_are_both_kept(broker: Broker, start_capture, two_mics,
                                                             speech_dir: Path) -> None:
    """Two mics at the two ends of a room hearing different speakers at the same time: overlap in time is not
    sameness, so all six utterances go on."""
    captures = (_listen(start_capture, two_mics[0], "hall", "east"),
                _listen(start_capture, two_mics[1], "hall", "west"))
    talks = (_conversation(speech_dir, TALK), _conversation(speech_dir, OTHER_TALK))
    published = _play_together(broker, two_mics, talks, captures, ("hall", "hall"))
    assert sorted(m.source for m in published) == ["east"] * 3 + ["west"] * 3


def test_the_same_talk_in_two_rooms_is_kept_in_both(broker: Broker, start_capture, two_mics,
                                                    speech_dir: Path) -> None:
    """Rooms are independent: the same sound heard in two rooms is each room's conversation."""
    talk = _conversation(speech_dir, TALK)
    captures = (_listen(start_capture, two_mics[0], "attic", "mic1"),
                _listen(start_capture, two_mics[1], "cellar", "mic1"))
    published = _play_together(broker, two_mics, (talk, (talk * 0.5).astype(np.int16)), captures,
                               ("attic", "cellar"))
    assert sorted(m.room for m in published) == ["attic"] * 3 + ["cellar"] * 3
