"""The room's last picture, fetched from the display's gallery so an evolving prompt can be painted over it.

The generator may run on another host (a GPU box), so this is a plain HTTP GET of `/images/{id}` on the URL the
operator configured, held to the limits every image download has: one deadline, MAX_IMAGE_BYTES, no
redirects, no compressed bodies, decoded completely before use. It carries no credential: a picture without
words is served to anyone who can reach the display (SECURITY.md), which is all img2img needs, so a GPU host
never holds the display's token. Whatever goes wrong, the picture is painted afresh: evolving is a nicety.
"""

from __future__ import annotations

import logging
import time
import uuid

import requests

from services.generator.engines import BackendError, Picture, checked_picture
from services.generator.engines._http import check_status, http_errors, read_body
from services.generator.metrics import EVOLUTIONS
from shared.messages.image import MAX_IMAGE_BYTES

_LOGGER = logging.getLogger(__name__)
NAME = "gallery"


class GalleryClient:
    """GETs a picture by id from one display; `fetch` answers it (decoded cleanly once) or None, never raises."""

    def __init__(self, base_url: str, timeout_seconds: float = 10.0, connect_timeout_seconds: float = 3.0,
                 max_bytes: int = MAX_IMAGE_BYTES) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_seconds, self.connect_timeout_seconds, self.max_bytes = (timeout_seconds,
                                                                              connect_timeout_seconds, max_bytes)
        self.session = requests.Session()
        self.session.trust_env = False  # no .netrc credentials or proxies from the environment
        # the stored original (PNG or JPEG), not a WebP variant; compressed bodies are refused anyway
        self.session.headers.update({"Accept": "image/png, image/jpeg", "Accept-Encoding": "identity"})

    def fetch(self, image_id: str) -> Picture | None:
        try:
            data = self._get(f"{self.base_url}/images/{uuid.UUID(image_id)}")
        except (BackendError, ValueError) as exc:
            EVOLUTIONS.labels("unavailable").inc()
            _LOGGER.warning("The last picture %s could not be had from %s (%s); painting afresh", image_id[:64],
                            self.base_url, exc)
            return None
        if data is None:
            EVOLUTIONS.labels("not_found").inc()
            _LOGGER.info("The gallery has no picture %s (not painted, or removed); painting afresh", image_id)
        return data

    def _get(self, url: str) -> Picture | None:
        deadline = time.monotonic() + self.timeout_seconds
        with http_errors(NAME, url, self.timeout_seconds):
            response = self.session.get(url, stream=True, allow_redirects=False,
                                        timeout=(self.connect_timeout_seconds, self.timeout_seconds))
        with response:
            if response.status_code == 404:
                return None
            check_status(NAME, response)
            if response.status_code != 200:
                raise BackendError(f"{NAME}: {url} answered {response.status_code}", reason="bad_response")
            data = read_body(NAME, response, url, self.max_bytes, deadline, self.timeout_seconds, "invalid_image")
        return checked_picture(data, NAME)
