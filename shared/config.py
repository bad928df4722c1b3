"""Settings every worker shares, read from `VOXFRAME_*` environment variables."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.messages.envelope import WIRE_LIMIT_BYTES

# Every worker's settings: its VOXFRAME_* environment variables. Infinity and NaN are no number of seconds or
# anything else: a generator told VOXFRAME_GENERATOR_TIMEOUT_SECONDS=inf said it was ready, then failed every call
# to its backend (Python's socket timeouts overflow) and painted only posters.
SETTINGS_CONFIG = SettingsConfigDict(env_prefix="VOXFRAME_", extra="ignore", allow_inf_nan=False)

# Queue arguments travel as signed 64-bit integers: a larger length failed the worker's first declare with pika's
# "struct.error: int too large to convert", after it said it was ready.
_BROKER_INT = 2**63 - 1
# A queue's times (x-message-ttl, x-expires) are milliseconds within 32 bits, as RabbitMQ's TTL guide long said
# (0 <= n <= 2^32; Erlang's timers): at most 2^32 - 1, ~49.7 days. The broker here (3.10.8) takes up to ten years and
# refuses more (406 value_too_large): a transcriber told VOXFRAME_AUDIO_TTL_SECONDS=5000000000 loaded its model, said
# it was ready, then exited blaming "a queue exists with other limits", though none did.
_BROKER_MS = 2**32 - 1


class BusSettings(BaseSettings):
    """Broker connection, topology names and delivery policy."""

    model_config = SETTINGS_CONFIG

    amqp_url: str = Field("amqp://guest:guest@localhost:5672/%2F",
                          description="broker URL (amqp:// or amqps://); a cluster's nodes comma-separated")
    queue_type: Literal["classic", "quorum"] = Field(
        "classic", description="stage queues' type: quorum replicates them across a cluster's nodes"
    )
    namespace: str = Field("voxframe", pattern=r"^[A-Za-z0-9_.-]{1,64}$", description="prefix of exchanges and queues")
    prefetch: int = Field(10, ge=1, le=1000, description="unacked deliveries per consumer (stages may override)")
    heartbeat_seconds: int = Field(20, ge=0, le=600)
    connect_timeout_seconds: float = Field(60.0, ge=0, description="how long to wait for the broker at start")
    max_attempts: int = Field(3, ge=1, le=20, description="handler tries before a message is dead-lettered")
    retry_backoff_seconds: float = Field(0.5, ge=0, description="first retry delay; doubles each try")
    dedup_ids: int = Field(10000, ge=0, description="processed message ids remembered to skip redeliveries")
    max_message_bytes: int = Field(
        WIRE_LIMIT_BYTES, ge=1024, description="the broker's max_message_size; a larger output is dead-lettered"
    )
    outbox_max: int = Field(500, ge=1, description="fire-and-forget messages held while the broker is away")
    audio_queue_max: int = Field(200, ge=1, le=_BROKER_INT,
                                 description="audio segments waiting; the oldest are dropped past it")
    audio_ttl_seconds: int = Field(120, ge=1, le=_BROKER_MS // 1000,
                                   description="audio older than this is dropped, never transcribed")
    prompter_queue_max: int = Field(10_000, ge=1, le=_BROKER_INT,
                                    description="transcripts and controls waiting for the prompter")
    prompter_ttl_seconds: int = Field(600, ge=1, le=_BROKER_MS // 1000,
                                      description="a transcript the prompter has not taken by then expires")
    prompt_queue_max: int = Field(20, ge=1, le=_BROKER_INT,
                                  description="prompts waiting for a generator; oldest dropped")
    prompt_ttl_seconds: int = Field(300, ge=1, le=_BROKER_MS // 1000)
    job_audio_queue_max: int = Field(
        20_000, ge=1, le=_BROKER_INT, description="upload segments waiting for a transcriber; an upload that would "
                                                  "pass it is refused (503), never cut")
    display_queue_max: int = Field(1000, ge=1, le=_BROKER_INT, description="messages waiting for one display process")
    display_queue_expires_hours: int = Field(24, ge=1, le=_BROKER_MS // 3_600_000,
                                             description="a display queue nobody reads is deleted")


class HttpServerSettings(BaseSettings):
    """What a worker that serves HTTP (the display, gpu-server) allows a slow client (`shared/http_limits.py`)."""

    model_config = SETTINGS_CONFIG

    http_header_seconds: float = Field(10.0, gt=0, description="a request's headers must all arrive within this of "
                                                               "the connection or the previous answer; else 408, "
                                                               "closed. The display's small bodies may pause no "
                                                               "longer, then keep 4 KiB/s; else 408")


class MetricsServerSettings(BaseSettings):
    """Where a worker serves its `/metrics` and `/healthz` (`shared/metrics.py`): this machine only, unless told;
    they name rooms and mics, and a home's LAN is no place to publish them by default. The Docker image opens them
    to its container network, where Prometheus scrapes them."""

    model_config = SETTINGS_CONFIG

    metrics_host: str = Field("127.0.0.1", description="the address /metrics and /healthz listen on (0.0.0.0: every "
                                                       "interface, for a Prometheus on another host)")
