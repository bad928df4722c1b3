"""`voxframe generator` (prompts → images over the bus) and `voxframe gpu-server` (a backend over HTTP)."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.generator.engines import ImageBackend
from shared.config import SETTINGS_CONFIG, HttpServerSettings, MetricsServerSettings
from shared.errors import ConfigError
from shared.net import is_loopback_host
from shared.service import ServiceSpec
from shared.settings_cli import add_setting_flags, kebab_flags, settings_from_args

_LOGGER = logging.getLogger(__name__)
Backend = Literal["illustrator", "poster", "diffusers", "dalle-playground", "openai"]
EVOLVING_BACKENDS: tuple[Backend, ...] = ("diffusers", "openai")  # paint a living room's next picture over its last


class DiffusersSettings(BaseSettings):
    """The in-process Stable Diffusion model, for the generator and the gpu-server alike."""

    model_config = SettingsConfigDict(**SETTINGS_CONFIG, populate_by_name=True)

    diffusers_model: str = Field("stabilityai/sd-turbo", description="model directory, or a Hugging Face id "
                                 "already in the local cache (never downloaded)")
    diffusers_device: str = Field("", description="torch device (cuda, cuda:1, cpu); empty = cuda when available")
    diffusers_steps: int = Field(4, ge=1, le=200, description="denoising steps: 1-4 for turbo models, 20+ for SD 2")
    diffusers_guidance_scale: float = Field(0.0, ge=0, description="classifier-free guidance; 0 for turbo models")


class GeneratorSettings(DiffusersSettings, MetricsServerSettings):
    metrics_port: int = Field(9104, ge=0, le=65535, description="/metrics and /healthz port; 0 = any free port")
    generator_backend: Backend = Field("illustrator", description="who paints")
    generator_fallback: bool = Field(True, description="paint a poster when the backend fails or its breaker is open")
    generator_timeout_seconds: float = Field(120.0, gt=0, description="HTTP backends: wait this long for an answer")
    generator_attempts: int = Field(3, ge=1, le=10, description="tries per prompt on timeouts, 429 and 5xx (the "
                                    "only retries of a backend: the bus does not run a failed prompt again)")
    generator_retry_backoff_seconds: float = Field(
        2.0, ge=0, description="first retry delay; doubles each try (a server's Retry-After instead)")
    generator_breaker_failures: int = Field(3, ge=1, description="failed prompts in a row that open the breaker")
    generator_breaker_cooldown_seconds: float = Field(60.0, gt=0, description="poster only for this long, then probe")
    generator_num_images: int = Field(0, ge=0, le=8, description="images per live prompt; 0 = the prompt's count")
    generator_size: str = Field("", pattern=r"^(\d{2,4}x\d{2,4})?$", description="WIDTHxHEIGHT; empty = the prompt's")
    generator_gallery_url: str = Field("http://127.0.0.1:8080", description="the display to fetch a living room's "
                                       "last picture from, to paint the next one over it (diffusers, openai); "
                                       "empty = every picture afresh")
    poster_format: Literal["png", "jpeg", "webp"] = Field("jpeg", description="poster and illustrator encoding")
    dalle_url: str = Field("http://localhost:8000", description="dalle-playground backend: server URL")
    dalle_api_key: SecretStr | None = Field(None, description="dalle-playground backend: bearer token of a "
                                            "gpu-server started with a token")
    openai_base_url: str = Field("https://api.openai.com/v1", description="openai backend: base URL ending in /v1")
    openai_model: str = Field("gpt-image-1", description="openai backend: model name")
    openai_api_key: SecretStr | None = Field(
        None, validation_alias=AliasChoices("VOXFRAME_OPENAI_API_KEY", "OPENAI_API_KEY", "openai_api_key"),
        description="openai backend: API key (also read from OPENAI_API_KEY)")
    openai_size: str = Field("", description="openai backend: fixed size to ask for (hosted APIs accept few)")
    openai_response_format: str = Field("b64_json", description="openai backend: empty for servers that refuse it")


class GpuServerSettings(DiffusersSettings, HttpServerSettings):
    gpu_server_host: str = Field("0.0.0.0", description="address to listen on")
    gpu_server_port: int = Field(8000, ge=1, le=65535, description="port (8000 like the DALL·E Playground)")
    gpu_server_backend: Literal["diffusers", "illustrator", "poster"] = Field("diffusers", description="what to serve")
    gpu_server_token: SecretStr | None = Field(None, description="require 'Authorization: Bearer TOKEN' (prefer "
                                               "the env var: flags show in ps); empty = unset")
    gpu_server_insecure: bool = Field(False, description="allow listening beyond loopback without a token (a "
                                      "private network only)")
    gpu_server_queue_max: int = Field(4, ge=0, description="requests waiting behind the running one; more get 503")
    gpu_server_max_images: int = Field(4, ge=1, le=8, description="most images one request may ask for")
    gpu_server_tls_cert: str = Field("", description="serve HTTPS with this certificate (PEM); empty = plain HTTP")
    gpu_server_tls_key: str = Field("", description="the certificate's private key (PEM)")

    @field_validator("gpu_server_token", mode="before")
    @classmethod
    def _empty_token_is_no_token(cls, value: object) -> object:
        """`VOXFRAME_GPU_SERVER_TOKEN=""` must not look like a token that happens to be empty."""
        secret = value.get_secret_value() if isinstance(value, SecretStr) else value
        return None if isinstance(secret, str) and not secret.strip() else value


SERVICE = ServiceSpec.from_settings("generator", GeneratorSettings)


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser],
                common: argparse.ArgumentParser) -> None:
    generator = commands.add_parser("generator", parents=[common], help="paint image prompts from the bus",
                                    formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    add_setting_flags(generator, GeneratorSettings, kebab_flags(GeneratorSettings, strip="generator_"))
    generator.set_defaults(run=run_generator)


def add_gpu_server_command(commands: argparse._SubParsersAction[argparse.ArgumentParser],
                           common: argparse.ArgumentParser) -> None:
    server = commands.add_parser("gpu-server", parents=[common], help="serve a diffusers model over HTTP "
                                 "(DALL·E Playground and OpenAI Images APIs)",
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    add_setting_flags(server, GpuServerSettings, kebab_flags(GpuServerSettings, strip="gpu_server_"))
    server.set_defaults(run=run_gpu_server)


def run_generator(args: argparse.Namespace) -> int:
    from services.generator.engines.fallback import CircuitBreaker, ResilientBackend
    from services.generator.engines.poster import PosterBackend
    from services.generator.gallery import GalleryClient
    from services.generator.handler import GenerateHandler, subscribe
    from shared.bus import Bus
    from shared.metrics import serve_metrics

    settings = settings_from_args(GeneratorSettings, args)
    _LOGGER.debug("Settings: %r", settings)
    primary = _load_or_exit(lambda: build_backend(settings))
    name = settings.generator_backend
    fallback = (PosterBackend(settings.poster_format.upper())
                if settings.generator_fallback and name != "poster" else None)
    bus = Bus("generator")
    backend = ResilientBackend(primary, name, fallback, settings.generator_attempts,
                               settings.generator_retry_backoff_seconds,
                               CircuitBreaker(name, settings.generator_breaker_failures,
                                              settings.generator_breaker_cooldown_seconds), stop=bus.stopping)
    size = tuple(int(p) for p in settings.generator_size.split("x")) if settings.generator_size else None
    evolves = bool(settings.generator_gallery_url) and name in EVOLVING_BACKENDS
    gallery = GalleryClient(settings.generator_gallery_url) if evolves else None
    handler = GenerateHandler(backend, bus.settings.prompt_ttl_seconds, settings.generator_num_images,
                              size, gallery=gallery)  # type: ignore[arg-type]
    subscribe(bus, handler)
    serve_metrics("generator", settings.metrics_port, ready=bus.health, host=settings.metrics_host)
    _LOGGER.info("Ready: painting with %s%s", name, " (poster fallback)" if fallback else "")
    bus.run()
    return 0


def build_backend(settings: GeneratorSettings) -> ImageBackend:
    """The configured backend, loaded once (the diffusers model takes seconds to minutes)."""
    timeout = settings.generator_timeout_seconds
    if settings.generator_backend == "diffusers":
        return _diffusers(settings)
    if settings.generator_backend == "dalle-playground":
        from services.generator.engines.dalle_playground import DallePlaygroundBackend

        return DallePlaygroundBackend(settings.dalle_url, timeout, api_key=_secret(settings.dalle_api_key))
    if settings.generator_backend == "openai":
        from services.generator.engines.openai_images import OpenAIImagesBackend

        return OpenAIImagesBackend(settings.openai_base_url, settings.openai_model, _secret(settings.openai_api_key),
                                   timeout, size=settings.openai_size,
                                   response_format=settings.openai_response_format)
    if settings.generator_backend == "illustrator":
        return _illustrator(settings.poster_format.upper())
    from services.generator.engines.poster import PosterBackend

    return PosterBackend(settings.poster_format.upper())


def run_gpu_server(args: argparse.Namespace) -> int:
    import uvicorn

    from services.generator.engines.fallback import ResilientBackend
    from services.generator.engines.poster import PosterBackend
    from services.generator.gpu_server import GenerationQueue, create_app
    from shared.http_limits import header_deadline

    settings = settings_from_args(GpuServerSettings, args)
    if settings.gpu_server_token is None and not is_loopback_host(settings.gpu_server_host) \
            and not settings.gpu_server_insecure:
        raise ConfigError(f"refusing to listen on {settings.gpu_server_host} without a token: set "
                          "VOXFRAME_GPU_SERVER_TOKEN, listen on 127.0.0.1 (--host), or pass --insecure")
    if settings.gpu_server_token is None and not is_loopback_host(settings.gpu_server_host):
        _LOGGER.warning("Listening on %s without a token (--insecure): anyone who can reach port %d can generate",
                        settings.gpu_server_host, settings.gpu_server_port)
    if settings.gpu_server_backend == "diffusers":
        _load_or_exit(lambda: __import__("diffusers") and None)  # fail now, not in the loading thread
    load = {"diffusers": lambda: _diffusers(settings), "poster": PosterBackend,
            # the poster paints what the illustrator cannot draw (the server's own "warm-up" prompt among them)
            "illustrator": lambda: ResilientBackend(_illustrator("PNG"), "illustrator", PosterBackend(), attempts=1),
            }[settings.gpu_server_backend]
    model = settings.diffusers_model if settings.gpu_server_backend == "diffusers" else settings.gpu_server_backend
    queue = GenerationQueue(load, settings.gpu_server_queue_max)
    app = create_app(queue, _secret(settings.gpu_server_token), model, settings.gpu_server_max_images)
    uvicorn.run(app, host=settings.gpu_server_host, port=settings.gpu_server_port, log_config=None,
                http=header_deadline(settings.http_header_seconds),
                ssl_certfile=settings.gpu_server_tls_cert or None, ssl_keyfile=settings.gpu_server_tls_key or None)
    return 0


def _illustrator(image_format: str) -> ImageBackend:
    from services.generator.engines.illustrator import IllustratorBackend

    return IllustratorBackend(image_format)


def _diffusers(settings: DiffusersSettings) -> ImageBackend:
    from services.generator.engines.diffusion import DiffusersBackend

    return DiffusersBackend(settings.diffusers_model, settings.diffusers_device, settings.diffusers_steps,
                            settings.diffusers_guidance_scale)


def _load_or_exit(load: Any) -> Any:
    try:
        return load()
    except ImportError as exc:
        sys.exit(f"voxframe: error: the diffusers backend needs the extra: pip install 'voxframe[diffusers]' ({exc})")
    except (RuntimeError, ValueError) as exc:
        sys.exit(f"voxframe: error: {exc}")


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value else None
