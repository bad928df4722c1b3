"""Where Voxframe keeps what it builds once from installed data (the illustrator's name index, the multilingual
Whisper model joined from its two wheels): `make install` and the Docker build fill it, workers read it."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """VOXFRAME_CACHE_DIR, else $XDG_CACHE_HOME/voxframe, else ~/.cache/voxframe."""
    if os.environ.get("VOXFRAME_CACHE_DIR"):
        return Path(os.environ["VOXFRAME_CACHE_DIR"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "voxframe"
