"""Messages from the pipeline → gallery and jobs (stored first) → websockets; a finished job transcription →
a `paint_now` Control for the prompter. Runs on the bus work thread; the bus acks after it returns."""

from __future__ import annotations

from services.display import metrics
from services.display.access import pictures_only
from services.display.gallery import Gallery
from services.display.hub import Hub
from services.display.jobs import JobBook
from services.display.live import MicBoard
from services.display.views import JobView, SpokenView, WordView
from shared.messages import (
    Command,
    Control,
    GeneratedImage,
    ImagePrompt,
    MicStatus,
    SpokenCommand,
    Transcript,
    derived_id,
)


class DisplayHandler:
    """One method per message type, as the bus wants them."""

    def __init__(self, gallery: Gallery, jobs: JobBook, mics: MicBoard, hub: Hub) -> None:
        self.gallery = gallery
        self.jobs = jobs
        self.mics = mics
        self.hub = hub

    def on_image(self, msg: GeneratedImage) -> None:
        view = self.gallery.add_image(msg)
        if view is not None:
            metrics.IMAGES_RECEIVED.inc()
            self.hub.notify((f"room:{msg.room}", "dashboard"), {"type": "image", "image": view.model_dump(mode="json")})
            self.hub.notify((f"pictures:{msg.room}",),  # frames without the right to the conversation's words
                            {"type": "image", "image": pictures_only(view).model_dump(mode="json")})
            metrics.IMAGES_PRUNED.inc(self.gallery.prune())
            count, total = self.gallery.totals()
            metrics.GALLERY_IMAGES.set(count)
            metrics.GALLERY_BYTES.set(total)
        if msg.job_id is not None:  # also on a redelivery: the job may have missed it before a crash
            self._push_job(self.jobs.on_image(msg))

    def on_transcript(self, msg: Transcript) -> Control | None:
        view = self.gallery.add_transcript(msg)
        if view is not None and view.text.strip():
            view = view.model_copy(update={"words": [WordView(text=w.text, confidence=w.confidence) for w in msg.words]})
            self.hub.notify(("dashboard",), {"type": "transcript", "transcript": view.model_dump(mode="json")})
        if msg.job_id is None:
            return None
        job = self._push_job(self.jobs.on_transcript(msg))
        if job is None or job.status != "choosing":
            return None
        # Same id however often we get here, so the prompter's dedup drops repeats.
        return Control(id=derived_id(job.job_id, Command.PAINT_NOW), command=Command.PAINT_NOW, room=job.room,
                       source="display", job_id=job.job_id, trace_id=msg.trace_id, origin_at=msg.origin_at)

    def on_prompt(self, msg: ImagePrompt) -> None:
        view = self.gallery.add_prompt(msg)
        if view is not None:
            self.hub.notify(("dashboard",), {"type": "prompt", "prompt": view.model_dump(mode="json")})
        if msg.job_id is not None:
            self._push_job(self.jobs.on_prompt(msg))

    def on_spoken(self, msg: SpokenCommand) -> None:
        """A spoken command: its line leaves the conversation, frames confirm it, the dashboard shows it."""
        self.gallery.mark_command(msg.transcript_id)
        view = SpokenView(room=msg.room, transcript_id=msg.transcript_id, action=msg.action, subject=msg.subject,
                          heard=msg.heard, created_at=msg.created_at)
        self.hub.notify((f"room:{msg.room}", "dashboard"), {"type": "spoken", "spoken": view.model_dump(mode="json")})
        self.hub.notify((f"pictures:{msg.room}",),  # no words of the conversation for these frames
                        {"type": "spoken", "spoken": view.model_copy(update={"subject": "", "heard": ""}
                                                                      ).model_dump(mode="json")})

    def on_status(self, msg: MicStatus) -> None:
        view = self.mics.update(msg)
        self.hub.notify(("dashboard",), {"type": "mic", "mic": view.model_dump(mode="json")})

    def expire_jobs(self) -> None:
        """Timer: stalled jobs become errors saying where they stopped; old text rows are trimmed."""
        for job in self.jobs.expire_stalled():
            self._push_job(job)
        self.gallery.prune_text()

    def _push_job(self, job: JobView | None) -> JobView | None:
        if job is not None:
            self.hub.notify((f"job:{job.job_id}", "dashboard"), {"type": "job", "job": job.model_dump(mode="json")})
        return job

    def handlers(self) -> dict[type, object]:
        return {GeneratedImage: self.on_image, Transcript: self.on_transcript, ImagePrompt: self.on_prompt,
                MicStatus: self.on_status, SpokenCommand: self.on_spoken}
