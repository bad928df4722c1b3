"""Fetching the image URLs an API answers with. The URL comes from the remote server, so the server must not
choose what we send (no API key, no .netrc, no proxy settings), where we connect (https only, redirects
checked hop by hop) or how much and how long we read (a byte cap and a deadline for the whole download)."""

from __future__ import annotations

import time
from urllib.parse import urljoin, urlsplit

import requests

from services.generator.engines import BackendError
from services.generator.engines._http import check_status, http_errors, read_body, time_left
from shared.messages.image import MAX_IMAGE_BYTES
from shared.net import is_loopback_host

MAX_REDIRECTS = 3


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
            left = time_left(self.backend, url, deadline, self.timeout_seconds)
            with http_errors(self.backend, url, self.timeout_seconds):
                response = self.session.get(url, stream=True, allow_redirects=False,
                                            timeout=(self.connect_timeout_seconds, left))
            with response:
                target = self.session.get_redirect_target(response)
                if target is None:
                    check_status(self.backend, response)
                    return read_body(self.backend, response, url, self.max_bytes, deadline,
                                     self.timeout_seconds, "invalid_image")
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


def _is_loopback_http(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme == "http" and is_loopback_host(parts.hostname)
