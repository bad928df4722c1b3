"""What the HTTP backends share: one POST with timeouts, and HTTP failures turned into `BackendError`s."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests
import urllib3.exceptions

from services.generator.engines import BackendError


class JsonClient:
    """A keep-alive session to one server; every failure becomes a `BackendError` with a metric-ready reason.

    The session carries the API key, so it only ever talks to the configured server: image URLs found in its
    answers are fetched by `engines._download`, never by this session.
    """

    def __init__(self, backend: str, timeout_seconds: float, connect_timeout_seconds: float = 5.0,
                 api_key: str | None = None) -> None:
        self.backend = backend
        self.timeout = (connect_timeout_seconds, timeout_seconds)
        self.session = requests.Session()
        if api_key:
            self.session.headers["Authorization"] = f"Bearer {api_key}"

    def post(self, url: str, body: dict[str, Any]) -> tuple[int, Any]:
        """POST `body`; return (status, parsed JSON) for 2xx and 404/405 (the caller may try another route)."""
        with http_errors(self.backend, url, self.timeout[1]):
            response = self.session.post(url, json=body, timeout=self.timeout)
        if response.status_code in (404, 405):
            return response.status_code, None
        check_status(self.backend, response, response.text[:200])
        try:
            return response.status_code, response.json()
        except ValueError as exc:
            raise BackendError(f"{self.backend}: {url} answered {response.status_code} with non-JSON "
                               f"({response.text[:120]!r})", reason="bad_response") from exc


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
    """4xx and 5xx as `BackendError`s: 429 and 5xx may pass if tried again, the rest will not."""
    status = response.status_code
    if status < 400:
        return
    detail = f"{backend}: {response.url} answered {status}: {excerpt!r}"
    if status == 429 or status >= 500:
        raise BackendError(detail, reason="busy" if status in (429, 503) else "http_5xx", retryable=True)
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
