"""Upload jobs with VOXFRAME_STT_ENGINE=assemblyai: the real display process against the fake of AssemblyAI's
pre-recorded REST API (tests/fakes/assemblyai_rest.py), which delivers real webhooks to the display's URL.

The test plays the prompter and generator by publishing the real messages they would (test_jobs does the same
for the pipeline engine)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from services.display.jobs.assemblyai import AssemblyAIBatch
from services.display.web.api import WEBHOOK_PATH
from shared.messages import GeneratedImage, ImagePrompt, JobText, Keyword
from tests.display.conftest import DisplayProcess, png, publish
from tests.display.test_jobs import job, two_utterances, upload
from tests.fakes.assemblyai_rest import GAP_MS, WORD_MS, FakeAssemblyAIRest, Script
from tests.support import Broker, free_port, stays, wait_for

KEY = "test-key"
SAID = [("A", "Paint the lighthouse on the cliff."), ("B", "With a red roof and a stormy sky.")]


@pytest.fixture
def fake() -> Iterator[FakeAssemblyAIRest]:
    with FakeAssemblyAIRest(api_key=KEY) as server:
        yield server


@pytest.fixture
def assemblyai_display(fake: FakeAssemblyAIRest,
                       display_factory: Callable[..., DisplayProcess]) -> Callable[..., DisplayProcess]:
    """Start a display whose uploads go to the fake; `webhook=True` makes its own URL the public one."""
    def start(webhook: bool, key: str = KEY, **env: str) -> DisplayProcess:
        port = free_port()
        settings = {"VOXFRAME_STT_ENGINE": "assemblyai", "VOXFRAME_ASSEMBLYAI_API_KEY": key,
                    "VOXFRAME_ASSEMBLYAI_API_URL": fake.url, **env}
        if webhook:
            settings["VOXFRAME_PUBLIC_URL"] = f"http://127.0.0.1:{port}"
        return display_factory(port=port, **settings)

    return start


def finished_stage(display: DisplayProcess, job_id: str, stage: str, timeout: float) -> dict:
    return wait_for(lambda: (j := job(display, job_id))["status"] in (stage, "error") and j, timeout=timeout,
                    interval=0.1, message=f"job {job_id} {stage}")


def webhook(display: DisplayProcess, transcript_id: str, secret: str) -> requests.Response:
    return requests.post(f"{display.url}{WEBHOOK_PATH}", json={"transcript_id": transcript_id, "status": "completed"},
                         headers={AssemblyAIBatch.WEBHOOK_HEADER: secret}, timeout=5)


def test_a_webhook_brings_the_transcript_with_speakers_and_a_repeat_changes_nothing(
        broker: Broker, fake: FakeAssemblyAIRest, assemblyai_display, speech_dir: Path) -> None:
    texts = broker.tap("job.text.#")
    display = assemblyai_display(webhook=True)  # safety poll at its 60 s default: only the webhook can be quick
    fake.scripts.append(Script(utterances=SAID, complete_after_seconds=0.5, webhook="twice", spoken="fr"))
    accepted = upload(display, two_utterances(speech_dir), room="kitchen")  # naming no language: detected
    assert accepted.status_code == 202, accepted.text
    job_id = accepted.json()["job_id"]
    (created,) = fake.created
    assert created["webhook_url"] == f"{display.url}{WEBHOOK_PATH}" and created["speaker_labels"] is True
    assert created["webhook_auth_header_name"] == AssemblyAIBatch.WEBHOOK_HEADER

    chosen = finished_stage(display, job_id, "choosing", timeout=15)
    assert chosen["status"] == "choosing", chosen["error"]
    assert chosen["engine"] == "assemblyai" and chosen["segments"] == chosen["transcribed"] == 2
    assert [(line["speaker"], line["text"]) for line in chosen["lines"]] == SAID
    first, second = chosen["lines"]
    assert first["start_seconds"] == 0.0
    assert first["end_seconds"] == pytest.approx((6 * WORD_MS - 50) / 1000)
    assert second["start_seconds"] == pytest.approx((6 * WORD_MS + GAP_MS) / 1000)
    _, body = wait_for(lambda: broker.get(texts), timeout=5, message="the job's text for the prompter")
    text = JobText.from_json(body)
    assert (text.job_id, text.room, text.source) == (job_id, "kitchen", "upload")
    assert [line.text for line in text.lines] == [said for _, said in SAID]
    assert created["language_detection"] is True and {line.language for line in text.lines} == {"fr"}

    wait_for(lambda: len(fake.deliveries) == 2, timeout=10, message="both webhook deliveries")
    assert [d.status_code for d in fake.deliveries] == [200, 200]  # the repeat is answered, and ignored
    gets = fake.requests["get"]
    stays(lambda: broker.depth(texts) == 0 and fake.requests["get"] == gets, 3,
          message="no second text or fetch after the repeated webhook")
    again = job(display, job_id)
    assert (again["status"], again["lines"], again["updated_at"]) == ("choosing", chosen["lines"],
                                                                       chosen["updated_at"])


def test_without_a_public_url_polling_finds_the_transcript(broker: Broker, fake: FakeAssemblyAIRest,
                                                            assemblyai_display, speech_dir: Path) -> None:
    texts = broker.tap("job.text.#")
    display = assemblyai_display(webhook=False)
    fake.scripts.append(Script(utterances=SAID, queued_polls=1, processing_polls=1))
    job_id = upload(display, two_utterances(speech_dir)).json()["job_id"]
    assert "webhook_url" not in fake.created[0]
    chosen = finished_stage(display, job_id, "choosing", timeout=20)  # looks after 3 s each at first
    assert chosen["status"] == "choosing", chosen["error"]
    assert [(line["speaker"], line["text"]) for line in chosen["lines"]] == SAID
    assert fake.requests["get"] == 3 and not fake.deliveries  # queued, processing, completed
    assert wait_for(lambda: broker.get(texts), timeout=5, message="the job's text")


def test_forged_and_unknown_webhooks_are_refused_and_change_nothing(broker: Broker, fake: FakeAssemblyAIRest,
                                                                     assemblyai_display, speech_dir: Path) -> None:
    display = assemblyai_display(webhook=True)
    fake.scripts.append(Script(utterances=SAID, queued_polls=1000))  # stays queued: only a look would move it
    job_id = upload(display, two_utterances(speech_dir)).json()["job_id"]
    (transcript_id,) = fake.transcripts
    secret = fake.created[0]["webhook_auth_header_value"]
    before = wait_for(lambda: (j := job(display, job_id))["status"] == "transcribing" and j, timeout=5,
                      message="the job with AssemblyAI")
    gets = fake.requests["get"]

    forged = webhook(display, transcript_id, "not-the-secret")
    assert forged.status_code == 401 and "secret" in forged.json()["error"]
    missing = requests.post(f"{display.url}{WEBHOOK_PATH}", json={"transcript_id": transcript_id}, timeout=5)
    assert missing.status_code == 401
    unknown = webhook(display, "0123456789abcdefghij", secret)
    assert unknown.status_code == 404 and "no upload job" in unknown.json()["error"]
    stays(lambda: fake.requests["get"] == gets, 2.5, message="no fetch after a refused webhook")
    after = job(display, job_id)
    assert (after["status"], after["lines"], after["updated_at"]) == ("transcribing", [], before["updated_at"])


def test_hostile_webhook_bodies_are_400s_and_the_real_webhook_still_finishes_the_job(
        broker: Broker, fake: FakeAssemblyAIRest, assemblyai_display, speech_dir: Path) -> None:
    display = assemblyai_display(webhook=True)
    fake.scripts.append(Script(utterances=SAID, complete_after_seconds=1.0))
    job_id = upload(display, two_utterances(speech_dir)).json()["job_id"]
    secret = fake.created[0]["webhook_auth_header_value"]

    for body in (b"[" * 2000 + b"]" * 2000, b"[1]", b'"completed"', b"{", b"\xff"):
        answer = requests.post(f"{display.url}{WEBHOOK_PATH}", data=body, timeout=5,
                               headers={AssemblyAIBatch.WEBHOOK_HEADER: secret, "Content-Type": "application/json"})
        assert answer.status_code == 400 and "webhook" in answer.json()["error"], (body[:20], answer.text[:200])

    assert requests.get(f"{display.url}/healthz", timeout=5).status_code == 200
    assert finished_stage(display, job_id, "choosing", timeout=20)["status"] == "choosing"


def test_a_bad_key_ends_the_job_in_an_error_naming_the_setting(fake: FakeAssemblyAIRest, assemblyai_display,
                                                                speech_dir: Path) -> None:
    display = assemblyai_display(webhook=False, key="wrong-key")
    accepted = upload(display, two_utterances(speech_dir))
    assert accepted.status_code == 202, accepted.text
    failed = finished_stage(display, accepted.json()["job_id"], "error", timeout=10)
    assert failed["status"] == "error" and "VOXFRAME_ASSEMBLYAI_API_KEY" in failed["error"], failed
    assert "Invalid API key" in failed["error"]
    assert not fake.transcripts  # refused at the upload: nothing was created


def test_a_transcript_that_failed_at_assemblyai_shows_its_reason(fake: FakeAssemblyAIRest, assemblyai_display,
                                                                  speech_dir: Path) -> None:
    display = assemblyai_display(webhook=False)
    reason = "Transcoding failed. Audio file is corrupted or in an unsupported format."
    fake.scripts.append(Script(error=reason, queued_polls=0, processing_polls=0))
    job_id = upload(display, two_utterances(speech_dir)).json()["job_id"]
    failed = finished_stage(display, job_id, "error", timeout=15)
    assert failed["status"] == "error" and reason in failed["error"], failed
    assert failed["lines"] == []


def test_a_lost_webhook_is_caught_by_the_safety_poll(broker: Broker, fake: FakeAssemblyAIRest, assemblyai_display,
                                                     speech_dir: Path) -> None:
    display = assemblyai_display(webhook=True, VOXFRAME_ASSEMBLYAI_SAFETY_POLL_SECONDS="2")
    fake.scripts.append(Script(utterances=SAID, complete_after_seconds=0.2, webhook="drop"))
    started = time.monotonic()
    job_id = upload(display, two_utterances(speech_dir)).json()["job_id"]
    assert fake.created[0]["webhook_url"]  # a webhook was asked for, and never comes
    chosen = finished_stage(display, job_id, "choosing", timeout=15)
    assert chosen["status"] == "choosing", chosen["error"]
    assert [(line["speaker"], line["text"]) for line in chosen["lines"]] == SAID
    assert not fake.deliveries and fake.requests["get"] >= 1
    assert time.monotonic() - started < 10  # the 2 s safety poll, not the 60 s default


def test_210_utterances_from_assemblyai_become_a_job_of_210_lines_painted_to_done(
        broker: Broker, fake: FakeAssemblyAIRest, assemblyai_display, speech_dir: Path) -> None:
    texts = broker.tap("job.text.#")
    display = assemblyai_display(webhook=True)
    said = [("AB"[i % 2], f"Line {i} tells of harbour number {i}.") for i in range(210)]
    fake.scripts.append(Script(utterances=said, complete_after_seconds=0.2))
    job_id = upload(display, two_utterances(speech_dir), room="study").json()["job_id"]
    chosen = finished_stage(display, job_id, "choosing", timeout=15)
    assert chosen["status"] == "choosing", chosen["error"]
    assert chosen["segments"] == chosen["transcribed"] == len(chosen["lines"]) == 210
    assert [(line["speaker"], line["text"]) for line in chosen["lines"]] == said
    starts = [line["start_seconds"] for line in chosen["lines"]]
    assert starts == sorted(starts) and len(set(starts)) == 210

    _, body = wait_for(lambda: broker.get(texts), timeout=5, message="the job's text for the prompter")
    text = JobText.from_json(body)
    assert len(text.lines) == 210 and text.lines[0].text == said[0][1] and text.lines[-1].text == said[-1][1]
    prompt = text.derive(ImagePrompt, key="job", text="a harbour at dawn", num_images=1,
                         keywords=(Keyword(text="harbour", score=1.0),),
                         transcript_ids=(text.lines[0].transcript_id, text.lines[209].transcript_id))
    assert prompt.routing_key.startswith("job.prompt.") and prompt.job_id == job_id
    publish(broker, prompt)
    finished_stage(display, job_id, "painting", timeout=15)
    publish(broker, prompt.derive(GeneratedImage, key="0", image=png((30, 60, 120)), mime_type="image/png",
                                  width=320, height=180, backend="poster", prompt_id=str(prompt.id),
                                  prompt_text=prompt.text, index=0, generation_seconds=0.1))
    done = finished_stage(display, job_id, "done", timeout=15)
    assert done["status"] == "done", done["error"]
    (image,) = done["images"]
    assert done["image_lines"] == {image["id"]: [0, 209]}  # the picture names the lines it was chosen from
    srt = requests.get(f"{display.url}/api/uploads/{job_id}/transcript.srt", timeout=5).text
    assert srt.count(" --> ") == 210 and "Speaker B: Line 209 tells of harbour number 209." in srt
