"""The `diffusers` backend: a Stable Diffusion class model in this process (SD-Turbo, SDXL-Turbo, SD 2 …).

Loaded once from a local directory or the Hugging Face cache, never downloaded: a missing model is a clear
error at start, not a multi-gigabyte surprise. fp16 on CUDA; CPU works, slowly.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from services.generator.engines import BackendError, ImageRequest, Picture, checked_picture, encode_image

NAME = "diffusers"
_LOGGER = logging.getLogger(__name__)


class ModelNotFound(RuntimeError):
    """The model is neither a local directory nor in the Hugging Face cache."""


class DiffusersBackend:
    """One pipeline, one generation at a time (a lock: the pipeline is not thread-safe and a GPU is busy anyway)."""

    def __init__(self, model: str, device: str = "", steps: int = 4, guidance_scale: float = 0.0) -> None:
        import torch
        from diffusers import AutoPipelineForText2Image

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
        _LOGGER.info("Loaded %s on %s (%s) in %.1f s", model, self.device, self.dtype, time.perf_counter() - started)

    def generate(self, request: ImageRequest) -> list[Picture]:
        width, height = _multiple_of_8(request.width), _multiple_of_8(request.height)
        with self._lock:
            generator = self._torch.Generator(device=self.device).manual_seed(request.seed)
            try:
                with self._torch.inference_mode():
                    images = self.pipeline(
                        prompt=request.text, num_images_per_prompt=request.num_images, width=width, height=height,
                        num_inference_steps=self.steps, guidance_scale=self.guidance_scale, generator=generator,
                        output_type="pil",
                    ).images
            except self._torch.cuda.OutOfMemoryError as exc:
                self._torch.cuda.empty_cache()
                raise BackendError(f"{NAME}: out of GPU memory at {width}×{height}×{request.num_images}",
                                   reason="out_of_memory") from exc
            except (RuntimeError, ValueError) as exc:
                raise BackendError(f"{NAME}: generation failed: {exc}", reason="error") from exc
        return [checked_picture(encode_image(image, "PNG"), NAME) for image in images]


def _multiple_of_8(pixels: int) -> int:
    """The VAE works in 8-pixel cells; round down, never below one cell."""
    return max(8, pixels - pixels % 8)
