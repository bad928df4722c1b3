"""The job owner: the one place that decides an upload's life, queued → transcribing → choosing → painting → done
(or error, with the reason a person can act on).

- Accepting: an upload is taken whole or refused (503) — its segments all go onto the job queue, which never
  drops, or none do. With `VOXFRAME_STT_ENGINE=assemblyai` the file goes to AssemblyAI's pre-recorded API instead.
- Following: the job queue brings the job's transcripts, prompt and images (to whichever display takes them; the
  state is in the shared database). When every line is in, the whole text goes to the prompter as ONE message,
  so nothing of a job is ever held unacknowledged behind something else.
- Ending: a job is done when its pictures are in, or when the prompter says nothing in its text can be drawn
  (`JobUnpainted`: done with its transcript and NOTHING_TO_PAINT); anything that stops moving becomes an error.
- Telling: every step is announced as `JobProgress`, which every display passes on to its pages.

The stages stay dumb: transcribers transcribe the job queue after live audio, the prompter answers a job's text
with a prompt, generators paint the job prompt queue after live prompts.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from collections.abc import Sequence

from services.display import metrics
from services.display.gallery.store import Gallery
from services.display.jobs.assemblyai import AssemblyAIBatch, BatchError, Utterance
from services.display.jobs.book import HeardLine, JobBook, Span
from services.display.jobs.uploads import PreparedUpload, job_segments
from services.display.views import JobView
from shared.bus import Bus, Handler
from shared.messages import (
    Envelope,
    GeneratedImage,
    ImagePrompt,
    JobLine,
    JobProgress,
    JobStage,
    JobText,
    JobUnpainted,
    Transcript,
    derived_id,
)
from shared.messages.job import MAX_JOB_LINES, MAX_JOB_TEXT_CHARS, MAX_JOB_WORDS

_LOGGER = logging.getLogger(__name__)

PIPELINE, ASSEMBLYAI = "pipeline", "assemblyai"
POLL_SECONDS = (3.0, 30.0)  # without a webhook: first look after 3 s, then less often as the job ages, to 30 s
SAFETY_POLL_SECONDS = 60.0  # with a webhook: a slow look all the same (VOXFRAME_ASSEMBLYAI_SAFETY_POLL_SECONDS)
JOB_ID = re.compile(r"[0-9a-f]{32}")  # what `start` makes (uuid4().hex): anything else names no job
JOB_ID_RULE = "upload job ids are 32 hex digits"
NO_SUCH_JOB = "no such upload job"


class JobRefused(Exception):
    """An upload not taken (nothing of it was sent): `status` is the HTTP status to answer."""

    def __init__(self, status: int, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class Jobs:
    """Accepts uploads, follows them on the job queue, and polls AssemblyAI for remote ones."""

    def __init__(self, book: JobBook, gallery: Gallery, bus: Bus, stall_seconds: float,
                 remote: AssemblyAIBatch | None = None, safety_poll_seconds: float = SAFETY_POLL_SECONDS) -> None:
        self.book = book
        self.gallery = gallery
        self.bus = bus
        self.stall_seconds = stall_seconds
        self.remote = remote
        self.safety_poll_seconds = safety_poll_seconds
        self.capacity = bus.settings.job_audio_queue_max
        self._wake = threading.Event()
        self._stopping = threading.Event()

    def view(self, job_id: str) -> JobView | None:
        return self.book.view(job_id)

    def known(self, job_id: str) -> bool:
        """A job by this id is stored (one row read, not the lines and pictures `view` gathers)."""
        return self.book.job(job_id) is not None

    # ---- accepting (web threads) ------------------------------------------------------------------------

    def start(self, upload: PreparedUpload, data: bytes, filename: str, room: str,
              language: str | None = None) -> str:
        """Take an upload whole and return its job id, or raise JobRefused having sent nothing. `language` is
        what the uploader said was spoken ('auto' to detect), None for the transcriber's default."""
        if not self.bus.connected:
            raise JobRefused(503, "the message broker is not connected; try again shortly", retry_after=10)
        job_id = uuid.uuid4().hex
        if self.remote is not None:
            self._start_remote(job_id, upload, data, filename, room, language)
            return job_id
        segments = job_segments(upload, job_id, room, language)
        waiting = self.book.waiting_segments()
        if waiting + len(segments) > self.capacity:
            raise JobRefused(503, f"the transcribers have {waiting} segments of other uploads to do and this one "
                                  f"has {len(segments)} (at most {self.capacity} wait at once); try again later",
                             retry_after=60)
        spans = [Span(*piece.own_seconds) for piece in upload.pieces]  # a line is where its piece's own part is
        self.book.create(job_id, room, filename, PIPELINE, spans, upload.audio_seconds)
        try:
            self.bus.publish(*segments, timeout=30)
        except Exception as exc:  # whatever stopped the hand-off, the job goes with its audio
            self.book.discard(job_id)
            _LOGGER.warning("Upload %s not sent: %r", job_id, exc)
            raise JobRefused(503, "the audio could not be handed to the pipeline; try again shortly",
                             retry_after=10) from exc
        return job_id

    def _start_remote(self, job_id: str, upload: PreparedUpload, data: bytes, filename: str, room: str,
                      language: str | None) -> None:
        """Hand the file to AssemblyAI; its refusal (a bad key, say) becomes the job's error, not a lost upload."""
        assert self.remote is not None
        self.book.create(job_id, room, filename, ASSEMBLYAI, [], upload.audio_seconds)
        try:
            remote_id = self.remote.submit(data, language=language)
        except BatchError as exc:
            self._fail(job_id, exc.reason)
            return
        self.book.set_remote(job_id, remote_id, time.time() + self._poll_delay(0.0))
        self.book.enter(job_id, JobStage.TRANSCRIBING)
        _LOGGER.info("Upload job %s: with AssemblyAI as transcript %s", job_id, remote_id)

    # ---- the job queue (bus work thread) ----------------------------------------------------------------

    def on_transcript(self, msg: Transcript) -> list[Envelope]:
        assert msg.job_id is not None
        line = HeardLine(str(msg.id), msg.text, msg.words, language=msg.language)
        filled = self.book.fill_line(msg.job_id, msg.sequence, line)
        if filled is None:
            return []  # a job of another database: not ours to follow
        done, total = filled
        if done < total:
            self.book.enter(msg.job_id, JobStage.TRANSCRIBING)
            self.book.touch(msg.job_id)
            return [self._progress(msg, JobStage.TRANSCRIBING)]
        return self._transcribed(msg.job_id, msg)

    def on_prompt(self, msg: ImagePrompt) -> list[Envelope]:
        assert msg.job_id is not None
        if self.book.job(msg.job_id) is None:
            return []
        self.gallery.add_prompt(msg)
        self.book.set_prompt(msg.job_id, str(msg.id), msg.num_images)
        self.book.enter(msg.job_id, JobStage.PAINTING)
        return [self._progress(msg, JobStage.PAINTING)]

    def on_unpainted(self, msg: JobUnpainted) -> list[Envelope]:
        """The prompter found nothing to draw: the job is done, with its transcript and no picture."""
        if self.book.job(msg.job_id) is None:
            return []
        if self.book.enter(msg.job_id, JobStage.DONE):
            metrics.JOBS_FINISHED.labels("done").inc()
            _LOGGER.info("Upload job %s: done, nothing picturable (%s)", msg.job_id, msg.reason)
        return [self._progress(msg, JobStage.DONE)]

    def on_image(self, msg: GeneratedImage) -> list[Envelope]:
        assert msg.job_id is not None
        job = self.book.job(msg.job_id)
        if job is None:
            return []
        self.gallery.add_image(msg)  # the display queue brings it too, for the frames; stored once either way
        wanted = job.num_images or 1  # the prompt may have been missed: one image then counts as done
        if len(self.gallery.job_images(msg.job_id)) < wanted:
            self.book.touch(msg.job_id)
            return [self._progress(msg, JobStage.PAINTING)]
        if self.book.enter(msg.job_id, JobStage.DONE):
            metrics.JOBS_FINISHED.labels("done").inc()
            _LOGGER.info("Upload job %s: done", msg.job_id)
        return [self._progress(msg, JobStage.DONE)]

    def expire_stalled(self) -> list[Envelope]:
        """Timer: a job without progress for `stall_seconds` becomes an error that says where it stopped."""
        notices: list[Envelope] = []
        cutoff = time.time() - self.stall_seconds
        for job_id in self.book.stalled(cutoff):
            if self.book.waiting_its_turn(job_id, cutoff):
                continue  # queued behind another upload that is still moving: not stalled, only waiting
            view = self.book.view(job_id)
            if view is not None and self._fail(job_id, _stall_reason(view, self.stall_seconds)):
                notices.append(JobProgress(room=view.room, source="upload", job_id=job_id, stage=JobStage.ERROR))
        return notices

    def handlers(self) -> dict[type[Envelope], Handler]:
        return {Transcript: self.on_transcript, ImagePrompt: self.on_prompt, JobUnpainted: self.on_unpainted,
                GeneratedImage: self.on_image}

    # ---- AssemblyAI (its own thread: a slow API never holds up the frames' messages) --------------------

    def on_webhook(self, transcript_id: str) -> bool:
        """AssemblyAI says a transcript is ready: look now. False for an id that is no job of ours."""
        job_id = self.book.by_remote(transcript_id)
        if job_id is None:
            return False
        self.book.poll_at(job_id, 0.0)
        self._wake.set()
        return True

    def start_polling(self) -> None:
        if self.remote is not None:
            threading.Thread(target=self._poll_loop, name="display-jobs-poll", daemon=True).start()

    def stop_polling(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self.remote is not None:
            self.remote.stop()

    def _poll_loop(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(1.0)
            self._wake.clear()
            for job_id, remote_id, due_at in self.book.due_polls(time.time()):
                if self.book.claim_poll(job_id, due_at, time.time() + self.safety_poll_seconds):  # one display looks
                    try:
                        self._poll(job_id, remote_id)
                    except Exception:  # the next look tries again; the thread must go on for every other job
                        _LOGGER.exception("Upload job %s: polling AssemblyAI failed", job_id)

    def _poll(self, job_id: str, remote_id: str) -> None:
        assert self.remote is not None
        job = self.book.job(job_id)
        if job is None:  # pruned since its look was claimed
            return
        try:
            utterances = self.remote.fetch(remote_id)
        except BatchError as exc:
            if exc.transient:  # AssemblyAI busy or away: look again later
                self.book.poll_at(job_id, time.time() + self._poll_delay(time.time() - job.created_at))
                return
            if self._fail(job_id, exc.reason):
                self.bus.publish(JobProgress(room=job.room, source="upload", job_id=job_id, stage=JobStage.ERROR))
            return
        if utterances is None:  # queued or processing: AssemblyAI at work is progress
            self.book.touch(job_id)
            self.book.poll_at(job_id, time.time() + self._poll_delay(time.time() - job.created_at))
            return
        self.book.add_lines(job_id, _lines(job_id, utterances))
        cause = JobProgress(room=job.room, source="upload", job_id=job_id, stage=JobStage.TRANSCRIBING)
        self.bus.publish(*self._transcribed(job_id, cause))

    def _poll_delay(self, age_seconds: float) -> float:
        if self.remote is not None and self.remote.webhook_url:
            return self.safety_poll_seconds
        low, high = POLL_SECONDS
        return min(high, max(low, age_seconds / 10))

    # ---- steps ------------------------------------------------------------------------------------------

    def _transcribed(self, job_id: str, cause: Envelope) -> list[Envelope]:
        """Every line is in: the whole text to the prompter (again on a redelivery: same id, dropped there)."""
        lines = self.book.text(job_id)
        if not lines:
            if self._fail(job_id, "no speech was recognised in the upload"):
                return [self._progress(cause, JobStage.ERROR)]
            return []
        self.book.enter(job_id, JobStage.CHOOSING)
        job = self.book.job(job_id)
        if job is None or job.status is not JobStage.CHOOSING:
            return []  # already painting, done or failed: the text went before
        text = cause.derive(JobText, key="text", id=derived_id(job_id, "text"), job_id=job_id, source="upload",
                            lines=_within_limits(lines))
        return [text, self._progress(cause, JobStage.CHOOSING)]

    def _fail(self, job_id: str, reason: str) -> bool:
        if not self.book.enter(job_id, JobStage.ERROR, error=reason):
            return False
        metrics.JOBS_FINISHED.labels("error").inc()
        _LOGGER.warning("Upload job %s failed: %s", job_id, reason)
        return True

    @staticmethod
    def _progress(cause: Envelope, stage: JobStage) -> JobProgress:
        return cause.derive(JobProgress, key=f"progress:{stage}", stage=stage)


def _lines(job_id: str, utterances: Sequence[Utterance]) -> list[tuple[Span, HeardLine]]:
    """A line per speaker turn, its words timed from the turn's start as a transcriber's are from its segment's."""
    return [(Span(u.start_seconds, u.end_seconds),
             HeardLine(str(derived_id(job_id, "line", i)), u.text,
                       tuple(w.shifted(-u.start_seconds) for w in u.words), u.speaker, u.language))
            for i, u in enumerate(utterances)]


def _within_limits(lines: list[JobLine]) -> tuple[JobLine, ...]:
    """All lines if they fit one message; else evenly spaced ones that do (a transcript of hours)."""
    def fits(chosen: Sequence[JobLine]) -> bool:
        return (len(chosen) <= MAX_JOB_LINES and sum(len(line.text) for line in chosen) <= MAX_JOB_TEXT_CHARS
                and sum(len(line.words) for line in chosen) <= MAX_JOB_WORDS)

    step = 1
    while not fits(lines[::step]):
        step += 1
    return tuple(lines[::step])


def _stall_reason(job: JobView, seconds: float) -> str:
    waited = f"after {seconds:.0f} s without progress"
    if job.engine == ASSEMBLYAI and job.status in (JobStage.QUEUED, JobStage.TRANSCRIBING):
        return f"AssemblyAI has not finished the transcript {waited}"
    if job.status == JobStage.QUEUED:
        return f"no transcriber picked up the audio {waited} (is `voxframe transcriber` running?)"
    if job.status == JobStage.TRANSCRIBING:
        return f"transcription stopped at {job.transcribed} of {job.segments} segments {waited}"
    if job.status == JobStage.CHOOSING:
        return f"the prompter chose no prompt {waited} (too few usable words, or no `voxframe prompter`)"
    return f"the generator painted {len(job.images)} of {job.num_images or 1} image(s) {waited}"
