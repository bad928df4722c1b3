"""TRMNL's bring-your-own-server protocol, so a TRMNL (or its firmware on other panels) is a frame of a room.

The device swaps its MAC for a key (`GET /api/setup`), then on each wake asks what to show (`GET /api/display`
→ `image_url`, `filename`, `refresh_rate`), downloads the image only when `filename` changed, and sleeps for
`refresh_rate` seconds. The server picks that: sooner while the room is talking, until morning at night.
Shapes as usetrmnl/firmware's README documents them.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import re
from datetime import datetime, timedelta

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from services.display.frames import eink
from services.display.frames.eink_api import FrameDesk, ask_for_inks, frame_of
from services.display.frames.eink_frames import EinkFrame
from services.display.web import openapi

_LOGGER = logging.getLogger(__name__)

MAC = re.compile(r"^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5,7}$")
DAY_SECONDS = 15 * 60  # a picture changes every few minutes while people talk; a frame need not wake for each
TALKING_SECONDS = 5 * 60
TALKING_WITHIN = timedelta(minutes=10)  # a room heard this recently is talking
NIGHT_HOURS = (22, 7)  # from 22:00 the frame sleeps until 07:00 (the display's local time)
PENDING_SECONDS = 60  # waiting for approval: look again soon
MAX_PENDING = 32  # TRMNLs waiting for approval at once; anyone on the LAN can call /api/setup
LOG_MAX_BYTES = 64 * 1024


def refresh_seconds(now: datetime, last_heard: datetime | None) -> int:
    """How long a frame sleeps: until the morning at night, shorter while the room is talking."""
    start, end = NIGHT_HOURS
    if now.hour >= start or now.hour < end:
        morning = now.replace(hour=end, minute=0, second=0, microsecond=0)
        if morning <= now:
            morning += timedelta(days=1)
        return max(DAY_SECONDS, int((morning - now).total_seconds()))
    if last_heard is not None and now - last_heard <= TALKING_WITHIN:
        return TALKING_SECONDS
    return DAY_SECONDS


def _format(panel: eink.Panel) -> str:
    """TRMNL's firmware draws 1-bit BMPs on every version; PNG for panels with more inks."""
    return "bmp" if len(panel.palette) == 2 else "png"


@openapi.operation("TRMNL: swap the device's MAC (header ID) for a key; with a token set the frame then waits for "
                   "approval on the dashboard", ok=(200, {"type": "object"}), errors=[400, 429])
async def setup(frames: FrameDesk, request: Request) -> Response:
    device = request.headers.get("id", "")
    if not MAC.match(device):
        return JSONResponse({"status": 400, "api_key": None, "friendly_id": None, "image_url": None,
                             "message": "send the device's MAC address in the ID header"}, status_code=400)
    approved = not frames.access.required  # no token: everything is open anyway, so the default room at once
    if not approved and await asyncio.to_thread(frames.eink_frames.pending) >= MAX_PENDING:
        return JSONResponse({"status": 429, "api_key": None, "friendly_id": None, "image_url": None,
                             "message": "too many frames wait for approval; approve or remove some"}, 429)
    issued = await asyncio.to_thread(frames.eink_frames.setup, device.upper(), frames.default_room, approved)
    _LOGGER.info("TRMNL %s set up (%s)", issued.frame.name, "approved for " + issued.frame.room if approved
                 else "waiting for approval")
    if approved:
        await ask_for_inks(frames, issued.frame)
    panel = eink.PANELS[issued.frame.kind]
    return JSONResponse({"status": 200, "api_key": issued.key, "friendly_id": issued.friendly_id,
                         "image_url": _card_url(request, panel, issued.key), "filename": "setup",
                         "message": "approve this frame on the dashboard" if not approved else "ready"})


@openapi.operation("TRMNL: what to show now (`image_url`, `filename`: download only when it changed) and how "
                   "long to sleep (`refresh_rate`, seconds)", ok=(200, {"type": "object"}))
async def display(frames: FrameDesk, request: Request) -> Response:
    frame = await frame_of(frames, request)
    if frame is None:  # unknown or revoked: the firmware sets itself up again
        return JSONResponse({"status": 500, "image_url": None, "filename": None, "refresh_rate": PENDING_SECONDS,
                             "reset_firmware": True, "update_firmware": False, "firmware_url": None})
    key, panel = request.headers.get("access-token", ""), eink.PANELS[frame.kind]
    image_url, filename, refresh = await _showing(frames, request, frame, key, panel)
    return JSONResponse({"status": 0, "image_url": image_url, "filename": filename, "refresh_rate": refresh,
                         "reset_firmware": False, "update_firmware": False, "firmware_url": None})


async def _showing(frames: FrameDesk, request: Request, frame: EinkFrame, key: str,
                   panel: eink.Panel) -> tuple[str, str, int]:
    """(image_url, filename, refresh_rate) for a frame: its room's picture, or a card until there is one."""
    if not frame.approved:
        return _card_url(request, panel, key), f"pending-{frame.pairing_id[:8]}", PENDING_SECONDS
    newest, heard = await asyncio.gather(asyncio.to_thread(frames.gallery.images, frame.room, 1),
                                         asyncio.to_thread(frames.gallery.transcripts, frame.room, 1))
    refresh = refresh_seconds(datetime.now().astimezone(), heard[0].created_at if heard else None)
    if not newest:
        return _card_url(request, panel, key), "waiting", refresh
    look = eink.Look(format=_format(panel))
    url = f"{_base(request)}/eink/{frame.room}/{panel.name}.{look.format}?key={key}"
    return url, f"{newest[0].id}-{panel.name}-{look.key}", refresh


@openapi.operation("TRMNL: the device's log lines (kept in the display's log, not stored)", ok=(204, "taken"),
                   errors=[400, 401, 408, 413])
async def log(frames: FrameDesk, request: Request) -> Response:
    frame = await frame_of(frames, request)
    if frame is None:
        return JSONResponse({"status": 401, "message": "unknown Access-Token"}, status_code=401)
    body = await frames.bodies.read(request, LOG_MAX_BYTES, f"a log is at most {LOG_MAX_BYTES} bytes")
    try:
        entries = json.loads(body)
    except (ValueError, RecursionError):
        return JSONResponse({"status": 400, "message": "the log is not JSON"}, status_code=400)
    _LOGGER.info("TRMNL %s log: %s", frame.name, json.dumps(entries)[:2000])
    return Response(status_code=204)


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _card_url(request: Request, panel: eink.Panel, key: str) -> str:
    return f"{_base(request)}/eink-card/{panel.name}.{_format(panel)}?key={key}"



def routes(frames: FrameDesk) -> list[BaseRoute]:
    on = functools.partial
    return [
        Route("/api/setup", on(setup, frames)),
        Route("/api/display", on(display, frames)),
        Route("/api/log", on(log, frames), methods=["POST"]),
    ]
