"""The e-ink frames' HTTP side: the room's current picture for a panel, and e-ink frames made and approved.

A frame that wakes, fetches and sleeps asks one plain URL each time (ESPHome `online_image`, or the URL a
TRMNL is given): `/eink/{room}/{kind}.png` (or `.bmp`). It answers 304 while the room's picture is the same
(ETag and Last-Modified), so a frame on a battery downloads a picture once. With a token set the URL needs the
token or the key of an e-ink frame approved for that room: a room's picture is not the LAN's business.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from dataclasses import dataclass
from email.utils import formatdate, parsedate_to_datetime

from pydantic import Field, field_validator
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from services.display.frames import eink, tiles
from services.display.frames.eink_frames import EinkFrame, EinkFrames
from services.display.gallery.store import Gallery
from services.display.gallery.variants import Variants
from services.display.views import NAME, View
from services.display.web import openapi
from services.display.web.access import Access
from services.display.web.api import error, guarded, ok, read_json
from services.display.web.limits import SmallBodies
from services.display.web.rooms import room_in_url
from shared.bus import Bus
from shared.messages import Command, Control

_LOGGER = logging.getLogger(__name__)

MAX_WALL_PIXELS = 4096 * 4096  # a tiled wall's picture, drawn whole before its tile is cut: 48 MiB of RGB
KEY_HEADER = "access-token"  # what TRMNL's firmware sends its key in; a plain URL carries it as ?key=


@dataclass(frozen=True)
class FrameDesk:
    """What the e-ink and TRMNL routes need: the frames' keys, the room's newest picture, renders, the bus (to
    ask for a frame's inks), and how a request or a frame's log is read."""

    access: Access
    eink_frames: EinkFrames
    gallery: Gallery
    variants: Variants
    bus: Bus
    default_room: str
    bodies: SmallBodies


class EinkFrameRequest(View):
    name: str = Field(min_length=1, max_length=64, description="what the dashboard calls the frame")
    room: str = Field(pattern=NAME.pattern)
    kind: str = Field(description="the panel", json_schema_extra={"enum": list(eink.PANELS)})

    @field_validator("kind")
    @classmethod
    def _known(cls, kind: str) -> str:
        return _panel_kind(kind)


class EinkFrameView(View):
    """An e-ink frame made on the dashboard; `url` (with the frame's key) is shown only in this answer."""

    id: str
    name: str
    room: str
    kind: str
    url: str | None = Field(None, description="what the frame fetches (ESPHome online_image url); keep it secret")


class EinkApproval(View):
    room: str | None = Field(None, pattern=NAME.pattern, description="show this room from now on")
    kind: str | None = Field(None, json_schema_extra={"enum": list(eink.PANELS)})

    @field_validator("kind")
    @classmethod
    def _known(cls, kind: str | None) -> str | None:
        return None if kind is None else _panel_kind(kind)


def _panel_kind(kind: str) -> str:
    if kind not in eink.PANELS:
        raise ValueError(f"kind is one of {', '.join(eink.PANELS)}")
    return kind


def key_of(request: Request) -> str:
    return request.query_params.get("key", "") or request.headers.get(KEY_HEADER, "")


async def ask_for_inks(frames: FrameDesk, frame: EinkFrame) -> None:
    """Tell the prompter that the frame's room is drawn in the frame's inks from now on (`set_finish`): the
    generator is stateless, so the finish must travel on the room's prompts, and the prompter keeps each room's
    settings. A broker that is down costs only the finish: the frame is served a dithered picture meanwhile."""
    control = Control(room=frame.room, source="display", command=Command.SET_FINISH,
                      value=eink.PANELS[frame.kind].finish)
    if not frames.bus.connected:
        _LOGGER.warning("room %s: the broker is down, so its pictures are not drawn in %s's inks", frame.room,
                        frame.kind)
        return
    await asyncio.to_thread(frames.bus.publish, control, timeout=10)


async def frame_of(frames: FrameDesk, request: Request) -> EinkFrame | None:
    """The e-ink frame whose key came with the request (its visit recorded), if any."""
    key = key_of(request)
    return await asyncio.to_thread(frames.eink_frames.frame, key, True) if key else None


def _panel_and_look(request: Request) -> tuple[eink.Panel, eink.Look]:
    panel = eink.PANELS.get(request.path_params["kind"])
    if panel is None:
        raise HTTPException(404, f"no such panel; kinds: {', '.join(eink.PANELS)}")
    try:
        look = eink.Look.parse(dict(request.query_params), request.path_params["format"])
    except eink.BadLook as exc:
        raise HTTPException(400, str(exc)) from exc
    width, height = look.wall(panel)
    if width * height > MAX_WALL_PIXELS:  # refused before a wall that size is ever drawn
        raise HTTPException(400, f"a wall of {look.tile.columns}x{look.tile.rows} {panel.name} panels is "
                                 f"{width}x{height} pixels, over the {MAX_WALL_PIXELS} this display draws")
    return panel, look


@openapi.operation(
    "The room's current picture fitted, toned and dithered for an e-ink panel (only its inks); ETag and "
    "Last-Modified, so a frame that has it gets 304. With a token set: the token, or `?key=` of an e-ink frame "
    "approved for this room",
    ok=(200, {"content": {m: {} for m in eink.FORMATS.values()}}), description="the picture",
    errors=[400, 401, 404], also={304: "the frame has this picture already"},
    query=[openapi.query("orientation", {"enum": ["landscape", "portrait"]}),
           openapi.query("fit", {"enum": ["keep", "cover", "contain"]}, "keep: crop unless that cuts a depicted "
                         "thing, then letterbox"),
           openapi.query("dither", {"enum": list(eink.DITHERS)}),
           openapi.query("saturation", {"type": "number", "minimum": 0, "maximum": 2}),
           openapi.query("tone", {"type": "string"}, "auto, or 0-1: compression into the measured inks' range"),
           openapi.query("inks", {"enum": ["measured", "nominal"]}, "dither against measured panel colours"),
           openapi.query("tile", {"type": "string", "pattern": f"^{tiles.PATTERN}$"}, "COLUMNSxROWS:INDEX: this "
                         "panel's part of one picture across a wall of panels (row by row from the top left)"),
           openapi.query("key", {"type": "string"}, "an e-ink frame's key")])
async def eink_picture(frames: FrameDesk, request: Request) -> Response:
    room = room_in_url(request)
    panel, look = _panel_and_look(request)
    if not frames.access.permits(request):
        frame = await frame_of(frames, request)
        if frame is None or not frame.approved or frame.room != room:
            return error(401, "this needs the display's token or the key of an e-ink frame approved for this room")
    newest = await asyncio.to_thread(frames.gallery.images, room, 1)
    if not newest:
        return error(404, f"no picture in {room} yet")
    image = newest[0]
    received = image.received_at.timestamp()
    headers = {"ETag": f'"eink-{image.id}-{panel.name}-{look.key}"', "Cache-Control": "no-cache",
               "Last-Modified": formatdate(received, usegmt=True), "X-Content-Type-Options": "nosniff"}
    if _unchanged(request, headers["ETag"], received):
        return Response(status_code=304, headers=headers)
    original = frames.gallery.hot_image(image.id) or await asyncio.to_thread(frames.gallery.image_file, image.id)
    if original is None:  # pruned between the two reads
        return error(404, f"no picture in {room} yet")
    data = await frames.variants.made(("eink", image.id, panel.name, look.key),
                                 functools.partial(eink.render, original.data, panel, look, tuple(image.regions)))
    return Response(data, media_type=eink.FORMATS[look.format], headers=headers)


def _unchanged(request: Request, etag: str, modified: float) -> bool:
    """If-None-Match names the ETag, or (without one) If-Modified-Since is no older than the picture."""
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        return etag in (t.strip().removeprefix("W/") for t in if_none_match.split(",")) or if_none_match == "*"
    since = request.headers.get("if-modified-since")
    if since is None:
        return False
    try:
        return int(modified) <= parsedate_to_datetime(since).timestamp()
    except (TypeError, ValueError):
        return False


@openapi.operation("What an e-ink frame shows before it may show its room: its id to approve on the dashboard",
                   ok=(200, {"content": {m: {} for m in eink.FORMATS.values()}}), errors=[400, 401, 404],
                   query=[openapi.query("key", {"type": "string"}, "the frame's key")])
async def eink_card(frames: FrameDesk, request: Request) -> Response:
    panel, look = _panel_and_look(request)
    frame = await frame_of(frames, request)
    if frame is None:
        return error(401, "this needs an e-ink frame's key")
    lines = (("Waiting for the first picture",) if frame.approved
             else ("Approve this frame", "on the Voxframe dashboard:", frame.name))
    data = await asyncio.to_thread(eink.card, panel, look, lines)
    return Response(data, media_type=eink.FORMATS[look.format], headers={"Cache-Control": "no-store"})


@guarded
@openapi.operation("An e-ink frame that fetches a plain URL (ESPHome online_image): its URL, with its key, once",
                   ok=(201, EinkFrameView), body=EinkFrameRequest, errors=[400, 408, 413])
async def create_eink_frame(frames: FrameDesk, request: Request) -> Response:
    wanted = await read_json(frames.bodies, request, EinkFrameRequest, "e-ink frame",
                             "an e-ink frame request is a few bytes")
    issued = await asyncio.to_thread(frames.eink_frames.create, wanted.name, wanted.room, wanted.kind)
    fmt = "bmp" if len(eink.PANELS[wanted.kind].palette) == 2 else "png"
    url = f"{str(request.base_url).rstrip('/')}/eink/{wanted.room}/{wanted.kind}.{fmt}?key={issued.key}"
    _LOGGER.info("E-ink frame %s (%s, %s) made for room %s", issued.frame.pairing_id, wanted.name, wanted.kind,
                 wanted.room)
    await ask_for_inks(frames, issued.frame)
    return ok(EinkFrameView(id=issued.frame.pairing_id, name=wanted.name, room=wanted.room, kind=wanted.kind,
                            url=url), 201)


@guarded
@openapi.operation("Approve an e-ink frame (a TRMNL that called /api/setup), or move it to another room or panel",
                   ok=(200, {"type": "object"}), body=EinkApproval, errors=[400, 404, 408, 413])
async def approve_eink_frame(frames: FrameDesk, request: Request) -> Response:
    wanted = await read_json(frames.bodies, request, EinkApproval, "approval", "an approval is a few bytes",
                             empty=b"{}")
    frame = await asyncio.to_thread(frames.eink_frames.approve, request.path_params["pairing_id"], wanted.room,
                                    wanted.kind)
    if frame is None:
        return error(404, "no such e-ink frame")
    _LOGGER.info("E-ink frame %s approved for room %s (%s)", frame.pairing_id, frame.room, frame.kind)
    await ask_for_inks(frames, frame)
    return ok(EinkFrameView(id=frame.pairing_id, name=frame.name, room=frame.room, kind=frame.kind))



def routes(frames: FrameDesk) -> list[BaseRoute]:
    on = functools.partial
    return [
        Route("/eink/{room}/{kind}.{format}", on(eink_picture, frames)),
        Route("/eink-card/{kind}.{format}", on(eink_card, frames)),
        Route("/api/eink/frames", on(create_eink_frame, frames), methods=["POST"]),
        Route("/api/eink/frames/{pairing_id}/approve", on(approve_eink_frame, frames), methods=["POST"]),
    ]
