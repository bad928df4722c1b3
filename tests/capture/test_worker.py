"""The real `voxframe capture` process on the real broker: file replay, mute from the dashboard, bad input."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile

from services.capture.metrics import COUNTERS, MIC_METRICS
from shared.audio import SAMPLE_RATE_HZ, decode_audio, segment_file
from shared.audio.outbox import SegmentOutbox
from shared.bus import REASON_HEADER, Bus
from shared.config import BusSettings
from shared.demo import script_lines
from shared.messages import AudioSegment, Command, Control, EndReason, Heard, MicStatus, utc_now
from tests.capture.conftest import messages
from tests.support import Broker, wait_for

UTTERANCES = ["speechbrain_spk1_snt1.wav", "pocketsphinx_librivox_ss01_0880.wav", "deepspeech_arctic_a0024.wav"]


def _write_conversation(speech_dir: Path, path: Path, names: list[str], pause_s: float) -> np.ndarray:
    pause = np.zeros(int(pause_s * SAMPLE_RATE_HZ), dtype=np.int16)
    stream = np.concatenate([pause] + [np.concatenate([decode_audio(speech_dir / n), pause]) for n in names])
    soundfile.write(path, stream, SAMPLE_RATE_HZ, subtype="PCM_16")
    return stream


def test_a_replayed_file_is_published_as_its_speech_segments(speech_dir: Path, broker: Broker, start_capture,
                                                            tmp_path: Path) -> None:
    stream = _write_conversation(speech_dir, tmp_path / "talk.wav", UTTERANCES, pause_s=1.5)
    tap = broker.tap("audio.#")
    capture = start_capture("--file", str(tmp_path / "talk.wav"), "--fast", "--room", "kitchen", "--mic", "window")
    assert capture.wait(60) == 0, capture.output()

    published = [m for m in messages(broker, tap) if isinstance(m, AudioSegment)]
    expected = segment_file(stream)  # the worker cuts exactly as the library does offline
    assert len(published) == len(expected) == len(UTTERANCES)
    for message, segment, index in zip(published, expected, range(len(expected)), strict=True):
        assert (message.room, message.source, message.sequence) == ("kitchen", "window", index)
        assert message.routing_key == "audio.kitchen.window"
        assert message.pcm == segment.pcm()
        assert message.end_reason is EndReason.SILENCE
    assert broker.depth(broker.topology.dead.name) == 0


def test_audio_is_written_to_disk_only_when_asked(speech_dir: Path, broker: Broker, start_capture,
                                                 tmp_path: Path) -> None:
    _write_conversation(speech_dir, tmp_path / "talk.wav", UTTERANCES[:1], pause_s=1.0)
    record = tmp_path / "recordings"
    quiet = start_capture("--file", str(tmp_path / "talk.wav"), "--fast")
    assert quiet.wait(60) == 0, quiet.output()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["capture-0.log", "talk.wav"]
    recorder = start_capture("--file", str(tmp_path / "talk.wav"), "--fast", "--record", str(record))
    assert recorder.wait(60) == 0, recorder.output()
    assert len(list(record.glob("*.wav"))) == 1


@pytest.mark.slow
def test_mute_and_unmute_from_the_bus(speech_dir: Path, broker: Broker, start_capture, tmp_path: Path) -> None:
    """A mic replaying speech every ~4 s in real time: muted, it sends nothing however long it listens."""
    _write_conversation(speech_dir, tmp_path / "talk.wav", UTTERANCES[1:2], pause_s=0.5)
    tap = broker.tap("audio.#", "status.#")
    capture = start_capture("--file", str(tmp_path / "talk.wav"), "--loop", "--room", "kitchen", "--mic", "window")
    seen: list[AudioSegment | MicStatus] = []

    def collect() -> list[AudioSegment | MicStatus]:
        seen.extend(messages(broker, tap))  # type: ignore[arg-type]
        return seen

    def segments_since(moment) -> list[AudioSegment]:  # type: ignore[no-untyped-def]
        return [m for m in collect() if isinstance(m, AudioSegment) and m.start_at > moment]

    wait_for(lambda: segments_since(utc_now().replace(year=2000)), timeout=15, message="a first segment")
    send = broker.publish_raw
    mute = Control(room="kitchen", source="dashboard", command=Command.MUTE)  # the whole room
    send(mute.routing_key, mute.to_json(), "control")
    muted_at = wait_for(lambda: next((m.created_at for m in collect() if isinstance(m, MicStatus) and m.muted),
                                     None), timeout=10, message="a muted status")
    # Longer than one replay of the file: unmuted, a segment would have come.
    wait_for(lambda: sum(isinstance(m, MicStatus) and m.created_at > muted_at for m in collect()) >= 6,
             timeout=15, message="six seconds of muted statuses")
    assert segments_since(muted_at) == []
    assert all(m.muted for m in seen if isinstance(m, MicStatus) and m.created_at > muted_at)
    assert any(m.level_dbfs > -60 for m in seen if isinstance(m, MicStatus))  # the meter still moved

    unmute = Control(room="kitchen", source="dashboard", command=Command.UNMUTE, mic="window")
    unmuted_at = utc_now()
    send(unmute.routing_key, unmute.to_json(), "control")
    wait_for(lambda: segments_since(unmuted_at), timeout=15, message="a segment after unmuting")
    assert capture.stop() == 0


def test_another_mics_notice_with_levels_no_mic_makes_is_invalid_at_once(speech_dir: Path, broker: Broker,
                                                                          start_capture, tmp_path: Path) -> None:
    """A `heard` notice from another mic of the room, its loudness envelope at +10^23 dB: the arbiter's int16 array
    overflowed, so it was retried 3 times on the control queue's thread (mutes waiting) and dead-lettered as a
    handler error. A level no mic makes is an invalid message: dead-lettered at once, saying which."""
    _write_conversation(speech_dir, tmp_path / "talk.wav", UTTERANCES[1:2], pause_s=0.5)
    capture = start_capture("--file", str(tmp_path / "talk.wav"), "--loop", "--room", "kitchen", "--mic", "window")
    wait_for(lambda: "Ready:" in capture.output(), timeout=30, message="the capture to consume its control queue")
    now = utc_now()
    heard = Heard(room="kitchen", source="door", segment_id="x", start_at=now, end_at=now, envelope_db=(-20,) * 50,
                  score=-10.0)
    broker.publish_raw(heard.routing_key, heard.to_json().replace(b"[-20,", b"[100000000000000000000000,"), "heard")
    props, _ = wait_for(lambda: broker.get(broker.topology.dead.name), timeout=10, message="a dead letter")
    assert props.headers[REASON_HEADER].startswith("invalid:") and "envelope_db" in props.headers[REASON_HEADER]
    assert capture.healthy()


def test_a_file_that_is_not_audio_is_refused_with_a_clear_error(broker: Broker, start_capture,
                                                                tmp_path: Path) -> None:
    fake = tmp_path / "song.mp3"
    fake.write_text("definitely not audio\n")
    capture = start_capture("--file", str(fake), "--fast")
    assert capture.wait(30) == 2
    assert "not audio" in capture.output()


def test_the_outbox_holds_a_bounded_amount_of_speech_while_the_broker_is_away() -> None:
    unreachable = Bus("capture", BusSettings(amqp_url="amqp://guest:guest@127.0.0.1:1/%2F"))  # never started
    outbox = SegmentOutbox(unreachable, max_seconds=10, counters=COUNTERS)
    one_second = np.zeros(SAMPLE_RATE_HZ, dtype="<i2").tobytes()
    dropped_before = _dropped()
    now = utc_now()
    for sequence in range(25):
        outbox.put([AudioSegment(room="r", source="m", pcm=one_second, start_at=now, end_at=now,
                                 end_reason=EndReason.SILENCE, sequence=sequence)])
    assert _dropped() - dropped_before == 15
    assert not outbox.wait_empty(0.1)  # the newest ten seconds wait for the broker


def _dropped() -> float:
    return MIC_METRICS.get_sample_value("voxframe_capture_segments_dropped_total") or 0.0


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
def test_the_demo_conversation_is_cut_into_one_segment_per_line(broker: Broker, start_capture,
                                                                tmp_path: Path) -> None:
    tap = broker.tap("audio.#")
    capture = start_capture("--demo", "--fast", env={"VOXFRAME_DATA_DIR": str(tmp_path)})
    assert capture.wait(120) == 0, capture.output()
    published = [m for m in messages(broker, tap) if isinstance(m, AudioSegment)]
    assert len(published) == len(script_lines())
    assert [m.sequence for m in published] == list(range(len(published)))
