"""ImagePrompt → backend → GeneratedImage(s); stale live prompts are dropped instead of painted late, and a
prompt the backend could not paint (after its own retries, without a fallback) is dead-lettered at once."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime

from services.generator.engines import BackendError, ImageBackend, ImageRequest
from services.generator.metrics import DROPPED, IMAGES
from shared.bus import Unprocessable
from shared.messages import GeneratedImage, ImagePrompt, utc_now

_LOGGER = logging.getLogger(__name__)


class GenerateHandler:
    """Paint each prompt with `backend`; `num_images`/`size` override the prompt's own (live prompts only for
    `num_images`, as an upload job is complete when its prompt's count of images has arrived).

    `max_prompt_age_seconds` is the prompts queue's own TTL (`VOXFRAME_PROMPT_TTL_SECONDS`): one staleness
    rule for the stage, applied here to prompts the broker had already delivered when they aged past it.
    """

    def __init__(self, backend: ImageBackend, max_prompt_age_seconds: float, num_images: int = 0,
                 size: tuple[int, int] | None = None, clock: Callable[[], datetime] = utc_now) -> None:
        self.backend = backend
        self.max_prompt_age_seconds = max_prompt_age_seconds
        self.num_images = num_images
        self.size = size
        self.clock = clock

    def __call__(self, prompt: ImagePrompt) -> list[GeneratedImage]:
        age = (self.clock() - prompt.created_at).total_seconds()
        if prompt.job_id is None and age > self.max_prompt_age_seconds:
            DROPPED.labels("stale").inc()
            _LOGGER.info("Dropped a prompt %.0f s old (limit %.0f s): %r", age, self.max_prompt_age_seconds,
                         prompt.text[:80])
            return []
        request = self._request(prompt)
        started = time.perf_counter()
        try:
            pictures = self.backend.generate(request)
        except BackendError as exc:  # the backend's retries are spent; the bus retrying would repeat them all
            raise Unprocessable(f"{exc} ({exc.reason})") from exc
        seconds = time.perf_counter() - started
        images = [
            prompt.derive(
                GeneratedImage, key=str(index), image=picture.data, mime_type=picture.mime_type,
                width=picture.width, height=picture.height, backend=picture.backend, prompt_id=str(prompt.id),
                prompt_text=prompt.text, keywords=prompt.keywords, style=prompt.style, excerpt=prompt.excerpt,
                index=index, generation_seconds=seconds, fallback=picture.fallback, depicted=picture.depicted,
            )
            for index, picture in enumerate(pictures)
        ]
        for picture in pictures:
            IMAGES.labels(picture.backend, str(picture.fallback).lower()).inc()
        _LOGGER.info("Painted %d image(s) with %s%s in %.2f s: %r", len(images), pictures[0].backend,
                     " (fallback)" if pictures[0].fallback else "", seconds, prompt.text[:80])
        return images

    def _request(self, prompt: ImagePrompt) -> ImageRequest:
        width, height = self.size or (prompt.width, prompt.height)
        count = self.num_images if self.num_images and prompt.job_id is None else prompt.num_images
        ranked = sorted(prompt.keywords, key=lambda k: -k.score)
        return ImageRequest(text=prompt.text, keywords=tuple(k.text for k in ranked), style=prompt.style,
                            mood=prompt.mood, width=width, height=height, num_images=count, seed=prompt.seed)
