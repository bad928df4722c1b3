"""A local stand-in for AssemblyAI's Universal Streaming API v3 that speaks its documented wire protocol.

Begin on connect; binary PCM frames of 50-1000 ms, no faster than real time (else close 3007);
`{"type":"Terminate"}` flushes the finished turns, then Termination and close 1000; a wrong
`Authorization` header closes with 1008; a `speech_model` the API does not offer closes with 3006. With
`language_detection=true` a finished turn carries `language_code` and `language_confidence`. What it "hears" is
scripted per session, as are drops.
Protocol per github.com/AssemblyAI/assemblyai-api-spec (`usm-streaming.yml`, `common-errors.mdx`).
"""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Self
from urllib.parse import parse_qs, urlparse

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import ServerConnection, serve

BYTES_PER_SECOND = 32000
SPEECH_MODELS = ("universal-streaming-english", "universal-streaming-multilingual", "u3-rt-pro", "whisper-rt")


@dataclass
class Script:
    """What one session hears and does. Times are seconds of audio received in that session."""

    turns: list[str] = field(default_factory=lambda: ["hello world"])  # finished when Terminate arrives
    early_turn: tuple[str, float] | None = None  # a turn finished as soon as this much audio arrived
    drop: tuple[int | None, float] | None = None  # close with this code (None: cut the socket) at this time
    after_begin: str | None = None  # a text message sent right after Begin, as a broken or hostile server would
    begin: dict[str, object] | None = None  # sent instead of the documented Begin, as a broken server would
    language: str = "en"  # what is spoken: each finished turn's language_code when language_detection=true


@dataclass
class Session:
    """What the fake saw in one session, for assertions."""

    id: str
    params: dict[str, str]
    authorization: str | None
    frame_bytes: list[int] = field(default_factory=list)
    closed_with: int | None = None
    terminated: bool = False

    @property
    def audio_bytes(self) -> int:
        return sum(self.frame_bytes)


class FakeAssemblyAI:
    def __init__(self, api_key: str = "test-key", burst_seconds: float = 0.3) -> None:
        self.api_key = api_key
        self.burst_seconds = burst_seconds
        self.scripts: deque[Script] = deque()
        self.sessions: list[Session] = []
        self._server = serve(self._handle, "127.0.0.1", 0, max_queue=None)  # keep reading to see the close
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self._server.socket.getsockname()[1]}/v3/ws"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._thread.join(5)

    def _handle(self, ws: ServerConnection) -> None:
        request = urlparse(ws.request.path)
        params = {k: v[0] for k, v in parse_qs(request.query).items()}
        session = Session(str(uuid.uuid4()), params, ws.request.headers.get("Authorization"))
        self.sessions.append(session)
        if request.path != "/v3/ws" or session.authorization != self.api_key:
            return self._close(ws, session, 1008, "Unauthorized connection: Invalid API key")
        if params.get("speech_model") not in SPEECH_MODELS or params.get("encoding") != "pcm_s16le":
            return self._close(ws, session, 3006, "speech_model (one of the offered) and encoding=pcm_s16le are "
                                                  "required")
        script = self.scripts.popleft() if self.scripts else Script()
        formatted = params.get("format_turns") == "true"
        language = {"language_code": script.language, "language_confidence": 0.93} \
            if params.get("language_detection") == "true" else {}
        ws.send(json.dumps(script.begin if script.begin is not None else
                           {"type": "Begin", "id": session.id, "expires_at": int(time.time()) + 10800}))
        if script.after_begin is not None:
            ws.send(script.after_begin)
        turn_order, turn_start, first_frame_at = 0, 0.0, None
        try:
            for message in ws:
                if isinstance(message, str):
                    kind = json.loads(message).get("type")
                    if kind == "Terminate":
                        break
                    if kind != "KeepAlive":
                        return self._close(ws, session, 3006, f"Invalid message type {kind!r}")
                    continue
                now = time.monotonic()
                first_frame_at = first_frame_at or now
                frame_ms = len(message) * 1000 / BYTES_PER_SECOND
                if not 50 <= frame_ms <= 1000:
                    return self._close(ws, session, 3007, f"Input duration violation: {frame_ms:.0f} ms")
                session.frame_bytes.append(len(message))
                heard = session.audio_bytes / BYTES_PER_SECOND
                if heard > now - first_frame_at + frame_ms / 1000 + self.burst_seconds:
                    return self._close(ws, session, 3007, "Audio Transmission Rate Exceeded")
                if script.early_turn and heard >= script.early_turn[1]:
                    self._turn(ws, turn_order, script.early_turn[0], turn_start, heard, formatted, language)
                    turn_order, turn_start, script.early_turn = turn_order + 1, heard, None
                if script.drop and heard >= script.drop[1]:
                    code = script.drop[0]
                    if code is None:
                        ws.socket.shutdown(socket.SHUT_RDWR)
                        return None
                    return self._close(ws, session, code, "scripted drop")
            heard = session.audio_bytes / BYTES_PER_SECOND
            share = (heard - turn_start) / max(1, len(script.turns))
            for index, text in enumerate(script.turns):
                start = turn_start + index * share
                self._turn(ws, turn_order + index, text, start, start + share, formatted, language)
            session.terminated = True
            ws.send(json.dumps({"type": "Termination", "audio_duration_seconds": round(heard, 3),
                                "session_duration_seconds": round(heard + 0.2, 3)}))
            return self._close(ws, session, 1000, "")
        except ConnectionClosed:
            return None

    @staticmethod
    def _turn(ws: ServerConnection, order: int, text: str, start_s: float, end_s: float, formatted: bool,
              language: dict[str, object]) -> None:
        """A partial, then the finished turn (twice when formatting: plain, then formatted), with its language."""
        words = text.split()
        step = (end_s - start_s) / len(words)
        entries = [{"text": w, "start": int((start_s + i * step) * 1000), "end": int((start_s + (i + 1) * step) * 1000),
                    "confidence": 0.9, "word_is_final": True} for i, w in enumerate(words)]
        base = {"type": "Turn", "turn_order": order, "end_of_turn_confidence": 0.8, "words": entries}
        ws.send(json.dumps({**base, "turn_is_formatted": False, "end_of_turn": False,
                            "transcript": " ".join(words[:-1])}))
        ws.send(json.dumps({**base, **language, "turn_is_formatted": False, "end_of_turn": True, "transcript": text}))
        if formatted:
            ws.send(json.dumps({**base, **language, "turn_is_formatted": True, "end_of_turn": True,
                                "transcript": text.capitalize() + "."}))

    @staticmethod
    def _close(ws: ServerConnection, session: Session, code: int, reason: str) -> None:
        session.closed_with = code
        ws.close(code, reason)
