"""The JSON API: rooms, gallery, transcripts, prompts, controls, uploads, image files, health and metrics."""

from __future__ import annotations

import asyncio
import functools
import logging
import urllib.parse
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple, Protocol, TypeVar

import segno
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, ValidationError
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from services.display import metrics
from services.display.gallery import variants, wordless
from services.display.gallery.store import NOTHING_SEEN, Gallery, Original
from services.display.gallery.variants import Variants
from services.display.jobs import NO_SUCH_JOB, JobRefused, Jobs, captions, uploads
from services.display.jobs.assemblyai import BatchError, parse_webhook
from services.display.mics.board import MicBoard
from services.display.views import (
    NAME,
    ROOM_RULE,
    ControlRequest,
    ErrorView,
    ImageView,
    JobView,
    PairingRequest,
    PairingView,
    PromptView,
    RoomView,
    TranscriptView,
    UploadAccepted,
)
from services.display.web import openapi
from services.display.web.access import TOKEN_PARAM, Access, pictures_only
from services.display.web.limits import CONTROL_MAX_BYTES, Slots, SmallBodies
from services.display.web.pairing import Pairings
from services.display.web.readers import Readers
from services.display.web.revocation import PairedSockets
from services.display.web.rooms import job_in_url, room_in_url
from shared.bus import Bus
from shared.http_limits import capped
from shared.messages import Control
from shared.messages.language import room_language

_LOGGER = logging.getLogger(__name__)

Model = TypeVar("Model", bound=BaseModel)
WEBHOOK_PATH = "/api/webhooks/assemblyai"


class Guarded(Protocol):
    """What a guarded route's object holds: who may do what."""

    @property
    def access(self) -> Access: ...


Needs = TypeVar("Needs", bound=Guarded)
Endpoint = Callable[[Needs, Request], Awaitable[Response]]


@dataclass(frozen=True)
class RoomReads:
    """What the rooms' and pictures' routes need: the gallery and its readers, the mics heard, the variants, the
    rooms' languages."""

    access: Access
    gallery: Gallery
    readers: Readers
    mics: MicBoard
    variants: Variants
    default_room: str
    languages: Callable[[], dict[str, str]]  # each room's set_language, where one was set


@dataclass(frozen=True)
class Controls:
    """What the control and health routes need: the bus, and how a control is read."""

    access: Access
    bus: Bus
    bodies: SmallBodies


@dataclass(frozen=True)
class UploadDesk:
    """What the upload routes need: the job owner, the decoding slots, the upload limits, and how a webhook is read."""

    access: Access
    jobs: Jobs
    slots: Slots
    max_bytes: int
    max_seconds: float
    default_room: str
    idle_seconds: float  # an upload whose next bytes do not come within this is dropped (408), its slot freed
    bodies: SmallBodies


@dataclass(frozen=True)
class PairingDesk:
    """What the pairing routes need: the pairings, the sockets open on them, and how a request is read."""

    access: Access
    pairings: Pairings
    paired: PairedSockets
    bodies: SmallBodies


def error(status: int, message: str) -> JSONResponse:
    return JSONResponse(ErrorView(error=message).model_dump(), status_code=status)


def ok(model: BaseModel | Sequence[BaseModel], status: int = 200, **headers: str) -> JSONResponse:
    body = model.model_dump(mode="json") if isinstance(model, BaseModel) else [m.model_dump(mode="json") for m in model]
    return JSONResponse(body, status_code=status, headers=headers or None)


def invalid(what: str, exc: ValidationError) -> JSONResponse:
    """400 naming the first few fields that are wrong and why (the allowed range or values)."""
    return error(400, _wrong(what, exc))


def _wrong(what: str, exc: ValidationError) -> str:
    return f"bad {what}: " + "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}"
                                       for e in exc.errors()[:3])


async def read_json(bodies: SmallBodies, request: Request, model: type[Model], what: str, too_large: str,
                    empty: bytes = b"") -> Model:
    """A small JSON body as `model`: 413 before a big body is read, 408 for one too slow, 400 naming what is wrong
    (as `invalid`)."""
    body = await bodies.read(request, CONTROL_MAX_BYTES, too_large)
    try:
        return model.model_validate_json(body or empty)
    except ValidationError as exc:
        raise HTTPException(400, _wrong(what, exc)) from exc


def guarded(endpoint: Endpoint[Needs]) -> Endpoint[Needs]:
    """Needs the access token (if set); requests that change things must come from our own pages."""

    @functools.wraps(endpoint)
    async def check(needs: Needs, request: Request) -> Response:
        if not needs.access.permits(request):
            return error(401, "this needs the display's access token (Authorization: Bearer <token>)")
        if request.method != "GET" and not needs.access.same_origin(request):
            return error(403, "cross-site request refused: origin does not match this host")
        return await endpoint(needs, request)

    # A mark on the function (functions declare no attributes): the OpenAPI document asks for the token here.
    check.guarded = True  # type: ignore[attr-defined]
    return check


LIMIT_MOST = 200
_LIMIT = openapi.query("limit", {"type": "integer", "minimum": 1, "maximum": LIMIT_MOST})
_BEFORE = openapi.query("before", {"type": "string", "format": "date-time"}, "received_at to page back from")


class Page(NamedTuple):
    limit: int
    before: float | None  # a received_at, as a timestamp: the page ends before it


def _page(request: Request, default: int = 30, pages_back: bool = False) -> Page:
    """A list endpoint's query, checked alike everywhere: 400 naming the parameter for a value out of its range, or
    for one this endpoint does not take (ignored, a client paging back got the same page forever)."""
    takes = ("limit", "before") if pages_back else ("limit",)
    if unknown := sorted(set(request.query_params) - {*takes, TOKEN_PARAM}):
        raise HTTPException(400, f"unknown query parameter {unknown[0]!r}: this takes {' and '.join(takes)}")
    try:
        limit = int(request.query_params.get("limit", default))
    except ValueError:
        limit = 0
    if not 1 <= limit <= LIMIT_MOST:
        raise HTTPException(400, f"limit must be a whole number from 1 to {LIMIT_MOST}")
    before = request.query_params.get("before")
    try:
        return Page(limit, datetime.fromisoformat(before).timestamp() if before is not None else None)
    except ValueError as exc:
        raise HTTPException(400, "before must be an ISO 8601 time (an image's received_at)") from exc


@openapi.operation("Rooms seen, with image counts; live mics, the last picture's time and the language only with "
                   "the token (they tell who is home and talking)", ok=(200, [RoomView]), errors=[503])
async def list_rooms(reads: RoomReads, request: Request) -> Response:
    known = await reads.readers.read(reads.access.permits(request), reads.gallery.rooms)
    mics, languages = reads.mics.mics(), reads.languages()
    names = sorted(set(known) | {m.room for m in mics} | set(languages) | {reads.default_room})
    rooms = [RoomView(room=name, images=known.get(name, NOTHING_SEEN).images,
                      last_image_at=known.get(name, NOTHING_SEEN).last_image_at,
                      mics=[m for m in mics if m.room == name], language=languages.get(name)) for name in names]
    if not reads.access.permits(request):
        rooms = [RoomView(room=r.room, images=r.images, last_image_at=None, mics=[]) for r in rooms]
    return ok(rooms)


@openapi.operation(
    "The room's gallery, newest first, with provenance (pictures only, no words, without the token or the "
    "cookie of a frame paired for this room when a token is set; those get 503 with Retry-After while the "
    "display is busy with such requests)", ok=(200, [ImageView]), errors=[400, 503],
    query=[_LIMIT, _BEFORE])
async def room_images(reads: RoomReads, request: Request) -> Response:
    room, (limit, cursor) = room_in_url(request), _page(request, pages_back=True)
    entitled = await reads.readers.entitled(request, room)  # without the token or its pairing: the anonymous readers

    def page() -> Response:  # the JSON too is made on the reader's thread: 200 images cost the event loop nothing
        images = reads.gallery.images(room, limit, cursor)
        return ok(images if entitled else [pictures_only(i) for i in images])

    response: Response = await reads.readers.read(entitled, page)
    return response


@guarded
@openapi.operation("Latest non-empty transcripts, newest first", ok=(200, [TranscriptView]),
                   errors=[400], query=[_LIMIT])
async def room_transcripts(reads: RoomReads, request: Request) -> Response:
    return ok(await asyncio.to_thread(reads.gallery.transcripts, room_in_url(request), _page(request).limit))


@guarded
@openapi.operation("Latest prompts, newest first", ok=(200, [PromptView]), errors=[400], query=[_LIMIT])
async def room_prompts(reads: RoomReads, request: Request) -> Response:
    room, limit = room_in_url(request), _page(request, default=10).limit
    return ok(await asyncio.to_thread(reads.gallery.prompts, room, limit))


@guarded
@openapi.operation("Send a command (mute, window length, style, images per prompt, paint now, regenerate)",
                   ok=(202, {"type": "object", "properties": {"id": {"type": "string"}}}), description="sent",
                   body=ControlRequest, errors=[400, 408, 413, 503])
async def send_control(controls: Controls, request: Request) -> Response:
    room = room_in_url(request)
    wanted = await read_json(controls.bodies, request, ControlRequest, "control",
                             f"a control is at most {CONTROL_MAX_BYTES} bytes of JSON")
    try:
        control = Control(room=room, source="dashboard", command=wanted.command, mic=wanted.mic, value=wanted.value)
    except ValidationError as exc:
        return invalid("control", exc)
    if not controls.bus.connected:
        return error(503, "the message broker is not connected; try again shortly")
    await asyncio.to_thread(controls.bus.publish, control, timeout=10)
    metrics.CONTROLS.labels(control.command.value).inc()
    _LOGGER.info("Control %s for room %s (mic %s, value %s)", control.command, room, control.mic, control.value)
    return JSONResponse({"id": str(control.id)}, status_code=202)


_IMAGE_HEADERS = {"Cache-Control": "public, max-age=31536000, immutable", "X-Content-Type-Options": "nosniff",
                  "Vary": "Accept"}
_PER_VIEWER_HEADERS = {"Cache-Control": "private, max-age=31536000", "Vary": "Accept, Cookie, Authorization"}


@openapi.operation(
    "An image (immutable; cache forever): at `w` (the next of 640, 960, 1280, 1920, 2560, 3840 up, never wider than "
    "the original), WebP when Accept names image/webp; ETag, If-None-Match → 304. A picture with words typeset on it "
    "(poster, illustrator) comes wordless (blurred, at most 640 wide) without the token or a frame paired for its "
    "room. While the display's renders are all taken, the nearest size already made (the original at worst), with "
    "Cache-Control: no-cache",
    ok=(200, {"content": {m: {} for m in ("image/png", "image/jpeg", "image/webp")}}), description="the image",
    errors=[400, 404, 503], query=[openapi.query("w", {"type": "integer", "minimum": 1, "maximum": 3840})],
    also={304: "the frame has these bytes already (If-None-Match)"})
async def image_file(reads: RoomReads, request: Request) -> Response:
    """The picture at `?w=` (bucketed, never upscaled) as WebP where accepted; 304 when the frame has it."""
    try:
        width = variants.bucket(request.query_params.get("w"))
    except variants.BadWidth as exc:
        return error(400, str(exc))
    image_id = request.path_params["image_id"]
    original = reads.gallery.hot_image(image_id) or await reads.readers.read(
        await reads.readers.entitled(request, None), reads.gallery.image_file, image_id)
    if original is None:
        return error(404, "no such image")
    headers = dict(_IMAGE_HEADERS)
    if original.typeset and reads.access.required:  # its words: the token's or its room's paired frames'; two answers
        headers.update(_PER_VIEWER_HEADERS)
        if not await asyncio.to_thread(reads.access.may_read_room, request, original.room):
            try:
                original = await wordless.of(reads.variants, original)
            except wordless.RendersBusy as exc:
                busy = error(503, str(exc))
                busy.headers["Retry-After"] = "5"
                return busy
    width = original.width if width is None else min(width, original.width)
    mime = variants.WEBP if variants.accepts_webp(request.headers.get("accept", "")) else original.mime_type
    as_stored = width == original.width and mime == original.mime_type
    etag = _etag(original, width, mime)
    headers["ETag"] = etag
    if _has(request.headers.get("if-none-match", ""), etag):
        return Response(status_code=304, headers=headers)
    if as_stored:
        return Response(original.data, media_type=mime, headers=headers)
    served = await reads.variants.get(original, width, mime)
    if not served.exact:  # the render queue was full: the nearest size made, for now only (no-cache)
        headers.update({"Cache-Control": "no-cache", "ETag": _etag(original, served.width, served.mime_type)})
    return Response(served.data, media_type=served.mime_type, headers=headers)


def _etag(original: Original, width: int, mime: str) -> str:
    """The image's id as stored; with width and type for a variant."""
    if width == original.width and mime == original.mime_type:
        return f'"{original.id}"'
    return f'"{original.id}-{width}-{mime.removeprefix("image/")}"'


def _has(if_none_match: str, etag: str) -> bool:
    """Whether If-None-Match names this ETag (weak or strong, as RFC 9110's weak comparison) or is `*`."""
    tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
    return "*" in tags or etag in tags


@guarded
@openapi.operation(
    "Upload speech audio (multipart field `audio`, optional `room` and `language`: an ISO 639 code such as de, or "
    "auto; by default the transcriber's VOXFRAME_LANGUAGE); it is painted as a job. Taken whole or "
    "refused: 503 with Retry-After when the transcribers' job queue has no room for it",
    ok=(202, UploadAccepted), description="accepted; follow /api/uploads/{job_id}",
    errors=[400, 408, 413, 415, 422, 429, 503],
    body={"multipart/form-data": {"schema": {"type": "object", "required": ["audio"], "properties": {
        "audio": {"type": "string", "format": "binary"}, "room": {"type": "string"},
        "language": {"type": "string"}}}}})
async def create_upload(desk: UploadDesk, request: Request) -> Response:
    if not desk.slots.take():
        metrics.UPLOADS.labels("busy").inc()
        return error(429, f"{desk.slots.size} upload(s) are being decoded already; try again in a minute")
    try:
        data, filename, room, language = await _read_upload(request, desk)
        upload = await asyncio.to_thread(uploads.prepare, data, desk.max_seconds)
    except uploads.UploadRejected as exc:
        metrics.UPLOADS.labels(exc.outcome).inc()
        _LOGGER.info("Upload refused (%d): %s", exc.status, exc)
        return error(exc.status, str(exc))
    finally:
        desk.slots.give_back()
    try:
        job_id = await asyncio.to_thread(desk.jobs.start, upload, data, filename, room, language)
    except JobRefused as exc:
        metrics.UPLOADS.labels("unavailable").inc()
        _LOGGER.info("Upload refused (%d): %s", exc.status, exc)
        response = error(exc.status, str(exc))
        if exc.retry_after is not None:
            response.headers["Retry-After"] = str(exc.retry_after)
        return response
    metrics.UPLOADS.labels("accepted").inc()
    _LOGGER.info("Upload job %s: %.1f s of %s in %d segment(s) for room %s", job_id, upload.audio_seconds,
                 filename, len(upload.pieces), room)
    return ok(UploadAccepted(job_id=job_id, segments=len(upload.pieces), audio_seconds=upload.audio_seconds), 202,
              Location=f"/jobs/{job_id}")


def _language(value: object) -> str | None:
    """The form's `language` field as a room setting ('auto' or a code), None when absent or empty."""
    if value is None or value == "":
        return None
    try:
        return room_language(value)
    except ValueError as exc:
        raise uploads.UploadRejected(400, "bad_request", str(exc)) from exc


async def _read_upload(request: Request, desk: UploadDesk) -> tuple[bytes, str, str, str | None]:
    """The `audio` field's bytes, its file name, the room and the language asked for (None: the transcriber's
    default); refuses oversize bodies while reading, and bodies that stop arriving."""
    limit = desk.max_bytes
    size = f"{limit / 2**20:.0f} MB" if limit >= 2**20 else f"{limit / 2**10:.0f} KB"
    too_large = uploads.UploadRejected(413, "too_large", f"the upload is larger than the {size} limit")
    limited = capped(request, limit + 64 * 1024, too_large,  # a little room for the form's own fields
                     desk.idle_seconds, functools.partial(uploads.UploadRejected, 408, "stalled"))
    try:
        async with limited.form(max_files=1, max_fields=10) as form:
            audio, room = form.get("audio"), form.get("room") or desk.default_room
            if not isinstance(audio, UploadFile):
                raise uploads.UploadRejected(400, "bad_request", "send the file as multipart/form-data field 'audio'")
            if not isinstance(room, str) or not NAME.match(room):
                raise uploads.UploadRejected(400, "bad_request", ROOM_RULE)
            return await audio.read(), audio.filename or "upload", room, _language(form.get("language"))
    except HTTPException as exc:
        raise uploads.UploadRejected(400, "bad_request", f"malformed form: {exc.detail}") from exc


@guarded
@openapi.operation("A one-time pairing link (valid 15 minutes) to open once on a wall screen",
                   ok=(201, PairingView), description="made; open `link` on the frame", body=PairingRequest,
                   errors=[400, 408, 413])
async def create_pairing(pairs: PairingDesk, request: Request) -> Response:
    wanted = await read_json(pairs.bodies, request, PairingRequest, "pairing", "a pairing request is a few bytes")
    pairing = await asyncio.to_thread(pairs.pairings.create, wanted.name, wanted.room)
    _LOGGER.info("Frame pairing %s (%s) made for room %s", pairing.id, pairing.name, pairing.room)
    # The URL as the dashboard reached this display (its Host passed the Host check), so a tablet scanning it
    # on the same network opens the same address.
    scheme = "https" if request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https" \
        else "http"
    url = f"{scheme}://{request.headers.get('host', request.url.netloc)}{pairing.link}"
    return ok(pairing.model_copy(update={"qr": segno.make(url, error="m").svg_data_uri(scale=4, border=2)}), 201)


@guarded
@openapi.operation("Paired frames (allowed to show captions when a token is set)", ok=(200, [PairingView]))
async def list_pairings(pairs: PairingDesk, request: Request) -> Response:
    return ok(await asyncio.to_thread(pairs.pairings.all))


@guarded
@openapi.operation("Revoke a paired frame; its open sockets are closed and come back without captions",
                   ok=(204, "revoked"), errors=[404])
async def revoke_pairing(pairs: PairingDesk, request: Request) -> Response:
    pairing_id = request.path_params["pairing_id"]
    if not await asyncio.to_thread(pairs.pairings.revoke, pairing_id):
        return error(404, "no such pairing")
    pairs.paired.revoke(pairing_id)  # its open sockets here go now (other displays' within seconds); they come back
    # without captions
    _LOGGER.info("Frame pairing %s revoked", pairing_id)
    return Response(status_code=204)


@guarded
@openapi.operation("An upload job: status queued/transcribing/choosing/painting/done/error, its lines (times, "
                   "speakers), images and the lines each was chosen from", ok=(200, JobView), errors=[400, 404])
async def upload_status(desk: UploadDesk, request: Request) -> Response:
    job = await asyncio.to_thread(desk.jobs.view, job_in_url(request))
    return error(404, NO_SUCH_JOB) if job is None else ok(job)


@guarded
@openapi.operation("The job's transcript to keep: format txt, vtt (WebVTT) or srt",
                   ok=(200, {"content": {m.split(";")[0]: {} for m in captions.FORMATS.values()}}),
                   description="the transcript, as an attachment", errors=[400, 404])
async def upload_transcript(desk: UploadDesk, request: Request) -> Response:
    """The job's transcript to keep: `.txt`, `.vtt` (WebVTT) or `.srt`, with speakers when the engine gave them."""
    fmt = request.path_params["format"]
    if fmt not in captions.FORMATS:
        return error(404, f"transcripts come as {', '.join('.' + f for f in captions.FORMATS)}")
    job = await asyncio.to_thread(desk.jobs.view, job_in_url(request))
    if job is None:
        return error(404, NO_SUCH_JOB)
    return Response(captions.render(job.lines, fmt), media_type=captions.FORMATS[fmt],
                    headers={"Content-Disposition": _attachment(job.filename, fmt)})


def _attachment(filename: str, fmt: str) -> str:
    """The download named after the upload. HTTP headers are Latin-1, and an uploaded name may be in any script
    ('会議.wav' made this a 500): `filename` is an ASCII stand-in every client takes, `filename*` (RFC 6266) the
    name as uploaded, for the clients that read it."""
    stem = "".join(c if c.isalnum() or c in "-_ " else "_" for c in filename.rsplit(".", 1)[0])[:80] or "transcript"
    plain = "".join(c if c.isascii() else "_" for c in stem)
    return f"attachment; filename=\"{plain}.{fmt}\"; filename*=UTF-8''{urllib.parse.quote(f'{stem}.{fmt}')}"


@openapi.operation("AssemblyAI's webhook (header X-Voxframe-Webhook-Secret): a transcript is ready",
                   ok=(200, {"type": "object"}), errors=[400, 401, 404, 408, 413],
                   body={"application/json": {"schema": {"type": "object", "required": ["transcript_id", "status"],
                                                         "properties": {"transcript_id": {"type": "string"},
                                                                        "status": {"type": "string"}}}}})
async def assemblyai_webhook(desk: UploadDesk, request: Request) -> Response:
    """AssemblyAI's "transcript ready" call: checked by its secret header, answered at once; the job owner then
    fetches the transcript. A repeat is harmless; an id that is no job of ours is a 404 and changes nothing."""
    remote = desk.jobs.remote
    if remote is None:
        return error(404, "this display does not use AssemblyAI")
    if not remote.webhook_authentic(request.headers):
        return error(401, "webhook secret header missing or wrong")
    body = await desk.bodies.read(request, CONTROL_MAX_BYTES, "a webhook is a few bytes")
    try:
        delivery = parse_webhook(body)
    except BatchError as exc:
        return error(400, exc.reason)
    if not await asyncio.to_thread(desk.jobs.on_webhook, delivery.transcript_id):
        return error(404, "no upload job has this transcript")
    return JSONResponse({"status": "ok"})


@openapi.operation("200 when connected to the broker, else 503 with the reason", ok=(200, {"type": "object"}),
                   also={503: {"type": "object"}})
async def healthz(controls: Controls, request: Request) -> Response:
    problem = controls.bus.health()
    body = {"status": "ok" if problem is None else "unavailable", **(problem or {})}
    return JSONResponse(body, status_code=200 if problem is None else 503)


@openapi.operation("Prometheus metrics", ok=(200, "text exposition format"))
async def prometheus(_request: Request) -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


@openapi.operation("This document", ok=(200, {"type": "object"}))
async def openapi_document(request: Request) -> Response:
    return JSONResponse(openapi.document(request.app.routes))



def routes(reads: RoomReads, controls: Controls, desk: UploadDesk, pairs: PairingDesk) -> list[BaseRoute]:
    """The API's routes, each bound to the object it needs (`functools.partial`; Starlette unwraps it)."""
    on = functools.partial
    return [
        Route("/api/rooms", on(list_rooms, reads)),
        Route("/api/rooms/{room}/images", on(room_images, reads)),
        Route("/api/rooms/{room}/transcripts", on(room_transcripts, reads)),
        Route("/api/rooms/{room}/prompts", on(room_prompts, reads)),
        Route("/api/rooms/{room}/controls", on(send_control, controls), methods=["POST"]),
        Route("/api/uploads", on(create_upload, desk), methods=["POST"]),
        Route("/api/uploads/{job_id}", on(upload_status, desk)),
        Route("/api/uploads/{job_id}/transcript.{format}", on(upload_transcript, desk)),
        Route(WEBHOOK_PATH, on(assemblyai_webhook, desk), methods=["POST"]),
        Route("/api/pairings", on(list_pairings, pairs)),
        Route("/api/pairings", on(create_pairing, pairs), methods=["POST"]),
        Route("/api/pairings/{pairing_id}", on(revoke_pairing, pairs), methods=["DELETE"]),
        Route("/images/{image_id}", on(image_file, reads)),
        Route("/healthz", on(healthz, controls)),
        Route("/metrics", prometheus),
        Route("/openapi.json", openapi_document),
    ]
