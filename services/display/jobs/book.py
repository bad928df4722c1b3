"""Upload jobs: queued → transcribing → choosing → painting → done (or error with the reason), kept in SQLite.

The job follows its own messages through the pipeline: it counts the transcripts of its segments, asks the
prompter to paint once all have arrived, and is done when the prompt's `num_images` images are stored.
Every step only moves forward, so redelivered messages cannot move a job back.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

from services.display import metrics
from services.display.db import Database
from services.display.gallery import Gallery
from services.display.views import JobStatus, JobView
from shared.messages import GeneratedImage, ImagePrompt, Transcript

_LOGGER = logging.getLogger(__name__)

_ORDER: tuple[JobStatus, ...] = ("queued", "transcribing", "choosing", "painting", "done")
_KEEP_JOBS = 500


class JobBook:
    """Creates jobs and advances them as their messages arrive (on the bus thread)."""

    def __init__(self, db: Database, gallery: Gallery, stall_seconds: float) -> None:
        self.db = db
        self.gallery = gallery
        self.stall_seconds = stall_seconds

    def create(self, job_id: str, room: str, filename: str, segments: int, audio_seconds: float) -> None:
        now = time.time()
        with self.db.connection() as conn:
            conn.execute("INSERT INTO jobs VALUES (?,?,?,?,?,?,?,?,?,?)",
                         (job_id, room, filename, "queued", segments, None, audio_seconds, None, now, now))
            conn.execute("DELETE FROM transcripts WHERE job_id IN (SELECT id FROM jobs ORDER BY created_at DESC "
                         "LIMIT -1 OFFSET ?)", (_KEEP_JOBS,))
            conn.execute("DELETE FROM jobs WHERE id NOT IN (SELECT id FROM jobs ORDER BY created_at DESC LIMIT ?)",
                         (_KEEP_JOBS,))

    def discard(self, job_id: str) -> None:
        """Forget a job whose segments could not be sent, so no half-made job is left."""
        with self.db.connection() as conn:
            conn.execute("DELETE FROM jobs WHERE id=?", (job_id,))

    def on_transcript(self, msg: Transcript) -> JobView | None:
        """Count the job's transcripts; all in → `choosing` (the caller then asks the prompter to paint)."""
        row = self._row(msg.job_id)
        if row is None:
            return None
        with self.db.connection() as conn:
            done, words = conn.execute("SELECT COUNT(*), COALESCE(SUM(text != ''), 0) FROM transcripts "
                                       "WHERE job_id=?", (msg.job_id,)).fetchone()
        if done < row["segments"]:
            return self._advance(row, "transcribing")
        if not words:
            return self.fail(row["id"], "no speech was recognised in the upload")
        return self._advance(row, "choosing")

    def on_prompt(self, msg: ImagePrompt) -> JobView | None:
        row = self._row(msg.job_id)
        if row is None:
            return None
        with self.db.connection() as conn:
            conn.execute("UPDATE jobs SET num_images=? WHERE id=?", (msg.num_images, row["id"]))
        return self._advance(self._row(msg.job_id), "painting")

    def on_image(self, msg: GeneratedImage) -> JobView | None:
        row = self._row(msg.job_id)
        if row is None:
            return None
        painted = len(self.gallery.job_images(row["id"]))
        wanted = row["num_images"] or 1  # the prompt may have been missed: one image then counts as done
        return self._advance(row, "done" if painted >= wanted else "painting")

    def fail(self, job_id: str, reason: str) -> JobView | None:
        with self.db.connection() as conn:
            cur = conn.execute("UPDATE jobs SET status='error', error=?, updated_at=? WHERE id=? "
                               "AND status NOT IN ('done', 'error')", (reason, time.time(), job_id))
        if cur.rowcount:
            metrics.JOBS_FINISHED.labels("error").inc()
            _LOGGER.warning("Upload job %s failed: %s", job_id, reason)
        return self.view(job_id)

    def expire_stalled(self) -> list[JobView]:
        """Jobs with no progress for `stall_seconds` become errors that say where they stopped."""
        cutoff = time.time() - self.stall_seconds
        with self.db.connection() as conn:
            rows = conn.execute("SELECT * FROM jobs WHERE status NOT IN ('done', 'error') AND updated_at < ?",
                                (cutoff,)).fetchall()
        failed = []
        for row in rows:
            view = self.fail(row["id"], _stall_reason(self.view(row["id"]), self.stall_seconds))
            if view is not None:
                failed.append(view)
        return failed

    def view(self, job_id: str) -> JobView | None:
        row = self._row(job_id)
        if row is None:
            return None
        lines = self.gallery.job_transcripts(job_id)
        return JobView(
            job_id=row["id"], room=row["room"], filename=row["filename"], status=row["status"],
            segments=row["segments"], transcribed=len(lines), num_images=row["num_images"],
            audio_seconds=row["audio_seconds"], error=row["error"],
            transcript=" ".join(t.text.strip() for t in lines if t.text.strip()),
            images=self.gallery.job_images(job_id),
            created_at=datetime.fromtimestamp(row["created_at"], UTC),
            updated_at=datetime.fromtimestamp(row["updated_at"], UTC),
        )

    def _advance(self, row, status: JobStatus) -> JobView | None:
        """Move forward to `status` (never back, never out of error); returns the job as it now is."""
        if row["status"] != "error" and _ORDER.index(status) > _ORDER.index(row["status"]):
            with self.db.connection() as conn:
                conn.execute("UPDATE jobs SET status=?, updated_at=? WHERE id=?", (status, time.time(), row["id"]))
            _LOGGER.info("Upload job %s: %s", row["id"], status)
            if status == "done":
                metrics.JOBS_FINISHED.labels("done").inc()
        elif row["status"] != "error":
            with self.db.connection() as conn:  # progress within a step still counts as progress
                conn.execute("UPDATE jobs SET updated_at=? WHERE id=?", (time.time(), row["id"]))
        return self.view(row["id"])

    def _row(self, job_id: str | None):
        if job_id is None:
            return None
        with self.db.connection() as conn:
            return conn.execute("SELECT * FROM jobs WHERE id=?", (job_id,)).fetchone()


def _stall_reason(job: JobView | None, seconds: float) -> str:
    waited = f"after {seconds:.0f} s without progress"
    if job is None or job.status == "queued":
        return f"no transcriber picked up the audio {waited} (is `voxframe transcriber` running?)"
    if job.status == "transcribing":
        return f"transcription stopped at {job.transcribed} of {job.segments} segments {waited}"
    if job.status == "choosing":
        return f"the prompter chose no prompt {waited} (too few usable words, or no `voxframe prompter`)"
    return f"the generator painted {len(job.images)} of {job.num_images or 1} image(s) {waited}"
