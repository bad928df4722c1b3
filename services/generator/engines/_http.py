"""What the HTTP backends share: one POST with timeouts, and HTTP failures turned into `BackendError`s."""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests
import urllib3.exceptions

from services.generator.engines import BackendError
from shared.json_limits import parse_json
from shared.messages.image import MAX_IMAGE_BYTES
from shared.retry import retry_after_seconds

_READ_BYTES = 64 * 1024


def answer_limit(num_images: int) -> int:
    """The largest JSON answer worth reading for `num_images` images: each at most MAX_IMAGE_BYTES, as base64,
    plus room for the rest of the document."""
    return num_images * (MAX_IMAGE_BYTES * 4 // 3 + 4) + 64 * 1024


class JsonClient:
    """A keep-alive session to one server; every failure becomes a `BackendError` with a metric-ready reason.

    The session carries the API key, so it only ever talks to the configured server: image URLs found in its
    answers are fetched by `engines._download`, never by this session. Answers are read like downloads: not
    compressed, at most `max_bytes`, within one deadline, and parsed with a depth limit, so a broken or hostile
    server costs a `BackendError`, not the generator's memory or its process.
    """

    def __init__(self, backend: str, timeout_seconds: float, connect_timeout_seconds: float = 5.0,
                 api_key: str | None = None) -> None:
        self.backend = backend
        self.timeout = (connect_timeout_seconds, timeout_seconds)
        self.session = requests.Session()
        self.session.headers["Accept-Encoding"] = "identity"  # base64 compresses little; no gzip bombs
        if api_key:
            self.session.headers["Authorization"] = f"Bearer {api_key}"

    def post(self, url: str, body: dict[str, Any], max_bytes: int = answer_limit(1)) -> tuple[int, Any]:
        """POST `body`; return (status, parsed JSON) for 2xx and 404/405 (the caller may try another route)."""
        return self._post(url, max_bytes, json=body)

    def post_form(self, url: str, fields: dict[str, object], files: dict[str, tuple[str, bytes, str]],
                  max_bytes: int = answer_limit(1)) -> tuple[int, Any]:
        """`post`, with a multipart/form-data body: `fields` as text, `files` as (filename, bytes, type)."""
        return self._post(url, max_bytes, data={k: str(v) for k, v in fields.items()}, files=files)

    def _post(self, url: str, max_bytes: int, **body: Any) -> tuple[int, Any]:
        deadline = time.monotonic() + self.timeout[1]
        with http_errors(self.backend, url, self.timeout[1]):
            response = self.session.post(url, timeout=self.timeout, stream=True, **body)
        with response:
            if response.status_code in (404, 405):
                return response.status_code, None
            text = read_body(self.backend, response, url, max_bytes, deadline, self.timeout[1], "bad_response")
        check_status(self.backend, response, text[:200].decode(errors="replace"))
        try:
            return response.status_code, parse_json(text)
        except ValueError as exc:
            raise BackendError(f"{self.backend}: {url} answered {response.status_code} with unusable JSON "
                               f"({exc}; {text[:120]!r})", reason="bad_response") from exc


def read_body(backend: str, response: requests.Response, url: str, max_bytes: int, deadline: float,
              timeout_seconds: float, too_large_reason: str) -> bytes:
    """A streamed body, one socket read at a time (`read1`), so neither a huge body nor a slow trickle outlasts
    the limits; a compressed body is refused (its size would say nothing of what it decompresses to)."""
    encoding = response.headers.get("Content-Encoding", "identity").lower()
    if encoding != "identity":
        raise BackendError(f"{backend}: {url[:200]!r} sent a {encoding!r}-encoded body", reason="bad_response")
    too_large = BackendError(f"{backend}: {url[:200]!r} is over the {max_bytes}-byte limit", reason=too_large_reason)
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise too_large
    data = bytearray()
    with http_errors(backend, url, timeout_seconds):
        while chunk := response.raw.read1(_READ_BYTES):
            data += chunk
            if len(data) > max_bytes:
                raise too_large
            time_left(backend, url, deadline, timeout_seconds)
    return bytes(data)


def time_left(backend: str, url: str, deadline: float, timeout_seconds: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise BackendError(f"{backend}: {url[:200]!r} not read within {timeout_seconds:.0f} s", reason="timeout",
                           retryable=True)
    return left


@contextmanager
def http_errors(backend: str, url: str, timeout_seconds: float) -> Iterator[None]:
    """Timeouts and connection failures (also while a body streams in, raw) as retryable `BackendError`s."""
    try:
        yield
    except (requests.Timeout, urllib3.exceptions.TimeoutError) as exc:
        raise BackendError(f"{backend}: {url} did not answer within {timeout_seconds:.0f} s",
                           reason="timeout", retryable=True) from exc
    except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError, urllib3.exceptions.HTTPError) as exc:
        raise BackendError(f"{backend}: cannot reach {url}: {exc}", reason="unavailable", retryable=True) from exc


def check_status(backend: str, response: requests.Response, excerpt: str = "") -> None:
    """4xx and 5xx as `BackendError`s: 429 and 5xx may pass if tried again (after the server's Retry-After), the
    rest will not."""
    status = response.status_code
    if status < 400:
        return
    detail = f"{backend}: {response.url} answered {status}: {excerpt!r}"
    if status == 429 or status >= 500:
        raise BackendError(detail, reason="busy" if status in (429, 503) else "http_5xx", retryable=True,
                           retry_after_seconds=retry_after_seconds(response.headers.get("Retry-After")))
    raise BackendError(detail, reason="auth" if status in (401, 403) else "http_4xx")


def decode_base64(backend: str, text: object) -> bytes:
    """Strict base64 (optionally a `data:` URL): a garbled payload is the server's fault, not an image."""
    if not isinstance(text, str):
        raise BackendError(f"{backend}: expected a base64 string, got {type(text).__name__}", reason="bad_response")
    if text.startswith("data:"):
        text = text.partition(",")[2]
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BackendError(f"{backend}: image is not valid base64: {exc}", reason="invalid_image") from exc
