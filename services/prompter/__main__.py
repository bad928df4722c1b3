"""`voxframe prompter`: flags and settings, the selector loaded once, and the bus wired to the handler."""

from __future__ import annotations

import argparse
import gc
import logging
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from services.prompter.engines import KeywordSelector
from services.prompter.policy import Policy
from shared.bus import Bus
from shared.config import SETTINGS_CONFIG, BusSettings, MetricsServerSettings
from shared.language.bridge import READ_LANGUAGES
from shared.messages import Control, JobText, Transcript
from shared.messages.control import IMAGES_PER_PROMPT, STYLES, WINDOW_SECONDS, style_name, wake_phrase
from shared.messages.language import DEFAULT_LANGUAGE, LanguageListSetting, RoomLanguageSetting
from shared.messages.scene import SceneMode
from shared.metrics import serve_metrics
from shared.service import ServiceSpec
from shared.settings_cli import add_setting_flags, load_settings, settings_from_args

_LOGGER = logging.getLogger(__name__)

TICK_SECONDS = 0.5  # how late a window may close past its time
_DEFAULTS = Policy()
_POLICY_FIELDS = ("window_seconds", "style", "num_images", "min_words", "max_chars", "width", "height",
                  "novelty_half_life_seconds", "room_idle_seconds", "wake_phrase",
                  "scene_mode")  # max_rooms has no setting


class PrompterSettings(MetricsServerSettings):
    """`VOXFRAME_*` environment variables; the command-line flags override them."""

    model_config = SETTINGS_CONFIG

    prompt_window_seconds: float = Field(
        _DEFAULTS.window_seconds, ge=WINDOW_SECONDS[0], le=WINDOW_SECONDS[1],
        description="length of a room's window; Control set_window changes it",
    )
    prompt_style: str = Field(
        _DEFAULTS.style,
        description=f"style preset of new rooms ({', '.join(STYLES)}); Control set_style changes it",
    )
    prompt_images: int = Field(_DEFAULTS.num_images, ge=IMAGES_PER_PROMPT[0], le=IMAGES_PER_PROMPT[1],
                               description="images per prompt; Control set_images changes it")
    prompt_min_words: int = Field(_DEFAULTS.min_words, ge=1, description="content words a window needs to be painted")
    prompt_max_keywords: int = Field(4, ge=1, le=8, description="keywords woven into one prompt")
    prompt_max_chars: int = Field(
        _DEFAULTS.max_chars, ge=160, le=1000,
        description="longest prompt text (Stable Diffusion's CLIP reads ~77 tokens)"
    )
    prompt_width: int = Field(_DEFAULTS.width, ge=64, le=4096, description="image width asked of the generators")
    prompt_height: int = Field(_DEFAULTS.height, ge=64, le=4096, description="image height asked of the generators")
    prompt_novelty_half_life_seconds: float = Field(
        _DEFAULTS.novelty_half_life_seconds, gt=0, description="seconds until a painted topic is half as stale"
    )
    prompt_room_idle_seconds: float = Field(
        _DEFAULTS.room_idle_seconds, gt=0,
        description="forget a room's settings and memory after this long without talk or controls"
    )
    prompt_selector: Literal["semantic", "lexical"] = Field(
        "semantic", description="semantic: lexical scores weighed by fit to the window (all-MiniLM-L6-v2, offline; "
        "lexical when the model is not installed); lexical: lookup tables only"
    )
    prompt_wake_phrase: str = Field(
        _DEFAULTS.wake_phrase, description="words that start a spoken command in new rooms (\"\" turns them off); "
        "Control set_wake_phrase changes it per room"
    )
    prompt_scene_mode: SceneMode = Field(
        _DEFAULTS.scene_mode, description="new rooms' pictures: living (one scene that keeps what is still talked "
        "about and changes with the talk) or slideshow (a new picture of each window's keywords)"
    )
    prompter_prefetch: int = Field(
        500, ge=1, le=1000, description="unacked transcripts held; must exceed a window's transcripts"
    )
    database_url: str = Field(
        "", description="where rooms' settings and memory outlive a takeover: postgresql://…; empty: SQLite in "
        "the data dir (replicas on one host)"
    )
    data_dir: Path = Field(Path("data"), description="holds prompter.sqlite3 when no database URL is set")
    language: RoomLanguageSetting = Field(
        DEFAULT_LANGUAGE, description="the transcriber's language (or auto): its word tables are loaded at start, so "
                                      "a room's first window in it does not wait for them")
    auto_languages: LanguageListSetting = Field(
        READ_LANGUAGES, description="with auto, the languages whose word tables are loaded at "
                                                            "start (empty: every language the prompter reads)")
    metrics_port: int = Field(
        9103, ge=0, le=65535, description="port of /metrics and /healthz; 0 picks a free one"
    )

    def policy(self) -> Policy:
        """The policy these settings make: each `prompt_<field>` (`prompt_images` for `num_images`)."""
        fields = {f: getattr(self, "prompt_images" if f == "num_images" else f"prompt_{f}") for f in _POLICY_FIELDS}
        return Policy(**fields)

    @field_validator("prompt_style")
    @classmethod
    def _known_style(cls, value: str) -> str:
        return style_name(value)

    @field_validator("prompt_wake_phrase")
    @classmethod
    def _plain_words(cls, value: str) -> str:
        return wake_phrase(value)


# Every flag overrides its VOXFRAME_ variable and is validated with it.
_FLAGS = {
    "--window-seconds": "prompt_window_seconds",
    "--style": "prompt_style",
    "--images": "prompt_images",
    "--min-words": "prompt_min_words",
    "--max-keywords": "prompt_max_keywords",
    "--max-chars": "prompt_max_chars",
    "--width": "prompt_width",
    "--height": "prompt_height",
    "--novelty-half-life": "prompt_novelty_half_life_seconds",
    "--database-url": "database_url",
    "--room-idle": "prompt_room_idle_seconds",
    "--selector": "prompt_selector",
    "--wake-phrase": "prompt_wake_phrase",
    "--scene-mode": "prompt_scene_mode",
    "--prefetch": "prompter_prefetch",
    "--metrics-port": "metrics_port",
}


SERVICE = ServiceSpec.from_settings("prompter", PrompterSettings)


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser],
                common: argparse.ArgumentParser) -> None:
    p = commands.add_parser(
        "prompter",
        parents=[common],
        help="turn each room's conversation into image prompts",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add_setting_flags(p, PrompterSettings, _FLAGS)
    p.set_defaults(run=run)


def load_selector(max_keywords: int, semantic: bool = True) -> KeywordSelector:
    """The semantic selector with the embedding model loaded once, or the lexical one without it; warmed up."""
    # Imported here: the word tables take a second or two to load, which `voxframe --help` need not pay.
    from services.prompter.engines.lexical import LexicalSelector

    selector: KeywordSelector = LexicalSelector(max_keywords=max_keywords)
    if semantic:
        from services.prompter.engines.semantic import SemanticSelector
        from shared.embeddings import encoder

        try:
            selector = SemanticSelector(encoder(), max_keywords=max_keywords)
        except RuntimeError as exc:  # the model's package is missing
            _LOGGER.warning("lexical keyword selection: %s", exc)
    selector.select(["Warm up the word tables with two dogs on a beach by the sea."])  # they load lazily
    # The tables and the model live as long as the process: a full collection walking them paused a window's
    # selection by ~70 ms. Frozen, collections only walk what the windows allocate.
    gc.freeze()
    return selector


def run(args: argparse.Namespace) -> int:
    from services.prompter.engines.multilingual import languages_to_warm
    from services.prompter.handler import Prompter
    from services.prompter.memory import open_store

    s = settings_from_args(PrompterSettings, args)
    policy = s.policy()
    _LOGGER.debug("prompter settings: %s", s)
    bus = Bus("prompter", load_settings(BusSettings))
    prompter = Prompter(
        load_selector(s.prompt_max_keywords, semantic=s.prompt_selector == "semantic"),
        publish=bus.publish,
        defer_ack=bus.defer_ack,
        policy=policy,
        store=open_store(s.database_url, s.data_dir, bus.settings.namespace),
    )
    bus.consume(
        bus.topology.prompter,
        {Transcript: prompter.on_transcript, Control: prompter.on_control, JobText: prompter.on_job_text},
        prefetch=s.prompter_prefetch,
    )
    bus.every(TICK_SECONDS, prompter.tick)
    # The configured languages' word tables load on a thread of their own, beside the bus (1-3 s each, once).
    prompter.selector.tables.start(languages_to_warm(s.language, tuple(filter(None, s.auto_languages.split(",")))))
    serve_metrics("prompter", s.metrics_port, ready=bus.health, host=s.metrics_host)
    _LOGGER.info(
        "Ready: %.0f s windows, %s style, consuming %s",
        policy.window_seconds,
        policy.style,
        bus.topology.prompter.name,
    )
    bus.run()
    return 0
