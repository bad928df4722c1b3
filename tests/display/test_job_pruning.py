"""A new upload job prunes the oldest finished ones, never one still in flight: on SQLite and the real PostgreSQL."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.display.gallery.db import Database
from services.display.gallery.store import Gallery
from services.display.jobs.book import _KEEP_JOBS, JobBook, Span
from shared.messages import JobStage
from tests.support import postgres_database


@pytest.fixture(params=["sqlite", "postgresql"])
def book(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[JobBook]:
    with postgres_database() if request.param == "postgresql" else contextlib.nullcontext("") as url:
        db = Database.open(url, tmp_path)
        try:
            yield JobBook(db, Gallery(db, 100, 10**9))
        finally:
            db.close()


def new_job(book: JobBook) -> str:
    job_id = str(uuid.uuid4())
    book.create(job_id, "upload", "talk.wav", "pipeline", [Span(0.0, 1.0)], 1.0)
    return job_id


def test_pruning_keeps_every_job_in_flight_and_drops_the_oldest_finished(book: JobBook) -> None:
    in_flight = new_job(book)
    assert book.enter(in_flight, JobStage.TRANSCRIBING)
    oldest_done = new_job(book)
    assert book.enter(oldest_done, JobStage.DONE)
    for _ in range(_KEEP_JOBS):
        assert book.enter(new_job(book), JobStage.ERROR)
    new_job(book)  # the next upload prunes: _KEEP_JOBS + 1 finished jobs, one in flight before them all
    assert book.job(in_flight) is not None, "a job still being transcribed was pruned"
    assert book.lines(in_flight), "its lines went with the pruned ones"
    assert book.job(oldest_done) is None and book.lines(oldest_done) == []
