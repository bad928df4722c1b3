"""The `dalle-playground` backend: the seed's GPU server contract (saharmor/dalle-playground `backend/app.py`).

`POST /generate` (from Nov 2022) or `POST /dalle` (before) with `{"text", "num_images"}`; the answer is either
`{"generatedImgs": [b64...], "generatedImgsFormat": "jpeg"|"png"}` or, before June 2022, a bare list of base64
JPEGs. `voxframe gpu-server` speaks the same contract and also honours `seed`, `width` and `height`.
"""

from __future__ import annotations

from typing import Any, cast

from services.generator.engines import BackendError, ImageRequest, Picture, checked_picture
from services.generator.engines._http import JsonClient, answer_limit, decode_base64

NAME = "dalle-playground"
_ROUTES = ("/generate", "/dalle")


class DallePlaygroundBackend:
    """Tries `/generate`, falls back to the legacy `/dalle` once if the server has no such route, and remembers."""

    def __init__(self, url: str, timeout_seconds: float = 120.0, connect_timeout_seconds: float = 5.0,
                 api_key: str | None = None) -> None:
        self.url = url.rstrip("/")
        self.client = JsonClient(NAME, timeout_seconds, connect_timeout_seconds, api_key)
        self.route: str | None = None

    def generate(self, request: ImageRequest) -> list[Picture]:
        body = {"text": request.text, "num_images": request.num_images, "seed": request.seed,
                "width": request.width, "height": request.height}
        for route in (self.route,) if self.route else _ROUTES:
            _, payload = self.client.post(self.url + route, body, answer_limit(request.num_images))
            if payload is not None:
                self.route = route
                return [checked_picture(decode_base64(NAME, item), NAME) for item in _images(payload)]
        raise BackendError(f"{NAME}: {self.url} has neither POST /generate nor POST /dalle", reason="http_4xx")


def _images(payload: Any) -> list[object]:
    if isinstance(payload, list):  # the June-2022 shape: a bare list of base64 JPEGs
        return payload
    if isinstance(payload, dict) and isinstance(payload.get("generatedImgs"), list):
        return cast(list[object], payload["generatedImgs"])
    raise BackendError(f"{NAME}: unexpected response shape {str(payload)[:120]!r}", reason="bad_response")
