"""AssemblyAI's pre-recorded API for upload jobs: upload and create a transcript, then fetch it by id.

Plain `requests` against the REST API rather than the `assemblyai` SDK: the SDK's `Transcript.get_by_id`
blocks until the transcript completes (a webhook/poll design needs one status read that returns at once), it
retries nothing on 429/5xx, and its base URL lives in process-wide settings (here each client has its own).
Protocol per github.com/AssemblyAI/assemblyai-api-spec (`openapi.yml`, `fern/pages/guides/webhooks.mdx`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import logging
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import requests
from prometheus_client import Counter

from shared.json_limits import parse_json
from shared.messages import Word
from shared.messages.language import AUTO, DEFAULT_LANGUAGE, language_code
from shared.retry import Backoff, Interrupted, Retry, retry_after_seconds

_LOGGER = logging.getLogger(__name__)

DEFAULT_API_URL = "https://api.assemblyai.com"
MAX_KEYTERMS = 200  # Universal-2's limit (Universal-3 Pro takes 1000)
MAX_KEYTERM_WORDS = 6
_WORD_CHARS = 64  # Word.text's limit
_SENTENCE_END = re.compile(r"[.?!…]['\")\]]*$")
_KEY_HINT = "check VOXFRAME_ASSEMBLYAI_API_KEY"
MAX_ANSWER_BYTES = 64 * 1024 * 1024  # a transcript's words take ~100 bytes each: ~2 MB for two hours of talk
_READ_BYTES = 64 * 1024

REQUESTS = Counter("voxframe_display_assemblyai_requests_total", "Requests to AssemblyAI's pre-recorded API",
                   ["route", "outcome"])


@dataclass(frozen=True)
class Utterance:
    """One speaker turn; times in seconds from the file's start."""

    text: str
    start_seconds: float
    end_seconds: float
    speaker: str | None
    words: tuple[Word, ...]
    language: str = DEFAULT_LANGUAGE


@dataclass(frozen=True)
class WebhookDelivery:
    """What AssemblyAI's webhook POST says: which transcript is finished, and how."""

    transcript_id: str
    status: str  # "completed" or "error"


class BatchError(Exception):
    """A failed AssemblyAI call; `reason` is a sentence for the job page.

    `transient` is true when trying again later may work (AssemblyAI busy or unreachable after the retries).
    """

    def __init__(self, reason: str, status_code: int | None = None, transient: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status_code = status_code
        self.transient = transient


class AssemblyAIBatch:
    """Submits audio files to AssemblyAI and reads the finished transcripts; every call returns promptly.

    429, 5xx and connection errors are retried with exponential backoff (honouring Retry-After) for at most
    `max_attempts` tries and `max_retry_seconds` of waiting. Creating a transcript is not retried after a read
    timeout: the request may have arrived, and a second one would be billed again.
    """

    WEBHOOK_HEADER: ClassVar[str] = "X-Voxframe-Webhook-Secret"

    def __init__(self, api_key: str, api_url: str = DEFAULT_API_URL, webhook_url: str | None = None,
                 webhook_secret: str | None = None, timeout_seconds: float = 30.0,
                 upload_timeout_seconds: float = 300.0, max_attempts: int = 4, backoff_seconds: float = 1.0,
                 max_retry_seconds: float = 60.0, speech_models: Sequence[str] = ()) -> None:
        if not api_key:
            raise BatchError("AssemblyAI needs an API key: set VOXFRAME_ASSEMBLYAI_API_KEY")
        self._api_key = api_key
        self._api_url = api_url.rstrip("/")
        self.webhook_url = webhook_url or None
        # without an explicit secret it is derived from the key: the same on every replica and after restarts
        self._webhook_secret = webhook_secret or hmac.new(api_key.encode(), b"voxframe-webhook",
                                                          hashlib.sha256).hexdigest()
        self._timeout_seconds = timeout_seconds
        self._upload_timeout_seconds = upload_timeout_seconds
        self._max_attempts = max(1, max_attempts)
        self._backoff_seconds = backoff_seconds
        self._max_retry_seconds = max_retry_seconds
        self._speech_models = list(speech_models)
        self._stopping = threading.Event()
        self._session = requests.Session()
        self._session.headers["authorization"] = api_key

    def submit(self, audio: bytes, keyterms: Sequence[str] = (), language: str | None = None) -> str:
        """Upload `audio` and ask for a transcript with speaker labels in `language` (a code; 'auto' or None:
        AssemblyAI detects it); returns the transcript id."""
        uploaded = self._call("upload", "POST", "/v2/upload", data=audio,
                              headers={"content-type": "application/octet-stream"},
                              timeout=self._upload_timeout_seconds)
        upload_url = uploaded.get("upload_url")
        if not isinstance(upload_url, str):
            raise BatchError(f"AssemblyAI's upload answer has no upload_url: {_short(uploaded)}")
        body: dict[str, Any] = {"audio_url": upload_url, "speaker_labels": True}
        body |= {"language_detection": True} if language in (None, AUTO) else {"language_code": language}
        if terms := clean_keyterms(keyterms):
            body["keyterms_prompt"] = terms
        if self._speech_models:
            body["speech_models"] = self._speech_models
        if self.webhook_url:
            body |= {"webhook_url": self.webhook_url, "webhook_auth_header_name": self.WEBHOOK_HEADER,
                     "webhook_auth_header_value": self._webhook_secret}
        created = self._call("transcript", "POST", "/v2/transcript", json=body, idempotent=False)
        transcript_id = created.get("id")
        if not isinstance(transcript_id, str) or not transcript_id:
            raise BatchError(f"AssemblyAI's transcript answer has no id: {_short(created)}")
        _LOGGER.info("AssemblyAI transcript %s created (%d bytes, %d keyterms, webhook %s)", transcript_id,
                     len(audio), len(terms), "on" if self.webhook_url else "off")
        return transcript_id

    def fetch(self, transcript_id: str) -> list[Utterance] | None:
        """None while queued or processing; the utterances once completed; BatchError when it failed."""
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,128}", transcript_id):
            raise BatchError(f"not an AssemblyAI transcript id: {transcript_id[:80]!r}")
        transcript = self._call("get", "GET", f"/v2/transcript/{transcript_id}")
        status = transcript.get("status")
        if status in ("queued", "processing"):
            return None
        if status == "error":
            why = transcript.get("error") or "no reason given"
            raise BatchError(f"AssemblyAI could not transcribe the file: {why}")
        if status != "completed":
            raise BatchError(f"AssemblyAI sent an unknown transcript status {status!r}")
        return utterances_of(transcript)

    def webhook_authentic(self, headers: Mapping[str, str]) -> bool:
        """Whether a webhook request carries our secret header (compared in constant time)."""
        wanted = self.WEBHOOK_HEADER.lower()
        given = next((v for k, v in headers.items() if k.lower() == wanted), None)
        return given is not None and hmac.compare_digest(given.encode(), self._webhook_secret.encode())

    def stop(self) -> None:
        """Shutdown: a call waiting to retry gives up at once (a transient BatchError)."""
        self._stopping.set()

    def _call(self, route: str, method: str, path: str, idempotent: bool = True,
              **kwargs: Any) -> dict[str, Any]:
        """One API call with retries; the JSON object it answers, or BatchError."""
        kwargs.setdefault("timeout", self._timeout_seconds)
        retried = (requests.ConnectionError, requests.Timeout) if idempotent else (requests.ConnectionError,)
        policy = Retry(_Unavailable, Backoff(self._backoff_seconds, max_seconds=self._max_retry_seconds),
                       self._max_attempts, self._max_retry_seconds, self._stopping,
                       on_retry=lambda exc, tried, delay: _LOGGER.warning(
                           "AssemblyAI %s failed (%s); try %d of %d in %.1f s", route, exc, tried + 1,
                           self._max_attempts, delay))
        tries = 0
        try:
            for attempt in policy:
                with attempt:
                    tries = attempt.retry_state.attempt_number
                    return self._request(route, method, path, retried, kwargs)
        except _Unavailable as exc:
            raise BatchError(f"AssemblyAI is unavailable ({exc}) after {tries} tries", transient=True) from exc
        except Interrupted as exc:
            raise BatchError("the display is shutting down; AssemblyAI was not asked again",
                             transient=True) from exc
        raise AssertionError("tenacity ends a run by returning or raising")

    def _request(self, route: str, method: str, path: str, retried: tuple[type[Exception], ...],
                 kwargs: dict[str, Any]) -> dict[str, Any]:
        """One try: the JSON object answered, `_Unavailable` when another try may work, or BatchError."""
        try:
            response = self._session.request(method, self._api_url + path, stream=True, **kwargs)
            body = _read_answer(response)
        except retried as exc:
            REQUESTS.labels(route, "network").inc()
            raise _Unavailable(f"cannot reach {self._api_url}: {type(exc).__name__}") from exc
        except requests.Timeout as exc:
            REQUESTS.labels(route, "network").inc()
            raise BatchError(f"AssemblyAI did not answer in time ({type(exc).__name__}); the request may "
                             "still have arrived", transient=True) from exc
        except requests.RequestException as exc:
            raise BatchError(f"cannot call AssemblyAI at {self._api_url!r}: {exc}") from exc
        status = response.status_code
        REQUESTS.labels(route, f"{status // 100}xx").inc()
        if status < 300:
            return _json_object(status, body)
        if status in (401, 403):
            raise BatchError(f"AssemblyAI refused the API key ({status}: {_error_text(response, body)}): "
                             f"{_KEY_HINT}", status_code=status)
        if status == 404 and route == "get":
            raise BatchError(f"AssemblyAI has no such transcript (404): {_error_text(response, body)}",
                             status_code=status)
        if status != 429 and status < 500:
            raise BatchError(f"AssemblyAI rejected the request ({status}): {_error_text(response, body)}",
                             status_code=status)
        raise _Unavailable(f"AssemblyAI answered {status}: {_error_text(response, body)}",
                           retry_after_seconds(response.headers.get("Retry-After")))


class _Unavailable(Exception):
    """AssemblyAI busy (429, 5xx) or unreachable: worth another try, after Retry-After when it names one."""

    def __init__(self, why: str, retry_after: float | None = None) -> None:
        super().__init__(why)
        self.retry_after_seconds = retry_after


def clean_keyterms(keyterms: Sequence[str]) -> list[str]:
    """Keyterms as AssemblyAI takes them: trimmed, unique, at most 6 words each, at most 200."""
    out: dict[str, None] = {}
    for term in keyterms:
        words = str(term).split()
        if words and len(words) <= MAX_KEYTERM_WORDS:
            out.setdefault(" ".join(words), None)
    return list(out)[:MAX_KEYTERMS]


def parse_webhook(body: bytes) -> WebhookDelivery:
    """The webhook's `{"transcript_id", "status"}`; BatchError when it is not that."""
    try:
        data = parse_json(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BatchError(f"the AssemblyAI webhook's body is not usable JSON ({exc})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("transcript_id"), str):
        raise BatchError(f"the AssemblyAI webhook names no transcript_id: {_short(data)}")
    return WebhookDelivery(transcript_id=data["transcript_id"], status=str(data.get("status", "")))


def utterances_of(transcript: Mapping[str, Any]) -> list[Utterance]:
    """A completed transcript's speaker turns; else one per sentence of its `words`; else its whole text. Each
    in the transcript's language (what AssemblyAI detected or was told; a tag it writes "en_us" reads as "en")."""
    language = _language_of(transcript)
    return [dataclasses.replace(u, language=language) for u in _utterances(transcript)]


def _language_of(transcript: Mapping[str, Any]) -> str:
    code = transcript.get("language_code")
    try:
        return language_code(code) if code else DEFAULT_LANGUAGE
    except ValueError as exc:
        raise BatchError(f"AssemblyAI named an unknown language: {exc}") from exc


def _utterances(transcript: Mapping[str, Any]) -> list[Utterance]:
    turns = transcript.get("utterances") or []
    if turns:
        return [_utterance(str(t.get("text", "")), t.get("words") or [], t.get("speaker"),
                           t.get("start"), t.get("end")) for t in turns]
    words = transcript.get("words") or []
    if words:
        out: list[Utterance] = []
        sentence: list[Mapping[str, Any]] = []
        for index, word in enumerate(words):
            sentence.append(word)
            following = words[index + 1] if index + 1 < len(words) else None
            if (following is None or _SENTENCE_END.search(str(word.get("text", "")))
                    or following.get("speaker") != word.get("speaker")):
                text = " ".join(str(w.get("text", "")) for w in sentence)
                out.append(_utterance(text, sentence, sentence[0].get("speaker"), None, None))
                sentence = []
        return out
    text = str(transcript.get("text") or "").strip()
    duration = float(transcript.get("audio_duration") or 0.0)
    return [Utterance(text=text, start_seconds=0.0, end_seconds=max(0.0, duration), speaker=None, words=())] \
        if text else []


def _utterance(text: str, words: Sequence[Mapping[str, Any]], speaker: Any, start_ms: Any,
               end_ms: Any) -> Utterance:
    kept = tuple(_word(w) for w in words if str(w.get("text", "")).strip())
    start = start_ms / 1000 if isinstance(start_ms, int | float) else (kept[0].start_seconds if kept else 0.0)
    end = end_ms / 1000 if isinstance(end_ms, int | float) else (kept[-1].end_seconds if kept else start)
    return Utterance(text=text.strip(), start_seconds=max(0.0, start), end_seconds=max(0.0, start, end),
                     speaker=None if speaker is None else str(speaker), words=kept)


def _word(word: Mapping[str, Any]) -> Word:
    start = max(0.0, float(word.get("start") or 0) / 1000)
    end = max(start, float(word.get("end") or 0) / 1000)
    confidence = min(1.0, max(0.0, float(word.get("confidence") or 0.0)))
    return Word(text=str(word["text"]).strip()[:_WORD_CHARS], start_seconds=start, end_seconds=end,
                confidence=confidence)


def _read_answer(response: requests.Response) -> bytes:
    """The answer's body, refused past MAX_ANSWER_BYTES (declared or read) before it costs more memory."""
    too_large = BatchError(f"AssemblyAI's answer is over the {MAX_ANSWER_BYTES}-byte limit")
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > MAX_ANSWER_BYTES:
        response.close()
        raise too_large
    data = bytearray()
    for chunk in response.iter_content(_READ_BYTES):
        data += chunk
        if len(data) > MAX_ANSWER_BYTES:
            response.close()
            raise too_large
    return bytes(data)


def _json_object(status: int, body: bytes) -> dict[str, Any]:
    try:
        data = parse_json(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BatchError(f"AssemblyAI answered {status} with something that is not usable JSON ({exc}): "
                         f"{body[:200]!r}") from exc
    if not isinstance(data, dict):
        raise BatchError(f"AssemblyAI answered {status} with {_short(data)}, not an object")
    return data


def _error_text(response: requests.Response, body: bytes) -> str:
    """AssemblyAI's `{"error": ...}` text, else the start of the body."""
    try:
        data = parse_json(body)
    except (ValueError, UnicodeDecodeError):
        return body[:200].decode(errors="replace").strip() or response.reason or "no details"
    if isinstance(data, dict) and data.get("error"):
        return str(data["error"])[:300]
    return _short(data)


def _short(data: object) -> str:
    return json.dumps(data)[:200] if not isinstance(data, str) else data[:200]
