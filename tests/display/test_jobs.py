"""Upload jobs end to end on the real broker, with the test playing transcriber, prompter and generator by
publishing the real messages they would (the real workers run in test_browser's slow test)."""

from __future__ import annotations

import io
import json
import sqlite3
from pathlib import Path

import numpy as np
import requests
import soundfile
from websockets.sync.client import connect

from shared.messages import AudioSegment, Command, Control, GeneratedImage, ImagePrompt, Keyword, Transcript
from tests.display.conftest import DisplayProcess, png, publish
from tests.support import Broker, wait_for


def two_utterances(real_audio: Path) -> bytes:
    first, rate = soundfile.read(real_audio / "pocketsphinx_goforward.wav", dtype="int16")
    second, _ = soundfile.read(real_audio / "speechbrain_spk1_snt1.wav", dtype="int16")
    out = io.BytesIO()
    soundfile.write(out, np.concatenate([first, np.zeros(2 * rate, dtype=np.int16), second]), rate, format="WAV")
    return out.getvalue()


def upload(display: DisplayProcess, data: bytes, name: str = "talk.wav", **form: str) -> requests.Response:
    return requests.post(f"{display.url}/api/uploads", files={"audio": (name, data)}, data=form, timeout=30)


def job(display: DisplayProcess, job_id: str) -> dict:
    return requests.get(f"{display.url}/api/uploads/{job_id}", timeout=5).json()


def jobs_stored(display: DisplayProcess) -> int:
    with sqlite3.connect(display.data_dir / "gallery.sqlite3") as db:
        return int(db.execute("SELECT COUNT(*) FROM jobs").fetchone()[0])


def transcribe(segment: AudioSegment, text: str) -> Transcript:
    """What the transcriber publishes for a job's segment (always, even when nothing was heard)."""
    return segment.derive(Transcript, audio_id=str(segment.id), text=text, engine="faster-whisper", model="tiny.en",
                          audio_seconds=segment.duration_seconds, processing_seconds=0.1, sequence=segment.sequence)


def test_an_upload_goes_through_every_step_to_done(broker: Broker, display: DisplayProcess, real_audio: Path) -> None:
    controls = broker.tap("control.#")
    accepted = upload(display, two_utterances(real_audio), room="kitchen")
    assert accepted.status_code == 202, accepted.text
    job_id = accepted.json()["job_id"]
    assert accepted.headers["location"] == f"/jobs/{job_id}"
    with connect(f"ws://127.0.0.1:{display.port}/ws/jobs/{job_id}", open_timeout=5) as live:
        statuses = [json.loads(live.recv(5))["job"]["status"]]
        segments = [AudioSegment.from_json(body) for _, body in broker.drain(broker.topology.audio.name)]
        assert len(segments) == accepted.json()["segments"] >= 2
        assert {(s.job_id, s.room, s.source) for s in segments} == {(job_id, "kitchen", "upload")}
        publish(broker, *(transcribe(s, f"line {s.sequence} about the harbour") for s in segments))

        _, body = wait_for(lambda: broker.get(controls), timeout=5, message="paint_now for the job")
        paint = Control.from_json(body)
        assert (paint.command, paint.job_id, paint.room, paint.source) == (Command.PAINT_NOW, job_id, "kitchen",
                                                                           "display")
        prompt = segments[0].derive(ImagePrompt, text="a harbour at dawn", num_images=2,
                                    keywords=(Keyword(text="harbour", score=1.0),))
        publish(broker, prompt)
        publish(broker, *(prompt.derive(GeneratedImage, key=str(i), image=png((20, 40 * i, 90)), mime_type="image/png",
                                        width=320, height=180, backend="poster", prompt_id=str(prompt.id),
                                        prompt_text=prompt.text, index=i, generation_seconds=0.1) for i in range(2)))
        while statuses[-1] != "done":
            statuses.append(json.loads(live.recv(5))["job"]["status"])
    assert [s for i, s in enumerate(statuses) if s not in statuses[:i]] == \
        ["queued", "transcribing", "choosing", "painting", "done"]
    finished = job(display, job_id)
    assert finished["transcript"] == " ".join(f"line {s.sequence} about the harbour" for s in segments)
    assert len(finished["images"]) == 2 and finished["images"][0]["prompt"] == "a harbour at dawn"
    assert finished["error"] is None


def test_an_upload_where_nothing_was_recognised_ends_in_error(broker: Broker, display: DisplayProcess,
                                                               real_audio: Path) -> None:
    controls = broker.tap("control.#")
    job_id = upload(display, two_utterances(real_audio)).json()["job_id"]
    segments = [AudioSegment.from_json(body) for _, body in broker.drain(broker.topology.audio.name)]
    publish(broker, *(transcribe(s, "") for s in segments))
    failed = wait_for(lambda: (j := job(display, job_id))["status"] == "error" and j, timeout=5, message="error")
    assert failed["error"] == "no speech was recognised in the upload"
    assert broker.depth(controls) == 0  # nothing to paint, so the prompter is not asked


def test_a_stalled_job_becomes_an_error_saying_where_it_stopped(broker: Broker, display_factory,
                                                                real_audio: Path) -> None:
    display = display_factory(VOXFRAME_JOB_STALL_SECONDS="1")
    job_id = upload(display, two_utterances(real_audio)).json()["job_id"]
    failed = wait_for(lambda: (j := job(display, job_id))["status"] == "error" and j, timeout=10, message="stall")
    assert "no transcriber picked up the audio" in failed["error"]


def test_files_that_are_not_audio_are_refused_and_leave_nothing(broker: Broker, display: DisplayProcess) -> None:
    refused = upload(display, b"%PDF-1.7 definitely a document", name="speech.wav")
    assert refused.status_code == 415 and "not audio" in refused.json()["error"]
    assert jobs_stored(display) == 0 and broker.depth(broker.topology.audio.name) == 0


def test_silent_audio_is_refused_and_leaves_nothing(broker: Broker, display: DisplayProcess) -> None:
    out = io.BytesIO()
    soundfile.write(out, np.zeros(16000 * 2, dtype=np.int16), 16000, format="WAV")
    refused = upload(display, out.getvalue())
    assert refused.status_code == 422 and "no speech" in refused.json()["error"]
    assert jobs_stored(display) == 0 and broker.depth(broker.topology.audio.name) == 0


def test_oversized_uploads_are_refused_while_reading(broker: Broker, display_factory, real_audio: Path) -> None:
    display = display_factory(VOXFRAME_UPLOAD_MAX_MB="0.01")
    refused = upload(display, two_utterances(real_audio))
    assert refused.status_code == 413
    assert refused.json()["error"] == "the upload is larger than the 10 KB limit"
    assert jobs_stored(display) == 0 and broker.depth(broker.topology.audio.name) == 0


def test_uploads_need_the_audio_field(display: DisplayProcess) -> None:
    wrong = requests.post(f"{display.url}/api/uploads", files={"file": ("a.wav", b"RIFF")}, timeout=5)
    assert wrong.status_code == 400 and "'audio'" in wrong.json()["error"]
    assert requests.get(f"{display.url}/api/uploads/nope", timeout=5).status_code == 404
