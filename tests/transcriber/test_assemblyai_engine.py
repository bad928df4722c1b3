"""The AssemblyAI v3 streaming engine against a local server speaking the documented protocol."""

from __future__ import annotations

import contextlib
import json

import numpy as np
import pytest
from prometheus_client import REGISTRY
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from services.transcriber.engines import EngineError, EngineFatalError
from services.transcriber.engines.assemblyai import AssemblyAIEngine
from tests.support import wait_for
from tests.transcriber.fake_assemblyai import BYTES_PER_SECOND, FakeAssemblyAI, Script

ONE_SECOND = (np.sin(np.arange(16000) / 5) * 8000).astype(np.int16)


def engine_for(fake: FakeAssemblyAI, key: str = "test-key") -> AssemblyAIEngine:
    return AssemblyAIEngine(key, url=fake.url, backoff_s=0.05)


def reconnects(reason: str) -> float:
    return REGISTRY.get_sample_value("voxframe_transcriber_assemblyai_reconnects_total", {"reason": reason}) or 0.0


def test_segment_streams_in_real_time_frames_and_each_finished_turn_counts_once(
        fake_assemblyai: FakeAssemblyAI) -> None:
    fake_assemblyai.scripts.append(Script(turns=["hello world", "paint a lighthouse"]))

    heard = engine_for(fake_assemblyai).transcribe(ONE_SECOND[:15000])  # 0.94 s: the last frame is padded

    assert heard.text == "Hello world. Paint a lighthouse."  # formatted turns win, partials are ignored
    assert [w.text for w in heard.words] == ["hello", "world", "paint", "a", "lighthouse"]
    assert [w.start_seconds for w in heard.words] == sorted(w.start_seconds for w in heard.words)
    (session,) = fake_assemblyai.sessions
    assert session.terminated and session.closed_with == 1000
    assert session.frame_bytes == [1600] * 19  # 50 ms frames
    assert session.authorization == "test-key"
    assert session.params["speech_model"] == "universal-streaming-english"
    assert (session.params["sample_rate"], session.params["encoding"]) == ("16000", "pcm_s16le")


@pytest.mark.parametrize(("asked", "spoken", "heard_as"), [("de", "de", "de"), ("auto", "es", "es"),
                                                          ("de", "fr", "fr"), ("en", "en", "en")])
def test_other_languages_stream_to_the_multilingual_model_which_says_what_each_turn_was(
        fake_assemblyai: FakeAssemblyAI, asked: str, spoken: str, heard_as: str) -> None:
    """English keeps the English model (no detection asked); any other language, and auto, goes to the
    multilingual one with language_detection on, and the transcript is in the language its turns were heard in."""
    fake_assemblyai.scripts.append(Script(turns=["hola amigos", "vamos a la playa"], language=spoken))
    heard = engine_for(fake_assemblyai).transcribe(ONE_SECOND[:8000], asked)
    (session,) = fake_assemblyai.sessions
    english = asked == "en"
    assert session.params["speech_model"] == ("universal-streaming-english" if english
                                              else "universal-streaming-multilingual")
    assert session.params.get("language_detection") == (None if english else "true")
    assert (heard.language, heard.model) == (heard_as, session.params["speech_model"])


def test_a_turn_in_no_language_is_a_protocol_error(fake_assemblyai: FakeAssemblyAI) -> None:
    fake_assemblyai.scripts.append(Script(turns=["qapla"], language="Klingon, probably"))
    with pytest.raises(EngineError, match="unknown language") as caught:
        engine_for(fake_assemblyai).transcribe(ONE_SECOND[:8000], "auto")
    assert caught.value.reason == "protocol"


@pytest.mark.parametrize("code", [3005, 3008, None], ids=["server-error", "session-expired", "network-lost"])
def test_a_dropped_session_resumes_after_the_last_finished_turn(fake_assemblyai: FakeAssemblyAI,
                                                               code: int | None) -> None:
    fake_assemblyai.scripts.extend([Script(turns=[], early_turn=("hello there", 0.5), drop=(code, 0.8)),
                                    Script(turns=["general kenobi"])])
    reason = "network" if code is None else f"close_{code}"
    before = reconnects(reason)

    heard = engine_for(fake_assemblyai).transcribe(np.tile(ONE_SECOND, 2)[:24000])

    assert heard.text == "Hello there. General kenobi."
    first, second = fake_assemblyai.sessions
    assert not first.terminated and second.terminated
    assert second.audio_bytes == 24000 * 2 - int(0.5 * BYTES_PER_SECOND)  # only audio after "there" ended
    assert min(w.start_seconds for w in heard.words[2:]) >= 0.5  # times count from the segment's start
    assert reconnects(reason) == before + 1


def test_a_refused_api_key_is_a_fatal_error_without_retries(fake_assemblyai: FakeAssemblyAI) -> None:
    with pytest.raises(EngineFatalError, match=r"1008.*API key"):
        engine_for(fake_assemblyai, key="wrong").transcribe(ONE_SECOND)

    assert len(fake_assemblyai.sessions) == 1


def test_a_rate_violation_is_an_error_not_a_reconnect_loop(fake_assemblyai: FakeAssemblyAI) -> None:
    fake_assemblyai.scripts.append(Script(drop=(3007, 0.2)))

    with pytest.raises(EngineError, match="3007") as caught:
        engine_for(fake_assemblyai).transcribe(ONE_SECOND)

    assert caught.value.reason == "close_3007"
    assert len(fake_assemblyai.sessions) == 1


def test_the_fake_closes_with_3007_when_audio_comes_faster_than_real_time(fake_assemblyai: FakeAssemblyAI) -> None:
    # Guards the pacing checks above: a client that bursts audio is refused, as AssemblyAI refuses it.
    with connect(fake_assemblyai.url + "?sample_rate=16000&encoding=pcm_s16le&speech_model=u3-rt-pro",
                 additional_headers={"Authorization": "test-key"}) as ws:
        assert json.loads(ws.recv(timeout=5))["type"] == "Begin"
        with contextlib.suppress(ConnectionClosed):
            for _ in range(40):  # 2 s of audio at once
                ws.send(bytes(1600))

        wait_for(lambda: fake_assemblyai.sessions[0].closed_with, timeout=5, message="the fake to close")

    assert fake_assemblyai.sessions[0].closed_with == 3007
    assert fake_assemblyai.sessions[0].audio_bytes < 40 * 1600


def test_an_api_key_is_required() -> None:
    with pytest.raises(EngineFatalError, match="VOXFRAME_ASSEMBLYAI_API_KEY"):
        AssemblyAIEngine("")


@pytest.mark.parametrize("hostile", ["[" * 100_000 + "]" * 100_000, "[1, 2]", '"Begin"', "{not json"],
                         ids=["deep", "a-list", "a-string", "not-json"])
def test_a_hostile_message_is_a_protocol_error_not_a_crash(fake_assemblyai: FakeAssemblyAI, hostile: str) -> None:
    fake_assemblyai.scripts.append(Script(after_begin=hostile))

    with pytest.raises(EngineError) as caught:
        engine_for(fake_assemblyai).transcribe(ONE_SECOND)

    assert caught.value.reason == "protocol"
    assert len(fake_assemblyai.sessions) == 1


_TURN = {"type": "Turn", "end_of_turn": True, "turn_is_formatted": False, "transcript": "hi", "turn_order": 7,
         "words": [{"text": "hi", "start": 0, "end": 100, "confidence": 0.9}]}


@pytest.mark.parametrize("hostile", [
    {k: v for k, v in _TURN.items() if k != "turn_order"}, {**_TURN, "turn_order": "x"}, {**_TURN, "words": 5},
    {**_TURN, "words": [{"text": "hi", "start": 0}]}, {**_TURN, "words": [{"text": "hi", "start": 0, "end": "9"}]},
    {**_TURN, "words": [{"text": 5, "start": 0, "end": 9}]}, {**_TURN, "transcript": 5},
    {**_TURN, "words": [{"text": "hi", "start": 0, "end": 100, "confidence": "high"}]},
    {**_TURN, "words": [{"text": "hi", "start": 0, "end": float("nan")}]},
], ids=["no-turn-order", "turn-order-text", "words-a-number", "word-without-end", "end-as-text", "text-a-number",
        "transcript-a-number", "confidence-as-text", "end-nan"])
def test_a_malformed_finished_turn_is_a_protocol_error_not_a_crash(fake_assemblyai: FakeAssemblyAI,
                                                                   hostile: dict[str, object]) -> None:
    """A finished Turn of the wrong shape escaped as KeyError, TypeError or ValueError: a bug's traceback, not
    counted as AssemblyAI's fault."""
    fake_assemblyai.scripts.append(Script(after_begin=json.dumps(hostile)))

    with pytest.raises(EngineError) as caught:
        engine_for(fake_assemblyai).transcribe(ONE_SECOND)

    assert caught.value.reason == "protocol"
    assert "malformed Turn" in str(caught.value)


def test_a_begin_without_a_session_id_is_a_protocol_error(fake_assemblyai: FakeAssemblyAI) -> None:
    fake_assemblyai.scripts.append(Script(begin={"type": "Begin", "expires_at": 0}))

    with pytest.raises(EngineError) as caught:
        engine_for(fake_assemblyai).transcribe(ONE_SECOND)

    assert caught.value.reason == "protocol"
