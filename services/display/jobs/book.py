"""Where upload jobs are written down: one row per job, one per line of its transcript, in the display database.

Every display reads and writes the same rows (with a shared `VOXFRAME_DATABASE_URL`), so state moves only by
conditional updates: a stage is entered by whoever's UPDATE matches first, and never left backwards, so
redelivered messages and several displays at once cannot move a job back or announce a step twice.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime

from services.display.gallery.db import Database
from services.display.gallery.store import Gallery
from services.display.views import JobLineView, JobView
from shared.messages import NOTHING_TO_PAINT, JobLine, JobStage, Word
from shared.messages.language import DEFAULT_LANGUAGE

_KEEP_JOBS = 500  # finished jobs kept; those still in flight are never pruned (the stall check ends them)
_EARLIER: dict[JobStage, tuple[str, ...]] = {  # the stages a job may enter each stage from
    JobStage.TRANSCRIBING: ("queued",),
    JobStage.CHOOSING: ("queued", "transcribing"),
    JobStage.PAINTING: ("queued", "transcribing", "choosing"),
    JobStage.DONE: ("queued", "transcribing", "choosing", "painting"),
    JobStage.ERROR: ("queued", "transcribing", "choosing", "painting"),
}

@dataclass(frozen=True)
class Job:
    """An upload job as its row says: read at the book's edge, so nothing past it reads columns by name."""

    id: str
    room: str
    filename: str
    status: JobStage
    engine: str
    segments: int
    audio_seconds: float
    num_images: int | None  # None until its prompt says how many
    prompt_id: str | None
    error: str | None
    created_at: float  # seconds since the epoch
    updated_at: float


_JOB_COLUMNS = ", ".join(f.name for f in fields(Job))


@dataclass(frozen=True)
class Span:
    """Where a line sits in the uploaded file."""

    start_seconds: float
    end_seconds: float


@dataclass(frozen=True)
class HeardLine:
    """A line as an engine heard it, its words timed from the line's start; `speaker` when the engine tells speakers
    apart."""

    transcript_id: str
    text: str
    words: tuple[Word, ...] = ()
    speaker: str | None = None
    language: str = DEFAULT_LANGUAGE


class JobBook:
    """Job rows: created on upload, moved on by the job owner, read by every page and websocket."""

    def __init__(self, db: Database, gallery: Gallery) -> None:
        self.db = db
        self.gallery = gallery

    # ---- writing ------------------------------------------------------------------------------------------

    def create(self, job_id: str, room: str, filename: str, engine: str, spans: Sequence[Span],
               audio_seconds: float) -> None:
        """A new job with one empty line per segment its transcribers will fill (none yet for a remote engine)."""
        now = time.time()
        with self.db.connection() as conn:
            conn.execute("INSERT INTO upload_jobs (id, room, filename, status, engine, segments, audio_seconds, "
                         "created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?)",
                         (job_id, room, filename, JobStage.QUEUED.value, engine, len(spans), audio_seconds, now, now))
            conn.executemany("INSERT INTO job_lines (job_id, sequence, start_seconds, end_seconds) VALUES (?,?,?,?)",
                             [(job_id, i, s.start_seconds, s.end_seconds) for i, s in enumerate(spans)])
            conn.execute("DELETE FROM upload_jobs WHERE status IN ('done', 'error') AND id NOT IN "  # the oldest
                         "(SELECT id FROM upload_jobs WHERE status IN ('done', 'error') "  # finished go, with lines;
                         "ORDER BY created_at DESC LIMIT ?)", (_KEEP_JOBS,))  # one in flight stays however old
            conn.execute("DELETE FROM job_lines WHERE job_id NOT IN (SELECT id FROM upload_jobs)")

    def discard(self, job_id: str) -> None:
        """Forget a job whose audio could not be handed on, so no half-made job is left."""
        with self.db.connection() as conn:
            conn.execute("DELETE FROM job_lines WHERE job_id=?", (job_id,))
            conn.execute("DELETE FROM upload_jobs WHERE id=?", (job_id,))

    def fill_line(self, job_id: str, sequence: int, line: HeardLine) -> tuple[int, int] | None:
        """Write what a segment said (a redelivery changes nothing); (lines filled, lines in all), None if
        the job is not in this database."""
        with self.db.connection() as conn:
            conn.execute("UPDATE job_lines SET transcript_id=?, speaker=?, text=?, words=?, language=? "
                         "WHERE job_id=? AND sequence=? AND text IS NULL",
                         (line.transcript_id, line.speaker, line.text, _words_json(line.words), line.language,
                          job_id, sequence))
            row = conn.execute("SELECT COUNT(text), COUNT(*) FROM job_lines WHERE job_id=?", (job_id,)).fetchone()
        return (row[0], row[1]) if row[1] else None

    def add_lines(self, job_id: str, lines: Sequence[tuple[Span, HeardLine]]) -> None:
        """A remote engine's whole transcript at once (speaker turns with their times)."""
        with self.db.connection() as conn:
            conn.executemany("INSERT INTO job_lines (job_id, sequence, start_seconds, end_seconds, transcript_id, "
                             "speaker, text, words, language) VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING",
                             [(job_id, i, span.start_seconds, span.end_seconds, line.transcript_id, line.speaker,
                               line.text, _words_json(line.words), line.language)
                              for i, (span, line) in enumerate(lines)])
            conn.execute("UPDATE upload_jobs SET segments=? WHERE id=?", (len(lines), job_id))

    def enter(self, job_id: str, stage: JobStage, error: str | None = None) -> bool:
        """Move the job to `stage` if it is before it; True only for the one caller that moved it."""
        earlier = _EARLIER[stage]
        with self.db.connection() as conn:
            cur = conn.execute(f"UPDATE upload_jobs SET status=?, error=?, updated_at=? WHERE id=? "
                               f"AND status IN ({','.join('?' * len(earlier))})",
                               (stage.value, error, time.time(), job_id, *earlier))
            return cur.rowcount > 0

    def touch(self, job_id: str) -> None:
        """Progress within a stage (another segment, a remote engine still working) still counts as progress."""
        with self.db.connection() as conn:
            conn.execute("UPDATE upload_jobs SET updated_at=? WHERE id=?", (time.time(), job_id))

    def set_prompt(self, job_id: str, prompt_id: str, num_images: int) -> None:
        with self.db.connection() as conn:
            conn.execute("UPDATE upload_jobs SET prompt_id=?, num_images=? WHERE id=?", (prompt_id, num_images, job_id))

    def set_remote(self, job_id: str, remote_id: str, poll_at: float) -> None:
        with self.db.connection() as conn:
            conn.execute("UPDATE upload_jobs SET remote_id=?, poll_at=? WHERE id=?", (remote_id, poll_at, job_id))

    def poll_at(self, job_id: str, when: float) -> None:
        with self.db.connection() as conn:
            conn.execute("UPDATE upload_jobs SET poll_at=? WHERE id=?", (when, job_id))

    # ---- reading ------------------------------------------------------------------------------------------

    def job(self, job_id: str) -> Job | None:
        with self.db.connection() as conn:
            row = conn.execute(f"SELECT {_JOB_COLUMNS} FROM upload_jobs WHERE id=?", (job_id,)).fetchone()
        if row is None:
            return None
        return Job(str(row["id"]), str(row["room"]), str(row["filename"]), JobStage(row["status"]), str(row["engine"]),
                   int(row["segments"]), float(row["audio_seconds"]),
                   None if row["num_images"] is None else int(row["num_images"]), row["prompt_id"], row["error"],
                   float(row["created_at"]), float(row["updated_at"]))

    def by_remote(self, remote_id: str) -> str | None:
        with self.db.connection() as conn:
            row = conn.execute("SELECT id FROM upload_jobs WHERE remote_id=?", (remote_id,)).fetchone()
        return None if row is None else row[0]

    def waiting_segments(self) -> int:
        """Segments of unfinished jobs not yet transcribed: what the job queue holds, as every display sees it."""
        with self.db.connection() as conn:
            row = conn.execute("SELECT COUNT(*) FROM job_lines l JOIN upload_jobs j ON j.id = l.job_id "
                               "WHERE l.text IS NULL AND j.status IN ('queued', 'transcribing')").fetchone()
        return int(row[0])

    def due_polls(self, now: float) -> list[tuple[str, str, float]]:
        """(job, remote transcript id, when the look was due) of remote jobs whose next look is due."""
        with self.db.connection() as conn:
            rows = conn.execute("SELECT id, remote_id, poll_at FROM upload_jobs WHERE remote_id IS NOT NULL "
                                "AND poll_at <= ? AND status IN ('queued', 'transcribing')", (now,)).fetchall()
        return [(r[0], r[1], r[2]) for r in rows]

    def claim_poll(self, job_id: str, due_at: float, next_at: float) -> bool:
        """Take the due look at a remote job (True for one display only) and set the one after it."""
        with self.db.connection() as conn:
            cur = conn.execute("UPDATE upload_jobs SET poll_at=? WHERE id=? AND poll_at=?", (next_at, job_id, due_at))
            return cur.rowcount > 0

    def stalled(self, cutoff: float) -> list[str]:
        with self.db.connection() as conn:
            rows = conn.execute("SELECT id FROM upload_jobs WHERE status NOT IN ('done', 'error') AND updated_at < ?",
                                (cutoff,)).fetchall()
        return [r[0] for r in rows]

    def waiting_its_turn(self, job_id: str, cutoff: float) -> bool:
        """A queued pipeline job whose segments wait behind those of an earlier job that has moved since
        `cutoff` (the job queue is served in order, so a long upload ahead is no stall of this one)."""
        with self.db.connection() as conn:
            row = conn.execute("SELECT 1 FROM upload_jobs j, upload_jobs ahead WHERE j.id=? AND j.status='queued' "
                               "AND j.engine='pipeline' AND ahead.engine='pipeline' AND ahead.id != j.id "
                               "AND ahead.created_at <= j.created_at AND ahead.updated_at >= ? LIMIT 1",
                               (job_id, cutoff)).fetchone()
        return row is not None

    def lines(self, job_id: str) -> list[JobLineView]:
        with self.db.connection() as conn:
            rows = conn.execute("SELECT * FROM job_lines WHERE job_id=? ORDER BY sequence", (job_id,)).fetchall()
        return [JobLineView(sequence=r["sequence"], start_seconds=r["start_seconds"], end_seconds=r["end_seconds"],
                            speaker=r["speaker"], text=r["text"] or "", transcribed=r["text"] is not None,
                            words=_words(r["words"]))
                for r in rows]

    def text(self, job_id: str) -> list[JobLine]:
        """The job's heard lines, for the prompter (empty ones left out)."""
        with self.db.connection() as conn:
            rows = conn.execute("SELECT transcript_id, text, words, language FROM job_lines WHERE job_id=? "
                                "AND text != '' ORDER BY sequence", (job_id,)).fetchall()
        return [JobLine(transcript_id=r[0], text=r[1], words=_words(r[2]),
                        language=r[3] or DEFAULT_LANGUAGE)
                for r in rows]

    def view(self, job_id: str) -> JobView | None:
        job = self.job(job_id)
        if job is None:
            return None
        lines = self.lines(job_id)
        line_of = self._line_numbers(job_id)
        images = self.gallery.job_images(job_id)
        unpainted = job.status is JobStage.DONE and job.prompt_id is None and not images
        return JobView(
            job_id=job.id, room=job.room, filename=job.filename, status=job.status,
            engine=job.engine, segments=job.segments, transcribed=sum(line.transcribed for line in lines),
            num_images=job.num_images, audio_seconds=job.audio_seconds, error=job.error,
            note=NOTHING_TO_PAINT if unpainted else None,
            transcript=" ".join(line.text.strip() for line in lines if line.text.strip()),
            lines=lines, images=images, image_lines={i.id: line_of.get(i.prompt_id, []) for i in images},
            created_at=datetime.fromtimestamp(job.created_at, UTC),
            updated_at=datetime.fromtimestamp(job.updated_at, UTC),
        )

    def _line_numbers(self, job_id: str) -> dict[str, list[int]]:
        """Prompt id → the job's line numbers it was chosen from, so each picture links to its lines."""
        with self.db.connection() as conn:
            by_transcript = {r[0]: r[1] for r in conn.execute(
                "SELECT transcript_id, sequence FROM job_lines WHERE job_id=? AND transcript_id IS NOT NULL",
                (job_id,)).fetchall()}
            prompts = conn.execute("SELECT id, transcript_ids FROM prompts WHERE job_id=?", (job_id,)).fetchall()
        return {p[0]: sorted(by_transcript[t] for t in json.loads(p[1]) if t in by_transcript) for p in prompts}


def _words_json(words: Sequence[Word]) -> str:
    return json.dumps([w.model_dump() for w in words])


def _words(stored: str | None) -> tuple[Word, ...]:
    return tuple(Word(**w) for w in json.loads(stored or "[]"))
