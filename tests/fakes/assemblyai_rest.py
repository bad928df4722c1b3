"""A local stand-in for AssemblyAI's pre-recorded REST API (v2) that speaks its documented protocol.

`POST /v2/upload` (raw bytes) → `{"upload_url"}`; `POST /v2/transcript` (JSON, `audio_url` required) →
`{"id", "status": "queued"}`; `GET /v2/transcript/{id}` → queued → processing → completed (or error) after
scripted polls or seconds, in the `language_code` asked for, or the one spoken with `language_detection` (with its
`language_confidence`), else `en_us`, the API's default; a wrong `authorization` header gets 401
`{"error": "Invalid API key"}`. A transcript created with `webhook_url` gets a POST `{"transcript_id", "status"}`
and its auth header.
Protocol per github.com/AssemblyAI/assemblyai-api-spec (`openapi.yml`, `fern/pages/guides/webhooks.mdx`).
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections import Counter, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal, Self

import requests

WORD_MS = 400  # each scripted word lasts this long
GAP_MS = 200  # between scripted utterances


@dataclass
class Script:
    """What the next created transcript becomes, and when."""

    utterances: list[tuple[str | None, str]] = field(default_factory=lambda: [("A", "Hello there."),
                                                                               ("B", "Hi, how are you?")])
    error: str | None = None  # ends with status error and this text instead
    with_utterances: bool = True  # False: completed with `words` and `text` only (as without speaker_labels)
    queued_polls: int = 1  # GETs answered `queued`, then `processing_polls` GETs answered `processing`
    processing_polls: int = 1
    complete_after_seconds: float | None = None  # instead of polls: finish this long after creation
    webhook: Literal["once", "twice", "drop"] = "once"
    spoken: str = "en"  # the language the audio is in: what `language_detection` finds


@dataclass
class Transcript:
    """One created transcript as the fake keeps it."""

    id: str
    request: dict[str, Any]
    script: Script
    polls: int = 0
    status: str = "queued"


@dataclass
class Delivery:
    """One webhook POST the fake sent (or tried to)."""

    url: str
    body: dict[str, Any]
    status_code: int | None  # None: it could not be delivered


@dataclass
class _Injected:
    status: int
    retry_after: str | None
    error: str
    route: str | None
    body: bytes | None = None  # sent as it is instead of `{"error": error}`


class FakeAssemblyAIRest:
    """The fake API on 127.0.0.1; use as a context manager. `scripts` feed created transcripts in order."""

    def __init__(self, api_key: str = "test-key") -> None:
        self.api_key = api_key
        self.scripts: deque[Script] = deque()
        self.uploads: dict[str, bytes] = {}
        self.transcripts: dict[str, Transcript] = {}
        self.requests: Counter[str] = Counter()  # per route: upload, transcript, get, other (injected too)
        self.deliveries: list[Delivery] = []
        self._injected: deque[_Injected] = deque()
        self._lock = threading.Lock()
        self._timers: list[threading.Timer] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def created(self) -> list[dict[str, Any]]:
        """The JSON bodies of every accepted `POST /v2/transcript`, in order."""
        return [t.request for t in self.transcripts.values()]

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        for timer in self._timers:
            timer.cancel()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def inject(self, status: int, times: int = 1, retry_after: str | None = None, error: str = "injected",
               route: str | None = None) -> None:
        """Answer the next `times` requests (of `route`, or any) with `status` and `{"error": error}`."""
        with self._lock:
            self._injected.extend(_Injected(status, retry_after, error, route) for _ in range(times))

    def inject_body(self, body: bytes, status: int = 200, route: str | None = None) -> None:
        """Answer the next request (of `route`, or any) with `status` and these bytes, as a broken server might."""
        with self._lock:
            self._injected.append(_Injected(status, None, "", route, body))

    # --- request handling (on the server's threads) ---

    def _take_injected(self, route: str) -> _Injected | None:
        with self._lock:
            for item in self._injected:
                if item.route in (None, route):
                    self._injected.remove(item)
                    return item
        return None

    def _upload(self, body: bytes) -> tuple[int, dict[str, Any]]:
        if not body:
            return 400, {"error": "Upload is empty"}
        token = uuid.uuid4().hex
        self.uploads[token] = body
        return 200, {"upload_url": f"{self.url}/upload/{token}"}

    def _create(self, body: bytes) -> tuple[int, dict[str, Any]]:
        try:
            request = json.loads(body)
        except ValueError:
            return 400, {"error": "Request body is not valid JSON"}
        audio_url = request.get("audio_url") if isinstance(request, dict) else None
        if not isinstance(audio_url, str):
            return 400, {"error": "audio_url is required"}
        token = audio_url.removeprefix(f"{self.url}/upload/")
        if token == audio_url or token not in self.uploads:
            return 400, {"error": "Transcoding failed. File does not appear to contain audio."}
        terms = request.get("keyterms_prompt", [])
        if len(terms) > 200 or any(len(t.split()) > 6 for t in terms):
            return 400, {"error": "keyterms_prompt: at most 200 terms of at most 6 words"}
        with self._lock:
            script = self.scripts.popleft() if self.scripts else Script()
        transcript = Transcript(id=uuid.uuid4().hex[:20], request=request, script=script)
        self.transcripts[transcript.id] = transcript
        if script.complete_after_seconds is not None:
            timer = threading.Timer(script.complete_after_seconds, self._finish, (transcript,))
            timer.daemon = True
            self._timers.append(timer)
            timer.start()
        return 200, self._view(transcript)

    def _get(self, transcript_id: str) -> tuple[int, dict[str, Any]]:
        transcript = self.transcripts.get(transcript_id)
        if transcript is None:
            return 404, {"error": "Transcript lookup error, transcript id not found"}
        with self._lock:
            transcript.polls += 1
            script = transcript.script
            if transcript.status in ("queued", "processing") and script.complete_after_seconds is None:
                if transcript.polls > script.queued_polls + script.processing_polls:
                    finish = True
                else:
                    transcript.status = "queued" if transcript.polls <= script.queued_polls else "processing"
                    finish = False
            else:
                finish = False
        if finish:
            self._finish(transcript)
        return 200, self._view(transcript)

    def _finish(self, transcript: Transcript) -> None:
        transcript.status = "error" if transcript.script.error else "completed"
        url = transcript.request.get("webhook_url")
        if url and transcript.script.webhook != "drop":
            threading.Thread(target=self._deliver, args=(transcript, url), daemon=True).start()

    def _deliver(self, transcript: Transcript, url: str) -> None:
        body = {"transcript_id": transcript.id, "status": transcript.status}
        name = transcript.request.get("webhook_auth_header_name")
        headers = {name: transcript.request.get("webhook_auth_header_value", "")} if name else {}
        for _ in range(2 if transcript.script.webhook == "twice" else 1):
            try:
                status: int | None = requests.post(url, json=body, headers=headers, timeout=10).status_code
            except requests.RequestException:
                status = None
            self.deliveries.append(Delivery(url, body, status))

    def _view(self, transcript: Transcript) -> dict[str, Any]:
        """The transcript as `GET /v2/transcript/{id}` shows it."""
        request, script = transcript.request, transcript.script
        detect = bool(request.get("language_detection"))
        view: dict[str, Any] = {"id": transcript.id, "status": transcript.status,
                                "audio_url": request["audio_url"],
                                "speaker_labels": bool(request.get("speaker_labels")),
                                "keyterms_prompt": request.get("keyterms_prompt"),
                                "webhook_url": request.get("webhook_url"), "text": None, "words": None,
                                "utterances": None, "error": None, "language_detection": detect,
                                "language_code": request.get("language_code") or ("en_us" if not detect else None),
                                "language_confidence": None}
        if transcript.status == "error":
            view["error"] = script.error
        elif transcript.status == "completed":
            view.update(_result(script, labelled=bool(request.get("speaker_labels"))))
            if detect:
                view.update(language_code=script.spoken, language_confidence=0.97)
        return view


def _result(script: Script, labelled: bool) -> dict[str, Any]:
    """text, words and utterances in AssemblyAI's shape (ms times) for the scripted speech."""
    utterances, all_words, at = [], [], 0
    for speaker, text in script.utterances:
        words = []
        for token in text.split():
            words.append({"text": token, "start": at, "end": at + WORD_MS - 50, "confidence": 0.93,
                          "speaker": speaker if labelled else None})
            at += WORD_MS
        utterances.append({"speaker": speaker, "text": text, "start": words[0]["start"],
                           "end": words[-1]["end"], "confidence": 0.93, "words": words})
        all_words += words
        at += GAP_MS
    return {"text": " ".join(text for _, text in script.utterances), "words": all_words,
            "utterances": utterances if labelled and script.with_utterances else None,
            "audio_duration": at / 1000, "confidence": 0.93}


def _handler_for(fake: FakeAssemblyAIRest) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            self._serve("POST")

        def do_GET(self) -> None:
            self._serve("GET")

        def _serve(self, method: str) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            match = re.fullmatch(r"/v2/transcript/([^/]+)", self.path)
            route = {("POST", "/v2/upload"): "upload", ("POST", "/v2/transcript"): "transcript"}.get(
                (method, self.path), "get" if method == "GET" and match else "other")
            fake.requests[route] += 1
            if (injected := fake._take_injected(route)) is not None:
                extra = {"Retry-After": injected.retry_after} if injected.retry_after is not None else {}
                if injected.body is not None:
                    return self._send(injected.status, injected.body, {})
                return self._answer(injected.status, {"error": injected.error}, extra)
            if self.headers.get("authorization") != fake.api_key:
                return self._answer(401, {"error": "Invalid API key"})
            if route == "upload":
                return self._answer(*fake._upload(body))
            if route == "transcript":
                return self._answer(*fake._create(body))
            if route == "get" and match:
                return self._answer(*fake._get(match.group(1)))
            return self._answer(404, {"error": "Not found"})

        def _answer(self, status: int, data: dict[str, Any], headers: dict[str, str] | None = None) -> None:
            self._send(status, json.dumps(data).encode(), headers or {})

        def _send(self, status: int, raw: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(raw)

    return Handler


@dataclass
class Received:
    """One request the webhook receiver got."""

    headers: dict[str, str]
    body: dict[str, Any]


class WebhookReceiver:
    """Plays the display's webhook endpoint: records each POST and answers `status_code`."""

    def __init__(self, status_code: int = 200) -> None:
        self.status_code = status_code
        self.received: list[Received] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.received.append(Received(dict(self.headers.items()), json.loads(raw or b"{}")))
                self.send_response(receiver.status_code)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/assemblyai/webhook"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

