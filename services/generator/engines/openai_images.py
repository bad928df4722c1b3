"""The `openai` backend: `POST /v1/images/generations`, spoken by OpenAI and by many hosted and local servers;
a living room's next picture is `POST /v1/images/edits` of its last one instead (multipart: the picture and the
prompt), so what stays in the scene stays on the wall. The edits API takes no strength: a scene that moved on to
a new topic comes without a start picture and is generated afresh, and so is every picture on a server that has
no edits route (404/405: gpu-server, some local servers)."""

from __future__ import annotations

import logging
from typing import Any

from services.generator.engines import BackendError, ImageRequest, Picture, checked_picture
from services.generator.engines._download import ImageDownloader
from services.generator.engines._http import JsonClient, answer_limit, decode_base64

NAME = "openai"
_LOGGER = logging.getLogger(__name__)


class OpenAIImagesBackend:
    """Asks for base64 images (or fetches the URLs a server returns instead, without the key) and checks each one."""

    def __init__(self, base_url: str, model: str, api_key: str | None = None, timeout_seconds: float = 120.0,
                 connect_timeout_seconds: float = 5.0, size: str = "", response_format: str = "b64_json") -> None:
        self.url = base_url.rstrip("/") + "/images/generations"
        self.edits_url: str | None = base_url.rstrip("/") + "/images/edits"  # None once the server lacks it
        self.model = model
        self.size = size  # hosted APIs accept only a few sizes (e.g. 1536x1024); empty = the prompt's size
        self.response_format = response_format  # empty for servers that refuse the field (gpt-image-1)
        self.client = JsonClient(NAME, timeout_seconds, connect_timeout_seconds, api_key)
        self.images = ImageDownloader(NAME, base_url, timeout_seconds, connect_timeout_seconds)

    def generate(self, request: ImageRequest) -> list[Picture]:
        body: dict[str, object] = {"model": self.model, "prompt": request.text, "n": request.num_images,
                                   "size": self.size or f"{request.width}x{request.height}"}
        if self.response_format:
            body["response_format"] = self.response_format
        limit = answer_limit(request.num_images)
        status, payload = self._edit(request, body, limit)
        if payload is None:
            status, payload = self.client.post(self.url, body, limit)
        if payload is None:
            raise BackendError(f"{NAME}: {self.url} answered {status}; is the base URL right (…/v1)?",
                               reason="http_4xx")
        data = payload.get("data") if isinstance(payload, dict) else None
        if not isinstance(data, list) or not data:
            raise BackendError(f"{NAME}: response has no 'data' list: {str(payload)[:120]!r}", reason="bad_response")
        return [checked_picture(self._bytes(item), NAME) for item in data]

    def _edit(self, request: ImageRequest, body: dict[str, object], limit: int) -> tuple[int, Any]:
        """The edits endpoint's answer for a request with a start picture; (0, None) to generate instead."""
        if request.start is None or self.edits_url is None:
            return 0, None
        start = request.start
        picture = (f"previous.{start.mime_type.removeprefix('image/')}", start.data, start.mime_type)
        status, payload = self.client.post_form(self.edits_url, body, {"image": picture}, limit)
        if payload is None:
            _LOGGER.warning("%s answered %d: no image edits there; every picture is painted afresh", self.edits_url,
                            status)
            self.edits_url = None
        return status, payload

    def _bytes(self, item: object) -> bytes:
        if isinstance(item, dict) and item.get("b64_json"):
            return decode_base64(NAME, item["b64_json"])
        if isinstance(item, dict) and isinstance(item.get("url"), str):
            return self.images.get(item["url"])
        raise BackendError(f"{NAME}: image entry has neither b64_json nor url: {str(item)[:120]!r}",
                           reason="bad_response")
