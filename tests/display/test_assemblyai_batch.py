"""The AssemblyAI pre-recorded client (services/display/jobs/assemblyai.py) against a fake of its REST API."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator

import pytest

from services.display.jobs import assemblyai
from services.display.jobs.assemblyai import (
    AssemblyAIBatch,
    BatchError,
    Utterance,
    parse_webhook,
    utterances_of,
)
from tests.fakes.assemblyai_rest import GAP_MS, WORD_MS, FakeAssemblyAIRest, Script, WebhookReceiver
from tests.support import free_port, wait_for

AUDIO = b"RIFF fake wav bytes"
KEY = "test-key"


@pytest.fixture
def fake() -> Iterator[FakeAssemblyAIRest]:
    with FakeAssemblyAIRest(api_key=KEY) as server:
        yield server


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as server:
        yield server


def batch_for(fake: FakeAssemblyAIRest, **kwargs: object) -> AssemblyAIBatch:
    options: dict[str, object] = {"backoff_seconds": 0.01, "max_retry_seconds": 5.0, "timeout_seconds": 5.0}
    return AssemblyAIBatch(str(kwargs.pop("api_key", KEY)), api_url=fake.url, **{**options, **kwargs})


def poll(batch: AssemblyAIBatch, transcript_id: str) -> list[Utterance]:
    return wait_for(lambda: batch.fetch(transcript_id), timeout=10, message="the transcript to complete")


def test_submit_then_poll_gives_speaker_turns_in_seconds(fake: FakeAssemblyAIRest) -> None:
    fake.scripts.append(Script(utterances=[("A", "Paint the lighthouse."), ("B", "With a red roof.")],
                               queued_polls=2, processing_polls=2))
    batch = batch_for(fake)
    transcript_id = batch.submit(AUDIO)
    assert fake.uploads and list(fake.uploads.values()) == [AUDIO]
    assert batch.fetch(transcript_id) is None  # queued
    utterances = poll(batch, transcript_id)
    assert fake.requests["get"] == 5  # 2 queued, 2 processing, then completed
    assert [(u.speaker, u.text) for u in utterances] == [("A", "Paint the lighthouse."),
                                                         ("B", "With a red roof.")]
    first, second = utterances
    assert first.start_seconds == 0.0 and first.end_seconds == pytest.approx((3 * WORD_MS - 50) / 1000)
    assert second.start_seconds == pytest.approx((3 * WORD_MS + GAP_MS) / 1000)
    assert [w.text for w in second.words] == ["With", "a", "red", "roof."]
    assert second.words[0].start_seconds == second.start_seconds
    words = first.words + second.words
    assert all(0 <= w.start_seconds <= w.end_seconds and w.confidence == 0.93 for w in words)


def test_the_request_asks_for_speakers_keyterms_and_the_webhook(fake: FakeAssemblyAIRest) -> None:
    batch = batch_for(fake, webhook_url="https://frame.example/assemblyai/webhook", webhook_secret="s3cret")
    seven_words = "one two three four five six seven"
    batch.submit(AUDIO, keyterms=["lighthouse", "  red   roof ", "lighthouse", seven_words, ""])
    (body,) = fake.created
    assert body["speaker_labels"] is True
    assert body["keyterms_prompt"] == ["lighthouse", "red roof"]  # trimmed, unique, at most 6 words each
    assert body["webhook_url"] == "https://frame.example/assemblyai/webhook"
    assert body["webhook_auth_header_name"] == AssemblyAIBatch.WEBHOOK_HEADER
    assert body["webhook_auth_header_value"] == "s3cret"
    assert body["audio_url"].startswith(f"{fake.url}/upload/")


def test_without_a_webhook_or_keyterms_the_request_has_neither(fake: FakeAssemblyAIRest) -> None:
    batch_for(fake).submit(AUDIO)
    (body,) = fake.created
    assert body["speaker_labels"] is True
    absent = {"keyterms_prompt", "webhook_url", "webhook_auth_header_name", "webhook_auth_header_value"}
    assert not absent & set(body)


def test_a_named_language_is_asked_for_and_otherwise_assemblyai_detects_it(fake: FakeAssemblyAIRest) -> None:
    """Detection is what a room set to `auto` (or an upload naming nothing) gets; the utterances carry the language
    AssemblyAI reports, as its primary subtag (the API writes regions such as `en_us`)."""
    fake.scripts.extend([Script(spoken="es", queued_polls=0, processing_polls=0),
                         Script(spoken="es", queued_polls=0, processing_polls=0)])
    batch = batch_for(fake)
    detected = poll(batch, batch.submit(AUDIO))
    told = poll(batch, batch.submit(AUDIO, language="de"))
    asked, named = fake.created
    assert asked["language_detection"] is True and "language_code" not in asked
    assert named["language_code"] == "de" and "language_detection" not in named
    assert {u.language for u in detected} == {"es"} and {u.language for u in told} == {"de"}
    assert {u.language for u in utterances_of({"language_code": "en_us", "text": "Hello."})} == {"en"}
    with pytest.raises(BatchError, match="unknown language"):
        utterances_of({"language_code": "Klingon, probably", "text": "Qapla'"})


def test_an_error_status_raises_with_assemblyai_reason(fake: FakeAssemblyAIRest) -> None:
    fake.scripts.append(Script(error="File does not appear to contain audio.", queued_polls=0,
                               processing_polls=1))
    batch = batch_for(fake)
    transcript_id = batch.submit(AUDIO)
    assert batch.fetch(transcript_id) is None

    def failed() -> BatchError | None:
        try:
            batch.fetch(transcript_id)
        except BatchError as exc:
            return exc
        return None

    error = wait_for(failed, timeout=10, message="the transcript to fail")
    assert "File does not appear to contain audio." in error.reason
    assert not error.transient


def test_a_refused_key_names_the_setting_and_is_not_retried(fake: FakeAssemblyAIRest) -> None:
    with pytest.raises(BatchError) as caught:
        batch_for(fake, api_key="wrong-key").submit(AUDIO)
    assert "VOXFRAME_ASSEMBLYAI_API_KEY" in caught.value.reason
    assert "401" in caught.value.reason and "Invalid API key" in caught.value.reason
    assert caught.value.status_code == 401 and not caught.value.transient
    assert fake.requests["upload"] == 1 and fake.requests["transcript"] == 0


def test_an_empty_key_is_refused_before_any_request() -> None:
    with pytest.raises(BatchError, match="VOXFRAME_ASSEMBLYAI_API_KEY"):
        AssemblyAIBatch("")


def test_a_rejected_request_carries_assemblyai_text(fake: FakeAssemblyAIRest) -> None:
    fake.inject(400, error="speech_models: universal-9 is not a model", route="transcript")
    with pytest.raises(BatchError) as caught:
        batch_for(fake).submit(AUDIO)
    assert caught.value.reason == ("AssemblyAI rejected the request (400): "
                                   "speech_models: universal-9 is not a model")
    assert fake.requests["transcript"] == 1


def test_429s_are_retried_honouring_retry_after(fake: FakeAssemblyAIRest) -> None:
    fake.inject(429, retry_after="1", error="Too many requests", route="upload")
    fake.inject(429, retry_after="0", error="Too many requests", route="upload")
    batch = batch_for(fake, backoff_seconds=0.001)
    started = time.monotonic()
    transcript_id = batch.submit(AUDIO)
    assert time.monotonic() - started >= 0.95  # waited as Retry-After asked, not the 1 ms backoff
    assert fake.requests["upload"] == 3 and fake.requests["transcript"] == 1
    assert poll(batch, transcript_id)


def test_5xx_and_get_retries_succeed(fake: FakeAssemblyAIRest) -> None:
    batch = batch_for(fake)
    transcript_id = batch.submit(AUDIO)
    fake.inject(503, times=2, route="get")
    assert batch.fetch(transcript_id) is None
    assert fake.requests["get"] == 3


def test_retries_are_bounded_in_tries_and_time(fake: FakeAssemblyAIRest) -> None:
    fake.inject(500, times=3, error="Internal server error")
    with pytest.raises(BatchError) as caught:
        batch_for(fake, max_attempts=3).submit(AUDIO)
    assert caught.value.transient and "500" in caught.value.reason and "after 3 tries" in caught.value.reason
    assert fake.requests["upload"] == 3

    fake.inject(429, retry_after="60", route="upload")
    started = time.monotonic()
    with pytest.raises(BatchError) as caught:
        batch_for(fake, max_retry_seconds=2.0).submit(AUDIO)
    assert time.monotonic() - started < 2.0  # a Retry-After beyond the budget gives up at once
    assert caught.value.transient and "429" in caught.value.reason


def test_stop_ends_a_wait_for_retry_after_at_once(fake: FakeAssemblyAIRest) -> None:
    fake.inject(429, retry_after="30", route="upload")
    batch = batch_for(fake, max_retry_seconds=60.0)
    failures: list[BatchError] = []

    def submit() -> None:
        try:
            batch.submit(AUDIO)
        except BatchError as exc:
            failures.append(exc)

    waiting = threading.Thread(target=submit)
    waiting.start()
    wait_for(lambda: fake.requests["upload"] == 1, message="the first try")
    stopped_at = time.monotonic()
    batch.stop()
    waiting.join(5)
    assert time.monotonic() - stopped_at < 1.0  # not the 30 s AssemblyAI asked for
    [failure] = failures
    assert failure.transient and "shutting down" in failure.reason and fake.requests["upload"] == 1


def test_an_unreachable_api_is_transient() -> None:
    batch = AssemblyAIBatch(KEY, api_url=f"http://127.0.0.1:{free_port()}", backoff_seconds=0.01,
                            max_attempts=2)
    with pytest.raises(BatchError) as caught:
        batch.submit(AUDIO)
    assert caught.value.transient and "cannot reach" in caught.value.reason


def test_webhook_arrives_authentic_and_forgeries_are_refused(fake: FakeAssemblyAIRest,
                                                             receiver: WebhookReceiver) -> None:
    fake.scripts.append(Script(complete_after_seconds=0.2, webhook="twice"))
    batch = batch_for(fake, webhook_url=receiver.url, webhook_secret="s3cret")
    transcript_id = batch.submit(AUDIO)
    wait_for(lambda: len(receiver.received) == 2, timeout=10, message="two webhook deliveries")
    assert fake.requests["get"] == 0  # nobody polled
    for delivery in receiver.received:
        assert batch.webhook_authentic(delivery.headers)
        assert delivery.body == {"transcript_id": transcript_id, "status": "completed"}
    assert all(d.status_code == 200 for d in fake.deliveries)
    header = AssemblyAIBatch.WEBHOOK_HEADER
    assert batch.webhook_authentic({header.lower(): "s3cret"})  # header names are case-insensitive
    assert not batch.webhook_authentic({header: "s3cret-not"})
    assert not batch.webhook_authentic({header: ""})
    assert not batch.webhook_authentic({"authorization": "s3cret"})
    assert not batch.webhook_authentic({})
    # a redelivered webhook is harmless: the same id, the same transcript
    ids = [parse_webhook(json.dumps(d.body).encode()).transcript_id for d in receiver.received]
    results = [batch.fetch(i) for i in ids]
    assert results[0] == results[1] and [u.speaker for u in results[0]] == ["A", "B"]


def test_a_dropped_webhook_leaves_polling_to_finish(fake: FakeAssemblyAIRest,
                                                    receiver: WebhookReceiver) -> None:
    fake.scripts.append(Script(complete_after_seconds=0.0, webhook="drop"))
    batch = batch_for(fake, webhook_url=receiver.url)
    transcript_id = batch.submit(AUDIO)
    assert poll(batch, transcript_id)
    assert receiver.received == [] and fake.deliveries == []


def test_the_default_webhook_secret_is_shared_by_replicas_with_the_key(fake: FakeAssemblyAIRest) -> None:
    first = batch_for(fake, webhook_url="https://frame.example/hook")
    first.submit(AUDIO)
    (body,) = fake.created
    headers = {body["webhook_auth_header_name"]: body["webhook_auth_header_value"]}
    assert len(body["webhook_auth_header_value"]) >= 32 and KEY not in body["webhook_auth_header_value"]
    # another replica, or this one after a restart, accepts it
    assert AssemblyAIBatch(KEY, api_url=fake.url).webhook_authentic(headers)
    assert not AssemblyAIBatch("another-key", api_url=fake.url).webhook_authentic(headers)


def test_a_webhook_body_that_names_no_transcript_is_refused() -> None:
    assert parse_webhook(b'{"transcript_id": "abc", "status": "error"}').status == "error"
    for body in (b"not json", b"[]", b'{"status": "completed"}', b"[" * 2000 + b"]" * 2000):
        with pytest.raises(BatchError):
            parse_webhook(body)


def test_without_utterances_each_sentence_of_words_is_one(fake: FakeAssemblyAIRest) -> None:
    fake.scripts.append(Script(utterances=[("A", "Paint the sea. Then the sky?"), ("B", "Yes")],
                               with_utterances=False, queued_polls=0, processing_polls=0))
    batch = batch_for(fake)
    utterances = poll(batch, batch.submit(AUDIO))
    assert [(u.speaker, u.text) for u in utterances] == [("A", "Paint the sea."), ("A", "Then the sky?"),
                                                         ("B", "Yes")]
    assert utterances[1].start_seconds == pytest.approx(3 * WORD_MS / 1000)
    assert utterances[1].end_seconds == pytest.approx((6 * WORD_MS - 50) / 1000)


def test_a_completed_transcript_with_text_only_is_one_utterance() -> None:
    (only,) = utterances_of({"status": "completed", "text": " hello frame ", "words": [],
                             "audio_duration": 2.5})
    assert only == Utterance(text="hello frame", start_seconds=0.0, end_seconds=2.5, speaker=None, words=())
    assert utterances_of({"status": "completed", "text": "", "words": None, "utterances": None}) == []


def test_an_unknown_transcript_is_an_error(fake: FakeAssemblyAIRest) -> None:
    with pytest.raises(BatchError, match="404"):
        batch_for(fake).fetch("nosuchid")
    with pytest.raises(BatchError, match="not an AssemblyAI transcript id"):
        batch_for(fake).fetch("../v2/upload")


DEEP = b"[" * 100_000 + b"]" * 100_000


@pytest.mark.parametrize(("status", "body"), [(200, DEEP), (200, b"[1, 2]"), (200, b"\xff\xfe"),
                                              (400, b'{"error": ' + DEEP + b"}"), (400, DEEP)],
                         ids=["deep", "a-list", "not-text", "deep-error", "deep-error-body"])
def test_a_hostile_answer_is_a_batch_error_not_a_crash(fake: FakeAssemblyAIRest, status: int, body: bytes) -> None:
    fake.inject_body(body, status=status, route="upload")

    with pytest.raises(BatchError, match="AssemblyAI"):
        batch_for(fake).submit(AUDIO)


def test_an_answer_declared_over_the_limit_is_refused_unread(fake: FakeAssemblyAIRest,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(assemblyai, "MAX_ANSWER_BYTES", 1024)
    fake.inject_body(json.dumps({"upload_url": "x" * 4096}).encode(), route="upload")

    with pytest.raises(BatchError, match="over the 1024-byte limit"):
        batch_for(fake).submit(AUDIO)
