"""`voxframe prompter`: flags and settings, the selector loaded once, and the bus wired to the handler."""

from __future__ import annotations

import argparse
import logging
import sys

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.prompter.engines.scene import STYLES, style_name
from shared.bus import Bus
from shared.config import BusSettings
from shared.messages import Control, Transcript
from shared.metrics import serve_metrics

_LOGGER = logging.getLogger(__name__)

TICK_SECONDS = 0.5  # how late a window may close past its time


class PrompterSettings(BaseSettings):
    """`VOXFRAME_*` environment variables; the command-line flags override them."""

    model_config = SettingsConfigDict(env_prefix="VOXFRAME_", extra="ignore")

    prompt_window_seconds: float = Field(30.0, ge=5, le=600)
    prompt_style: str = Field("watercolor")
    prompt_images: int = Field(1, ge=1, le=8)
    prompt_min_words: int = Field(5, ge=1)
    prompt_max_keywords: int = Field(4, ge=1, le=8)
    prompt_max_chars: int = Field(240, ge=160, le=1000)
    prompt_width: int = Field(1024, ge=64, le=4096)
    prompt_height: int = Field(576, ge=64, le=4096)
    prompt_novelty_half_life_seconds: float = Field(60.0, gt=0)
    prompt_job_timeout_seconds: float = Field(600.0, gt=0)
    prompter_prefetch: int = Field(500, ge=1, le=1000)
    metrics_port: int = Field(9103, ge=0, le=65535)

    @field_validator("prompt_style")
    @classmethod
    def _known_style(cls, value: str) -> str:
        return style_name(value)


# flag → (settings field, help); every flag overrides its VOXFRAME_ variable and is validated with it.
_FLAGS = {
    "--window-seconds": ("prompt_window_seconds", "length of a room's window; Control set_window changes it"),
    "--style": ("prompt_style", f"style preset of new rooms ({', '.join(STYLES)}); Control set_style changes it"),
    "--images": ("prompt_images", "images per prompt; Control set_images changes it"),
    "--min-words": ("prompt_min_words", "content words a window needs to be painted"),
    "--max-keywords": ("prompt_max_keywords", "keywords woven into one prompt"),
    "--max-chars": ("prompt_max_chars", "longest prompt text (Stable Diffusion's CLIP reads ~77 tokens)"),
    "--width": ("prompt_width", "image width asked of the generators"),
    "--height": ("prompt_height", "image height asked of the generators"),
    "--novelty-half-life": ("prompt_novelty_half_life_seconds", "seconds until a painted topic is half as stale"),
    "--job-timeout": ("prompt_job_timeout_seconds", "drop an upload job's window after this many idle seconds"),
    "--prefetch": ("prompter_prefetch", "unacked transcripts held; must exceed a window's transcripts"),
    "--metrics-port": ("metrics_port", "port of /metrics and /healthz; 0 picks a free one"),
}


def add_command(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = commands.add_parser("prompter", parents=[common], help="turn each room's conversation into image prompts",
                            formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    for flag, (name, text) in _FLAGS.items():
        field = PrompterSettings.model_fields[name]
        p.add_argument(flag, dest=name, type=type(field.default), default=argparse.SUPPRESS,
                       metavar=flag[2:].upper().replace("-", "_"),
                       help=f"{text} (default {field.default}; env VOXFRAME_{name.upper()})")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    # Imported here: the word tables take a second or two to load, which `voxframe --help` need not pay.
    from services.prompter.engines.lexical import LexicalSelector
    from services.prompter.handler import Policy, Prompter

    try:
        s = PrompterSettings(**{name: getattr(args, name) for name, _ in _FLAGS.values() if hasattr(args, name)})
    except ValidationError as exc:
        print(f"voxframe prompter: error: {exc}", file=sys.stderr)
        return 2
    policy = Policy(window_seconds=s.prompt_window_seconds, style=s.prompt_style, num_images=s.prompt_images,
                    min_words=s.prompt_min_words, max_chars=s.prompt_max_chars, width=s.prompt_width,
                    height=s.prompt_height, novelty_half_life_seconds=s.prompt_novelty_half_life_seconds,
                    job_timeout_seconds=s.prompt_job_timeout_seconds)
    _LOGGER.debug("prompter settings: %s", s)
    bus = Bus("prompter", BusSettings())
    prompter = Prompter(LexicalSelector(max_keywords=s.prompt_max_keywords), publish=bus.publish,
                        defer_ack=bus.defer_ack, policy=policy)
    bus.consume(bus.topology.prompter, {Transcript: prompter.on_transcript, Control: prompter.on_control},
                prefetch=s.prompter_prefetch)
    bus.every(TICK_SECONDS, prompter.tick)
    serve_metrics("prompter", s.metrics_port, ready=bus.health)
    _LOGGER.info("Ready: %.0f s windows, %s style, consuming %s", policy.window_seconds, policy.style,
                 bus.topology.prompter.name)
    bus.run()
    return 0
