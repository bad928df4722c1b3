"""What a prompter does for rooms it has not been told otherwise about: the one home of those defaults, which
`PrompterSettings` reads its own from."""

from __future__ import annotations

from dataclasses import dataclass

from services.prompter.engines.commands import DEFAULT_WAKE_PHRASE
from services.prompter.window import WINDOW_SECONDS
from shared.messages.prompt import DEFAULT_HEIGHT, DEFAULT_WIDTH
from shared.messages.scene import SceneMode


@dataclass(frozen=True)
class Policy:
    """Defaults for new rooms, and the limits every prompt keeps."""

    window_seconds: float = WINDOW_SECONDS  # the window itself is decided in window.py
    style: str = "watercolor"
    num_images: int = 1
    min_words: int = 5
    max_chars: int = 240
    width: int = DEFAULT_WIDTH
    height: int = DEFAULT_HEIGHT
    novelty_half_life_seconds: float = 60.0
    room_idle_seconds: float = 3600.0  # a room silent this long is forgotten (its settings return to defaults)
    max_rooms: int = 1000  # past it, the longest-idle room without an open window is forgotten
    wake_phrase: str = DEFAULT_WAKE_PHRASE  # starts a spoken command in new rooms; "" turns them off
    scene_mode: SceneMode = "living"  # new rooms' pictures: one living scene, or a slideshow of unrelated ones
