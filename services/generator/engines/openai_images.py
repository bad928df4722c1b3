"""The `openai` backend: `POST /v1/images/generations`, spoken by OpenAI and by many hosted and local servers."""

from __future__ import annotations

from services.generator.engines import BackendError, ImageRequest, Picture, checked_picture
from services.generator.engines._download import ImageDownloader
from services.generator.engines._http import JsonClient, answer_limit, decode_base64

NAME = "openai"


class OpenAIImagesBackend:
    """Asks for base64 images (or fetches the URLs a server returns instead, without the key) and checks each one."""

    def __init__(self, base_url: str, model: str, api_key: str | None = None, timeout_seconds: float = 120.0,
                 connect_timeout_seconds: float = 5.0, size: str = "", response_format: str = "b64_json") -> None:
        self.url = base_url.rstrip("/") + "/images/generations"
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
        status, payload = self.client.post(self.url, body, answer_limit(request.num_images))
        if payload is None:
            raise BackendError(f"{NAME}: {self.url} answered {status}; is the base URL right (…/v1)?",
                               reason="http_4xx")
        data = payload.get("data") if isinstance(payload, dict) else None
        if not isinstance(data, list) or not data:
            raise BackendError(f"{NAME}: response has no 'data' list: {str(payload)[:120]!r}", reason="bad_response")
        return [checked_picture(self._bytes(item), NAME) for item in data]

    def _bytes(self, item: object) -> bytes:
        if isinstance(item, dict) and item.get("b64_json"):
            return decode_base64(NAME, item["b64_json"])
        if isinstance(item, dict) and isinstance(item.get("url"), str):
            return self.images.get(item["url"])
        raise BackendError(f"{NAME}: image entry has neither b64_json nor url: {str(item)[:120]!r}",
                           reason="bad_response")
