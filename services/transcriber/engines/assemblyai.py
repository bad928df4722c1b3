"""AssemblyAI Universal Streaming (API v3): one websocket session per speech segment, paced at real time.

A session exists only while a segment's speech flows, so nobody is billed for silence. Plain `websockets`
rather than the SDK: the SDK runs handlers on its own thread and cannot resume a dropped session, while here
a dropped session (3005, 3008, 3009, network) is reopened with backoff and only the audio after the last
finished turn is sent again.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import numpy as np
from websockets.exceptions import ConnectionClosed, InvalidStatus, InvalidURI, WebSocketException
from websockets.sync.client import ClientConnection, connect

from services.transcriber.engines import EngineError, EngineFatalError, Recognition
from services.transcriber.metrics import RECONNECTS, SESSIONS, SESSIONS_OPEN
from shared.audio import SAMPLE_RATE_HZ
from shared.json_limits import is_whole_number, parse_json
from shared.messages import Word
from shared.messages.language import AUTO, DEFAULT_LANGUAGE, language_code
from shared.retry import Backoff, Retry

_LOGGER = logging.getLogger(__name__)

DEFAULT_URL = "wss://streaming.assemblyai.com/v3/ws"
DEFAULT_SPEECH_MODEL = "universal-streaming-english"
MULTILINGUAL_SPEECH_MODEL = "universal-streaming-multilingual"  # en, es, fr, de, it, pt; whisper-rt has 99
_BYTES_PER_SECOND = 2 * SAMPLE_RATE_HZ
_RESUMABLE_CLOSE_CODES = {1001, 1006, 1011, 3005, 3008, 3009}  # going away, network, server error, expiry, busy
_CLOSE_MEANINGS = {1008: "the API key was refused or the account cannot stream", 3006: "invalid message",
                   3007: "audio chunk size or rate out of bounds"}


@dataclass
class _Utterance:
    """One segment's progress across sessions: finished turns and how much audio they account for."""

    turns: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict)
    offsets: dict[str, float] = field(default_factory=dict)  # session id -> segment seconds at its start
    covered_seconds: float = 0.0

    def add_turn(self, session_id: str, turn: dict[str, Any]) -> None:
        key = (session_id, int(turn["turn_order"]))
        previous = self.turns.get(key)
        if previous is None or turn.get("turn_is_formatted") or not previous.get("turn_is_formatted"):
            self.turns[key] = turn  # with format_turns a finished turn comes twice; the formatted one wins
        ends = [w["end"] for w in turn.get("words", ())]
        if ends:
            self.covered_seconds = max(self.covered_seconds, self.offsets[session_id] + max(ends) / 1000)

    def recognition(self, language: str, model: str) -> Recognition:
        ordered = sorted(self.turns.items(), key=lambda item: (self.offsets[item[0][0]], item[0][1]))
        words = tuple(
            Word(text=w["text"], start_seconds=self.offsets[sid] + w["start"] / 1000,
                 end_seconds=self.offsets[sid] + max(w["start"], w["end"]) / 1000,
                 confidence=min(1.0, max(0.0, float(w.get("confidence", 0.0)))))
            for (sid, _), turn in ordered for w in turn.get("words", ()) if w.get("text", "").strip()
        )
        text = " ".join(t["transcript"].strip() for _, t in ordered if t.get("transcript", "").strip())
        return Recognition(text=text, words=words, language=_most_spoken(ordered, language), model=model)


def _checked_turn(turn: dict[str, Any]) -> dict[str, Any]:
    """A finished Turn as the v3 protocol shapes it (`turn_order` an integer, `transcript` text, `words` of text
    with start and end milliseconds), else a protocol error: a malformed turn escaped as KeyError or TypeError."""
    words = turn.get("words", [])
    if not (is_whole_number(turn.get("turn_order")) and isinstance(turn.get("transcript", ""), str)
            and isinstance(words, list) and all(_is_word(w) for w in words)):
        raise EngineError(f"AssemblyAI sent a malformed Turn: {json.dumps(turn)[:200]}", reason="protocol")
    return turn


def _is_word(word: object) -> bool:
    return (isinstance(word, dict) and isinstance(word.get("text"), str) and _is_amount(word.get("start"))
            and _is_amount(word.get("end")) and (word.get("confidence") is None or _is_amount(word["confidence"])))


def _is_amount(value: object) -> bool:
    """A number a timestamp in milliseconds or a confidence can be: not NaN, not negative, not absurd."""
    return (is_whole_number(value) or isinstance(value, float)) and 0 <= value < 1e12


def _most_spoken(turns: list[tuple[tuple[str, int], dict[str, Any]]], otherwise: str) -> str:
    """The language most of the turns' words were detected in (`language_code`, with language_detection on)."""
    words: dict[str, int] = {}
    for _, turn in turns:
        if code := turn.get("language_code"):
            try:
                spoken = language_code(code)
            except ValueError as exc:
                raise EngineError(f"AssemblyAI named an unknown language: {exc}", reason="protocol") from exc
            words[spoken] = words.get(spoken, 0) + len(turn.get("words", ())) + 1
    return max(words, key=lambda code: words[code]) if words else otherwise


def _resumable_reason(exc: Exception) -> str:
    """A metric label for a failure worth a new session; raises for failures a new session cannot fix."""
    if isinstance(exc, ConnectionClosed) and exc.rcvd is not None:
        code, reason = exc.rcvd.code, exc.rcvd.reason
        if code == 1008:
            raise EngineFatalError(f"AssemblyAI closed the session with 1008 ({reason}): {_CLOSE_MEANINGS[1008]}; "
                                   "check VOXFRAME_ASSEMBLYAI_API_KEY", reason="unauthorized") from exc
        if code not in _RESUMABLE_CLOSE_CODES:
            raise EngineError(f"AssemblyAI closed the session with {code} ({reason}): "
                              f"{_CLOSE_MEANINGS.get(code, 'unexpected close')}", reason=f"close_{code}") from exc
        return f"close_{code}"
    if isinstance(exc, InvalidStatus):
        status = exc.response.status_code
        if status in (401, 403):
            raise EngineFatalError(f"AssemblyAI refused the API key (HTTP {status})", reason="unauthorized") from exc
        return f"http_{status}"
    if isinstance(exc, InvalidURI):
        raise EngineFatalError(f"bad AssemblyAI URL: {exc}", reason="config") from exc
    _LOGGER.debug("AssemblyAI session failed: %r", exc)
    return "network"  # no close frame: the network or the server went away


class _Dropped(Exception):
    """A session ended before its audio did, in a way a new session may get past."""

    def __init__(self, reason: str, covered_seconds: float) -> None:
        super().__init__(f"{reason} at {covered_seconds:.2f} s")
        self.reason = reason


def _reconnecting(exc: BaseException, _tries: int, delay: float) -> None:
    assert isinstance(exc, _Dropped)
    RECONNECTS.labels(exc.reason).inc()
    _LOGGER.warning("AssemblyAI session dropped (%s); resuming in %.1f s", exc, delay)


class AssemblyAIEngine:
    """Streams each segment through its own v3 session; blocks for about the segment's duration."""

    name = "assemblyai"

    def __init__(self, api_key: str, url: str = DEFAULT_URL, speech_model: str = DEFAULT_SPEECH_MODEL,
                 multilingual_model: str = MULTILINGUAL_SPEECH_MODEL, language: str = DEFAULT_LANGUAGE,
                 chunk_ms: int = 50, max_reconnects: int = 5, finish_timeout_s: float = 10.0,
                 backoff_s: float = 0.5, stop: threading.Event | None = None) -> None:
        if not api_key:
            raise EngineFatalError("AssemblyAI needs an API key: set VOXFRAME_ASSEMBLYAI_API_KEY", reason="config")
        if not 50 <= chunk_ms <= 1000:
            raise EngineFatalError(f"chunk_ms must be 50..1000 (AssemblyAI's frame limits), got {chunk_ms}",
                                   reason="config")
        self.model = f"{speech_model}+{multilingual_model}"
        self.language = language
        self._models = (speech_model, multilingual_model)
        self._api_key = api_key
        self._base_url = url
        self._chunk_bytes = _BYTES_PER_SECOND * chunk_ms // 1000
        self._max_reconnects = max_reconnects
        self._finish_timeout_s = finish_timeout_s
        self._reconnect = Retry(_Dropped, Backoff(backoff_s, max_seconds=8.0), max_reconnects + 1, stop=stop,
                                on_retry=_reconnecting)

    def transcribe(self, samples: np.ndarray, language: str | None = None,
                   prior: Mapping[str, float] | None = None) -> Recognition:
        """English goes to the English model; any other language, and `auto`, to the multilingual one, which
        detects each turn's language itself (so `prior` has nothing to weigh in on here)."""
        wanted = language or self.language
        model = self._models[0] if wanted == DEFAULT_LANGUAGE else self._models[1]
        url = self._url(model)
        pcm = samples.astype("<i2", copy=False).tobytes()
        utterance = _Utterance()
        try:
            self._reconnect(self._resume, url, pcm, utterance)
        except _Dropped as exc:
            raise EngineError(f"AssemblyAI session kept failing ({exc.reason}) after {self._max_reconnects} "
                              "reconnects", reason=exc.reason) from exc
        return utterance.recognition(DEFAULT_LANGUAGE if wanted == AUTO else wanted, model)

    def _resume(self, url: str, pcm: bytes, utterance: _Utterance) -> None:
        """One session from the end of the last finished turn; `_Dropped` when a new one may finish the job."""
        start = int(utterance.covered_seconds * SAMPLE_RATE_HZ) * 2
        try:
            self._session(url, pcm[start:], start / _BYTES_PER_SECOND, utterance)
        except (OSError, TimeoutError, WebSocketException) as exc:
            raise _Dropped(_resumable_reason(exc), utterance.covered_seconds) from exc

    def _url(self, model: str) -> str:
        query = {"sample_rate": SAMPLE_RATE_HZ, "encoding": "pcm_s16le", "speech_model": model, "format_turns": "true"}
        if model != self._models[0]:
            query["language_detection"] = "true"  # each turn then says its language_code
        return f"{self._base_url}?{urlencode(query)}"

    def _session(self, url: str, pcm: bytes, offset_seconds: float, utterance: _Utterance) -> None:
        """Open a session, stream `pcm` at real-time pace, terminate, and gather its finished turns."""
        with connect(url, additional_headers={"Authorization": self._api_key},
                     open_timeout=self._finish_timeout_s, close_timeout=self._finish_timeout_s) as ws:
            SESSIONS.inc()
            SESSIONS_OPEN.inc()
            try:
                begin = self._receive(ws, time.monotonic() + self._finish_timeout_s, utterance, None)
                if begin is None or begin.get("type") != "Begin" or not isinstance(begin.get("id"), str):
                    raise EngineError(f"AssemblyAI sent {begin!r} instead of Begin", reason="protocol")
                session_id = begin["id"]
                utterance.offsets[session_id] = offset_seconds
                self._stream(ws, pcm, session_id, utterance)
                ws.send(json.dumps({"type": "Terminate"}))
                deadline = time.monotonic() + self._finish_timeout_s
                while (message := self._receive(ws, deadline, utterance, session_id)) is not None:
                    if message.get("type") == "Termination":
                        return
                raise EngineError("AssemblyAI did not confirm Terminate in time", reason="timeout")
            finally:
                SESSIONS_OPEN.dec()

    def _stream(self, ws: ClientConnection, pcm: bytes, session_id: str, utterance: _Utterance) -> None:
        """Send frames no faster than real time (faster is closed with 3007), reading replies in between."""
        chunk = self._chunk_bytes
        if len(pcm) % chunk:
            pcm += bytes(chunk - len(pcm) % chunk)  # the last frame is padded with silence to the minimum size
        started = time.monotonic()
        for index in range(len(pcm) // chunk):
            due = started + index * chunk / _BYTES_PER_SECOND
            while self._receive(ws, due, utterance, session_id) is not None:
                pass
            ws.send(pcm[index * chunk:(index + 1) * chunk])

    @staticmethod
    def _receive(ws: ClientConnection, deadline: float, utterance: _Utterance,
                 session_id: str | None) -> dict[str, Any] | None:
        """The next JSON message before `deadline`, or None; finished turns are recorded on the way."""
        try:
            raw = ws.recv(timeout=max(0.0, deadline - time.monotonic()))
        except TimeoutError:
            return None
        try:
            message = parse_json(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise EngineError(f"AssemblyAI sent unusable JSON ({exc}): {raw[:120]!r}", reason="protocol") from exc
        if not isinstance(message, dict):
            raise EngineError(f"AssemblyAI sent {str(message)[:120]!r}, not a JSON object", reason="protocol")
        if message.get("type") == "Turn" and message.get("end_of_turn") and session_id is not None:
            utterance.add_turn(session_id, _checked_turn(message))
        _LOGGER.debug("AssemblyAI: %s", message.get("type"))
        return message
