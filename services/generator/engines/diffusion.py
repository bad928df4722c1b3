"""The `diffusers` backend: a Stable Diffusion class model in this process (SD-Turbo, SDXL-Turbo, SD 2 …).

Loaded once from a local directory or the Hugging Face cache, never downloaded: a missing model is a clear
error at start, not a multi-gigabyte surprise. fp16 on CUDA; CPU works, slowly. A request with a start picture
(a living room's last one) is painted over it: the same model's image-to-image pipeline, at the request's
strength, so what stays in the scene stays on the wall.
"""

from __future__ import annotations

import io
import logging
import math
import threading
import time
from typing import Any

from PIL import Image

from services.generator.engines import BackendError, ImageRequest, Picture, checked_picture, encode_image

NAME = "diffusers"
_LOGGER = logging.getLogger(__name__)


class ModelNotFound(RuntimeError):
    """The model is neither a local directory nor in the Hugging Face cache."""


class DiffusersBackend:
    """One pipeline, one generation at a time (a lock: the pipeline is not thread-safe and a GPU is busy anyway)."""

    def __init__(self, model: str, device: str = "", steps: int = 4, guidance_scale: float = 0.0) -> None:
        import torch
        from diffusers import AutoPipelineForImage2Image, AutoPipelineForText2Image

        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.dtype = torch.float16 if self.device.startswith("cuda") else torch.float32
        self.steps, self.guidance_scale = steps, guidance_scale
        self._torch = torch
        self._lock = threading.Lock()
        started = time.perf_counter()
        try:
            # diffusers leaves from_pretrained unannotated
            pipeline = AutoPipelineForText2Image.from_pretrained(  # type: ignore[no-untyped-call]
                model, local_files_only=True, dtype=self.dtype)
        except OSError as exc:
            raise ModelNotFound(
                f"diffusers model {model!r} is not a local directory or in the Hugging Face cache; Voxframe never "
                f"downloads at run time. Fetch it first, e.g. `hf download {model}`, or point "
                f"VOXFRAME_DIFFUSERS_MODEL at a directory saved with save_pretrained ({exc})"
            ) from exc
        self.pipeline: Any = pipeline.to(self.device)
        self.pipeline.set_progress_bar_config(disable=True)
        # the same components (no second copy in memory), driven from a picture instead of noise
        self.img2img: Any = AutoPipelineForImage2Image.from_pipe(self.pipeline)
        self.img2img.set_progress_bar_config(disable=True)
        _LOGGER.info("Loaded %s on %s (%s) in %.1f s", model, self.device, self.dtype, time.perf_counter() - started)

    def generate(self, request: ImageRequest) -> list[Picture]:
        width, height = _multiple_of_8(request.width), _multiple_of_8(request.height)
        with self._lock:
            generator = self._torch.Generator(device=self.device).manual_seed(request.seed)
            try:
                with self._torch.inference_mode():
                    images = self._paint(request, width, height, generator)
            except self._torch.cuda.OutOfMemoryError as exc:
                self._torch.cuda.empty_cache()
                raise BackendError(f"{NAME}: out of GPU memory at {width}×{height}×{request.num_images}",
                                   reason="out_of_memory") from exc
            except (RuntimeError, ValueError) as exc:
                raise BackendError(f"{NAME}: generation failed: {exc}", reason="error") from exc
        return [checked_picture(encode_image(image, "PNG"), NAME) for image in images]


    def _paint(self, request: ImageRequest, width: int, height: int, generator: Any) -> list[Image.Image]:
        common = {"prompt": request.text, "num_images_per_prompt": request.num_images,
                  "guidance_scale": self.guidance_scale, "generator": generator, "output_type": "pil"}
        if request.start is None:
            return list(self.pipeline(width=width, height=height, num_inference_steps=self.steps, **common).images)
        with Image.open(io.BytesIO(request.start.data)) as start:
            picture = start.convert("RGB").resize((width, height), Image.Resampling.LANCZOS)
        strength = request.start.strength
        # img2img runs the last `strength` of a schedule: one of steps/strength runs as many steps as text2img
        steps = math.ceil(self.steps / strength)
        return list(self.img2img(image=picture, strength=strength, num_inference_steps=steps, **common).images)


def _multiple_of_8(pixels: int) -> int:
    """The VAE works in 8-pixel cells; round down, never below one cell."""
    return max(8, pixels - pixels % 8)
