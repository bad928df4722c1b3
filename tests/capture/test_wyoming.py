"""Wyoming mics: the source against a scripted mic service, and `voxframe capture --wyoming` against the real
`wyoming-satellite` from PyPI, through the real transcriber, with the satellite killed and restarted mid-stream."""

from __future__ import annotations

import argparse
import re
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile
import soxr
from wyoming.audio import AudioChunk, AudioStart
from wyoming.event import Event, read_event, write_event
from wyoming.ping import Ping

from services.capture.sources import SourceError
from services.capture.sources.wyoming import WyomingSource
from shared.audio import SAMPLE_RATE_HZ, decode_audio
from shared.config import BusSettings
from shared.discovery import Found, discover
from shared.launcher import plan
from shared.messages import AudioSegment, MicStatus, Transcript
from tests.capture.conftest import messages
from tests.capture.satellite import Satellite, satellite_python
from tests.e2e.harness import Pipeline
from tests.support import Broker, free_port, wait_for
from tests.transcriber.speech import reference

ROOM = "porch-room"
UTTERANCES = ("deepspeech_new_home_in_the_stars.wav", "speechbrain_spk1_snt1.wav", "fasterwhisper_stereo_right.wav",
              "speechbrain_spk2_snt3.wav")


class MicService:
    """A Wyoming mic service played by the test: on connect it runs `script(reader, writer)`, then hangs up."""

    def __init__(self, script) -> None:  # type: ignore[no-untyped-def]
        self.script = script
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.uri = f"tcp://127.0.0.1:{self.listener.getsockname()[1]}"
        self.received: list[Event] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        connection, _ = self.listener.accept()
        with connection, connection.makefile("rb") as reader, connection.makefile("wb") as writer:
            self.script(reader, writer, self)

    def read(self, reader) -> Event:  # type: ignore[no-untyped-def]
        event = read_event(reader)
        assert event is not None
        self.received.append(event)
        return event


def test_a_mic_service_at_48_khz_stereo_32_bit_becomes_16_khz_mono_and_its_pings_are_answered(
        speech_dir: Path) -> None:
    speech = decode_audio(speech_dir / UTTERANCES[0])
    wide = soxr.resample(speech.astype(np.float32) / 32768, SAMPLE_RATE_HZ, 48000)
    stereo = (np.stack([wide, wide * 0.5], axis=1) * 2**31).clip(-2**31, 2**31 - 1).astype("<i4")

    def script(reader, writer, service: MicService) -> None:  # type: ignore[no-untyped-def]
        assert service.read(reader).type == "run-satellite"  # sent to any Wyoming mic; a mic service drops it
        write_event(Ping(text="still there?").event(), writer)
        assert service.read(reader).type == "pong"
        write_event(AudioStart(rate=48000, width=4, channels=2).event(), writer)
        for begin in range(0, len(stereo), 4800):
            write_event(AudioChunk(rate=48000, width=4, channels=2, audio=stereo[begin:begin + 4800].tobytes()
                                   ).event(), writer)

    service = MicService(script)
    heard = np.concatenate([block.samples for block in _blocks_until_hang_up(WyomingSource(service.uri))])
    assert service.received[1].data == {"text": "still there?"}
    assert heard.dtype == np.int16
    assert abs(len(heard) - len(speech)) < 0.02 * len(speech)  # the resampler holds back a few ms at the end
    mono = speech[:len(heard)].astype(np.float64) * 0.75  # the two channels averaged
    assert np.corrcoef(heard[:len(mono)], mono)[0, 1] > 0.99


def test_a_refused_or_silent_connection_is_a_source_error() -> None:
    with pytest.raises(SourceError, match="cannot reach"):
        next(WyomingSource(f"tcp://127.0.0.1:{free_port()}").blocks())
    hold = threading.Event()
    service = MicService(lambda reader, writer, s: hold.wait(10))
    started = time.monotonic()
    with pytest.raises(SourceError, match=r"nothing from .* for 0.5 s .*one client at a time"):
        next(WyomingSource(service.uri, stall_seconds=0.5).blocks())
    assert time.monotonic() - started < 5
    hold.set()


def _blocks_until_hang_up(source: WyomingSource) -> Iterator:
    try:
        yield from source.blocks()
    except SourceError as exc:
        assert str(exc).endswith("closed the connection")


# ---- the real satellite -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def satellite_venv() -> Path:
    return satellite_python()


@pytest.fixture
def conversation(speech_dir: Path, tmp_path: Path) -> Path:
    """The utterances with 1.5 s pauses between them, as the satellite's mic hears them."""
    pause = np.zeros(int(1.5 * SAMPLE_RATE_HZ), dtype=np.int16)
    pieces = [pause] + [np.concatenate([decode_audio(speech_dir / name), pause]) for name in UTTERANCES]
    path = tmp_path / "porch.wav"
    soundfile.write(path, np.concatenate(pieces), SAMPLE_RATE_HZ, subtype="PCM_16")
    return path


@pytest.fixture
def satellite(satellite_venv: Path, conversation: Path, tmp_path: Path) -> Iterator[Satellite]:
    sat = Satellite(satellite_venv, conversation, free_port(), tmp_path)
    sat.start()
    yield sat
    sat.kill()


@pytest.fixture
def pipeline(tmp_path: Path, bus_settings: BusSettings, broker: Broker) -> Iterator[Pipeline]:
    p = Pipeline(bus_settings.namespace, bus_settings.amqp_url, tmp_path)
    yield p
    p.stop_all()


def content_words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z]+", text.lower()) if len(w) > 3}


@pytest.mark.slow
def test_a_satellites_speech_arrives_as_the_rooms_transcripts(speech_dir: Path, satellite: Satellite,
                                                              pipeline: Pipeline, broker: Broker,
                                                              start_capture) -> None:
    expected = content_words(" ".join(reference(speech_dir, name) for name in UTTERANCES))
    tap = broker.tap("transcript.#", "status.#")
    transcriber = pipeline.add("transcriber", "transcriber").start()
    capture = start_capture("--room", ROOM, "--mic", "porch", "--wyoming", satellite.uri)
    transcriber.wait_healthy(90)
    seen: list[object] = []

    def heard() -> set[str]:
        seen.extend(messages(broker, tap))
        return content_words(" ".join(m.text for m in seen if isinstance(m, Transcript)))

    started = time.monotonic()
    wait_for(lambda: len(heard() & expected) >= 0.8 * len(expected), timeout=120, interval=0.5,
             message=f"most of {sorted(expected)} in the room's transcripts")
    transcripts = [m for m in seen if isinstance(m, Transcript)]
    print(f"\n{len(heard() & expected)}/{len(expected)} reference words after {time.monotonic() - started:.1f} s "
          f"in {len(transcripts)} transcripts")
    assert {(m.room, m.source) for m in transcripts} == {(ROOM, "porch")}
    statuses = [m for m in seen if isinstance(m, MicStatus)]
    assert statuses and all(m.kind == "satellite" for m in statuses)
    assert statuses[-1].device == satellite.uri.replace("tcp://", "wyoming://")
    with pytest.raises(SourceError, match="one client at a time"):  # capture holds it: a second client is refused
        next(WyomingSource(satellite.uri).blocks())
    assert capture.process.poll() is None


@pytest.mark.slow
def test_a_satellite_killed_and_restarted_mid_stream_is_heard_again(satellite: Satellite, broker: Broker,
                                                                    start_capture) -> None:
    tap = broker.tap("audio.#")
    capture = start_capture("--room", ROOM, "--mic", "porch", "--wyoming", satellite.uri)
    segments: list[AudioSegment] = []

    def segments_after(moment: float) -> list[AudioSegment]:
        segments.extend(m for m in messages(broker, tap) if isinstance(m, AudioSegment))
        return [s for s in segments if s.end_at.timestamp() > moment]

    wait_for(lambda: segments_after(0), timeout=30, message="a first segment")
    satellite.kill()
    killed_at = time.time()
    # Down long enough for capture to be refused twice: the reconnect below comes from its backoff.
    wait_for(lambda: capture.metric("voxframe_capture_device_reopens_total") >= 2, timeout=15,
             interval=0.2, message="two reconnect attempts while the satellite is down")
    satellite.start()
    restarted_at = time.time()
    wait_for(lambda: "again" in capture.output(), timeout=30, message="audio again")
    audio_again = time.time()
    wait_for(lambda: segments_after(restarted_at), timeout=30, message="a segment after the restart")
    print(f"\nreconnected {audio_again - restarted_at:.1f} s after the restart "
          f"({restarted_at - killed_at:.1f} s down); first segment after it ended "
          f"{segments_after(restarted_at)[0].end_at.timestamp() - restarted_at:.1f} s after the restart")
    assert capture.process.poll() is None
    assert "closed the connection" in capture.output()
    assert [s.sequence for s in segments] == list(range(len(segments)))  # one stream, nothing lost in between


@pytest.mark.slow
@pytest.mark.alone  # mDNS on every interface: Docker networks that other tests make and remove beside it lost it once
def test_discover_finds_a_satellite_by_zeroconf(satellite_venv: Path, conversation: Path, tmp_path: Path) -> None:
    name = f"vftest-{uuid.uuid4().hex[:8]}"  # other satellites on the LAN are not this test's
    sat = Satellite(satellite_venv, conversation, free_port(), tmp_path, zeroconf_name=name)
    sat.start()
    try:
        found = wait_for(lambda: [f for f in discover(2) if f.name == name], timeout=30, interval=0,
                         message="the satellite's zeroconf announcement")
        listed = subprocess.run([sys.executable, "-m", "shared.cli", "capture", "--discover"], check=True,
                                capture_output=True, text=True, timeout=60)
    finally:
        sat.kill()
    assert found == [Found(name, sat.uri, "satellite")]
    assert f"{sat.uri}  {name}  (satellite)" in listed.stdout.splitlines()


def test_voxframe_run_starts_one_capture_per_wyoming_uri() -> None:
    args = argparse.Namespace(demo=True, file=None, mic=None, room="den", port=8080, host="127.0.0.1", insecure=False,
                              transcribers=1, language=None,
                              wyoming=["tcp://porch.local:10700", "tcp://10.0.0.7:10700"])
    satellites = [w.argv for w in plan(args) if "--wyoming" in w.argv]
    assert [(a[a.index("--mic") + 1], a[a.index("--wyoming") + 1], a[a.index("--room") + 1]) for a in satellites] == [
        ("satellite-1", "tcp://porch.local:10700", "den"), ("satellite-2", "tcp://10.0.0.7:10700", "den")]
    ports = [w.argv[w.argv.index("--metrics-port") + 1] for w in plan(args) if "--metrics-port" in w.argv]
    assert len(ports) == len(set(ports))  # every worker its own /metrics
