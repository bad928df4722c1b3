"""ImagePrompt → backend → GeneratedImage(s); stale live prompts are dropped instead of painted late, and a
prompt the backend could not paint (after its own retries, without a fallback) is dead-lettered at once."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from services.generator.engines import BackendError, ImageBackend, ImageRequest, StartImage
from services.generator.gallery import GalleryClient
from services.generator.metrics import DROPPED, EVOLUTIONS, IMAGES
from shared.bus import Bus, Unprocessable
from shared.messages import GeneratedImage, ImagePrompt, utc_now

_LOGGER = logging.getLogger(__name__)


class GenerateHandler:
    """Paint each prompt with `backend`. Live prompts (`__call__`) older than `max_prompt_age_seconds` — the
    prompts queue's own TTL (`VOXFRAME_PROMPT_TTL_SECONDS`), one staleness rule for the stage, applied here to
    prompts the broker had already delivered when they aged past it — are dropped, and `num_images`/`size`
    override their own. Upload jobs' prompts (`paint_job`) are painted as asked however long they waited: a job
    is complete when its prompt's count of images has arrived.
    """

    def __init__(self, backend: ImageBackend, max_prompt_age_seconds: float, num_images: int = 0,
                 size: tuple[int, int] | None = None, clock: Callable[[], datetime] = utc_now,
                 gallery: GalleryClient | None = None) -> None:
        self.backend = backend
        self.gallery = gallery  # where an evolving prompt's last picture is fetched from; None: always afresh
        self.max_prompt_age_seconds = max_prompt_age_seconds
        self.num_images = num_images
        self.size = size
        self.clock = clock

    def __call__(self, prompt: ImagePrompt) -> list[GeneratedImage]:
        age = (self.clock() - prompt.created_at).total_seconds()
        if age > self.max_prompt_age_seconds:
            DROPPED.labels("stale").inc()
            _LOGGER.info("Dropped a prompt %.0f s old (limit %.0f s): %r", age, self.max_prompt_age_seconds,
                         prompt.text[:80])
            return []
        return self._paint(prompt, self.num_images or prompt.num_images)

    def paint_job(self, prompt: ImagePrompt) -> list[GeneratedImage]:
        return self._paint(prompt, prompt.num_images)

    def _paint(self, prompt: ImagePrompt, count: int) -> list[GeneratedImage]:
        request = self._request(prompt, count)
        started = time.perf_counter()
        try:  # an upload's sequence: one picture of each scene, in the order of its recording
            pictures = [self.backend.generate(replace(request, num_images=1, scene=scene,
                                                      keywords=tuple(e.keyword for e in scene.ranked())))[0]
                        for scene in prompt.sequence] or self.backend.generate(request)
        except BackendError as exc:  # the backend's retries are spent; the bus retrying would repeat them all
            raise Unprocessable(f"{exc} ({exc.reason})") from exc
        scenes = prompt.sequence or (prompt.scene,) * len(pictures)
        seconds = time.perf_counter() - started
        images = [
            prompt.derive(
                GeneratedImage, key=str(index), image=picture.data, mime_type=picture.mime_type,
                width=picture.width, height=picture.height, backend=picture.backend, prompt_id=str(prompt.id),
                prompt_text=prompt.text, keywords=prompt.keywords, style=prompt.style, excerpt=prompt.excerpt,
                index=index, generation_seconds=seconds, fallback=picture.fallback, depicted=picture.depicted,
                scene=scene, regions=picture.regions, layout=picture.layout,
            )
            for index, (picture, scene) in enumerate(zip(pictures, scenes, strict=True))
        ]
        for picture in pictures:
            IMAGES.labels(picture.backend, str(picture.fallback).lower()).inc()
        _LOGGER.info("Painted %d image(s) with %s%s in %.2f s: %r", len(images), pictures[0].backend,
                     " (fallback)" if pictures[0].fallback else "", seconds, prompt.text[:80])
        return images

    def _request(self, prompt: ImagePrompt, count: int) -> ImageRequest:
        width, height = self.size or (prompt.width, prompt.height)
        ranked = sorted(prompt.keywords, key=lambda k: -k.score)
        return ImageRequest(text=prompt.text, keywords=tuple(k.text for k in ranked), style=prompt.style,
                            mood=prompt.mood, width=width, height=height, num_images=count, seed=prompt.seed,
                            scene=prompt.scene, language=prompt.language, finish=prompt.finish,
                            start=self._start(prompt))

    def _start(self, prompt: ImagePrompt) -> StartImage | None:
        """The picture an evolving prompt is painted over, when the gallery has it."""
        if prompt.evolve is None or self.gallery is None:
            return None
        picture = self.gallery.fetch(prompt.evolve.image_id)
        if picture is None:
            return None
        EVOLUTIONS.labels("evolved").inc()
        return StartImage(picture.data, picture.mime_type, prompt.evolve.strength)


def subscribe(bus: Bus, handler: GenerateHandler) -> None:
    """Live prompts first, then upload jobs' (their own queue, never stale); a GPU paints one prompt at a time."""
    bus.consume(bus.topology.prompts, {ImagePrompt: handler}, prefetch=1)
    bus.consume(bus.topology.job_prompts, {ImagePrompt: handler.paint_job}, prefetch=1, priority=1)
