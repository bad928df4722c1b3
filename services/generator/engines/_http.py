"""What the HTTP backends share: one POST with timeouts, and HTTP failures turned into `BackendError`s."""

from __future__ import annotations

import base64
import binascii
from typing import Any

import requests

from services.generator.engines import BackendError


class JsonClient:
    """A keep-alive session to one server; every failure becomes a `BackendError` with a metric-ready reason."""

    def __init__(self, backend: str, timeout_seconds: float, connect_timeout_seconds: float = 5.0,
                 api_key: str | None = None) -> None:
        self.backend = backend
        self.timeout = (connect_timeout_seconds, timeout_seconds)
        self.session = requests.Session()
        if api_key:
            self.session.headers["Authorization"] = f"Bearer {api_key}"

    def post(self, url: str, body: dict[str, Any]) -> tuple[int, Any]:
        """POST `body`; return (status, parsed JSON) for 2xx and 404/405 (the caller may try another route)."""
        response = self._send("POST", url, json=body)
        if response.status_code in (404, 405):
            return response.status_code, None
        self._raise_for_status(response)
        try:
            return response.status_code, response.json()
        except ValueError as exc:
            raise BackendError(f"{self.backend}: {url} answered {response.status_code} with non-JSON "
                               f"({response.text[:120]!r})", reason="bad_response") from exc

    def get_bytes(self, url: str) -> bytes:
        response = self._send("GET", url)
        self._raise_for_status(response)
        return response.content

    def _send(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        try:
            return self.session.request(method, url, timeout=self.timeout, **kwargs)
        except requests.Timeout as exc:
            raise BackendError(f"{self.backend}: {url} did not answer within {self.timeout[1]:.0f} s",
                               reason="timeout", retryable=True) from exc
        except requests.ConnectionError as exc:
            raise BackendError(f"{self.backend}: cannot reach {url}: {exc}", reason="unavailable",
                               retryable=True) from exc

    def _raise_for_status(self, response: requests.Response) -> None:
        status = response.status_code
        if status < 400:
            return
        detail = f"{self.backend}: {response.url} answered {status}: {response.text[:200]!r}"
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
