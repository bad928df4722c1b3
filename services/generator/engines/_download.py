"""Fetching the image URLs an API answers with. The URL comes from the remote server, so the server must not
choose what we send (no API key, no .netrc, no proxy settings), where we connect (https only, redirects
checked hop by hop) or how much and how long we read (a byte cap and a deadline for the whole download)."""

from __future__ import annotations

import time
from urllib.parse import urljoin, urlsplit

import requests

from services.generator.engines import BackendError
from services.generator.engines._http import check_status, http_errors
from shared.messages.image import MAX_IMAGE_BYTES
from shared.net import is_loopback_host

MAX_REDIRECTS = 3
_READ_BYTES = 64 * 1024


class ImageDownloader:
    """GETs one image URL with a session of its own that holds no credentials.

    Only https is fetched. Plain http is allowed for loopback URLs, and only when the API's own base URL is
    http on loopback: a local test server, never a remote one.
    """

    def __init__(self, backend: str, base_url: str, timeout_seconds: float, connect_timeout_seconds: float = 5.0,
                 max_bytes: int = MAX_IMAGE_BYTES) -> None:
        self.backend, self.max_bytes = backend, max_bytes
        self.timeout_seconds, self.connect_timeout_seconds = timeout_seconds, connect_timeout_seconds
        self.allow_loopback_http = _is_loopback_http(base_url)
        self.session = requests.Session()
        self.session.trust_env = False  # no .netrc credentials, proxies or CA bundle from the environment
        self.session.headers["Accept-Encoding"] = "identity"  # images are compressed already; no gzip bombs

    def get(self, url: str) -> bytes:
        deadline = time.monotonic() + self.timeout_seconds
        for _ in range(MAX_REDIRECTS + 1):
            self._check_allowed(url)
            with http_errors(self.backend, url, self.timeout_seconds):
                response = self.session.get(url, stream=True, allow_redirects=False,
                                            timeout=(self.connect_timeout_seconds, self._left(deadline, url)))
            with response:
                target = self.session.get_redirect_target(response)
                if target is None:
                    check_status(self.backend, response)
                    return self._read(response, url, deadline)
            url = urljoin(url, target)
        raise BackendError(f"{self.backend}: image URL redirected more than {MAX_REDIRECTS} times",
                           reason="bad_response")

    def _check_allowed(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme == "https" and parts.hostname:
            return
        if parts.scheme == "http" and self.allow_loopback_http and is_loopback_host(parts.hostname):
            return
        raise BackendError(f"{self.backend}: refusing to fetch image URL {url[:200]!r}: only https URLs are "
                           "followed", reason="bad_response")

    def _read(self, response: requests.Response, url: str, deadline: float) -> bytes:
        """One socket read at a time (`read1`), so neither a huge body nor a slow trickle outlasts the limits."""
        encoding = response.headers.get("Content-Encoding", "identity").lower()
        if encoding != "identity":
            raise BackendError(f"{self.backend}: image URL sent a {encoding!r}-encoded body", reason="bad_response")
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise self._too_large(url)
        data = bytearray()
        with http_errors(self.backend, url, self.timeout_seconds):
            while chunk := response.raw.read1(_READ_BYTES):
                data += chunk
                if len(data) > self.max_bytes:
                    raise self._too_large(url)
                self._left(deadline, url)
        return bytes(data)

    def _left(self, deadline: float, url: str) -> float:
        left = deadline - time.monotonic()
        if left <= 0:
            raise BackendError(f"{self.backend}: image URL {url[:200]!r} not downloaded within "
                               f"{self.timeout_seconds:.0f} s", reason="timeout", retryable=True)
        return left

    def _too_large(self, url: str) -> BackendError:
        return BackendError(f"{self.backend}: image URL {url[:200]!r} is over the {self.max_bytes}-byte limit",
                            reason="invalid_image")


def _is_loopback_http(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme == "http" and is_loopback_host(parts.hostname)
