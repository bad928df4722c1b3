"""Messages from the pipeline → gallery (stored first) → websockets; a job's progress → its pages (the job owner,
`services.display.jobs`, follows the job itself). Runs on the bus work thread; the bus acks after it returns."""

from __future__ import annotations

from services.display import metrics
from services.display.gallery import pixels
from services.display.gallery.store import Gallery
from services.display.jobs import Jobs
from services.display.mics.board import MicBoard
from services.display.push.hub import DASHBOARD, Hub, job_topic, room_topic
from services.display.views import SpokenView, WordView
from services.display.web.access import pictures_only
from shared.bus import Handler, Unprocessable
from shared.messages import Envelope, GeneratedImage, ImagePrompt, JobProgress, MicStatus, SpokenCommand, Transcript


class DisplayHandler:
    """One method per message type, as the bus wants them."""

    def __init__(self, gallery: Gallery, jobs: Jobs, mics: MicBoard, hub: Hub) -> None:
        self.gallery = gallery
        self.jobs = jobs
        self.mics = mics
        self.hub = hub

    def on_image(self, msg: GeneratedImage) -> None:
        try:  # a picture the display would not decode is not stored, nor sent to frames to decode
            header = pixels.check(msg.image)
        except pixels.NotAPicture as exc:
            raise Unprocessable(f"the message says {msg.mime_type}, its bytes are {exc}") from exc
        except pixels.TooManyPixels as exc:
            raise Unprocessable(str(exc)) from exc
        # The generator states what the bytes say: a message that disagrees comes from a broken or forged sender
        # (and a frame or browser trusting its type or size would show it wrong, or not at all).
        if header.mime_type != msg.mime_type:
            raise Unprocessable(f"the message says {msg.mime_type}, its picture is {header.mime_type}")
        if header.size != (msg.width, msg.height):
            raise Unprocessable(f"the message says {msg.width}×{msg.height} pixels, its picture is "
                                f"{header.size[0]}×{header.size[1]}")
        view = self.gallery.add_image(msg)
        if view is not None:
            metrics.IMAGES_RECEIVED.inc()
            self.hub.notify((room_topic(msg.room), DASHBOARD), {"type": "image", "image": view.model_dump(mode="json")})
            # frames without the right to the conversation's words
            self.hub.notify((room_topic(msg.room, captions=False),),
                            {"type": "image", "image": pictures_only(view).model_dump(mode="json")})
            metrics.IMAGES_PRUNED.inc(self.gallery.prune())
            count, total = self.gallery.totals()
            metrics.GALLERY_IMAGES.set(count)
            metrics.GALLERY_BYTES.set(total)

    def on_transcript(self, msg: Transcript) -> None:
        view = self.gallery.add_transcript(msg)
        if view is not None and view.text.strip():
            view = view.model_copy(update={"words": [WordView(text=w.text, confidence=w.confidence)
                                                     for w in msg.words]})
            self.hub.notify((DASHBOARD,), {"type": "transcript", "transcript": view.model_dump(mode="json")})

    def on_prompt(self, msg: ImagePrompt) -> None:
        view = self.gallery.add_prompt(msg)
        if view is not None:
            self.hub.notify((DASHBOARD,), {"type": "prompt", "prompt": view.model_dump(mode="json")})

    def on_progress(self, msg: JobProgress) -> None:
        """A job moved on (on this display or another): its pages get it as it now stands in the database."""
        job = self.jobs.view(msg.job_id)
        if job is not None:
            self.hub.notify((job_topic(job.job_id), DASHBOARD), {"type": "job", "job": job.model_dump(mode="json")})

    def on_spoken(self, msg: SpokenCommand) -> None:
        """A spoken command: its line leaves the conversation, frames confirm it, the dashboard shows it."""
        self.gallery.mark_command(msg.transcript_id)
        view = SpokenView(room=msg.room, transcript_id=msg.transcript_id, action=msg.action.value, subject=msg.subject,
                          heard=msg.heard, created_at=msg.created_at)
        self.hub.notify((room_topic(msg.room), DASHBOARD), {"type": "spoken", "spoken": view.model_dump(mode="json")})
        self.hub.notify((room_topic(msg.room, captions=False),),  # no words of the conversation for these frames
                        {"type": "spoken", "spoken": view.model_copy(update={"subject": "", "heard": ""}
                                                                      ).model_dump(mode="json")})

    def on_status(self, msg: MicStatus) -> None:
        view = self.mics.update(msg)
        self.hub.notify((DASHBOARD,), {"type": "mic", "mic": view.model_dump(mode="json")})

    def handlers(self) -> dict[type[Envelope], Handler]:
        return {GeneratedImage: self.on_image, Transcript: self.on_transcript, ImagePrompt: self.on_prompt,
                MicStatus: self.on_status, SpokenCommand: self.on_spoken, JobProgress: self.on_progress}
