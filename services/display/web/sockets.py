"""Websockets that push live events: one per frame (its room's images), dashboard (everything), upload job."""

from __future__ import annotations

import asyncio
import functools
from dataclasses import dataclass

from starlette.routing import BaseRoute, WebSocketRoute
from starlette.websockets import WebSocket

from services.display.gallery import variants
from services.display.gallery.store import Gallery
from services.display.jobs import JOB_ID, JOB_ID_RULE, NO_SUCH_JOB, Jobs
from services.display.mics.board import MicBoard
from services.display.push.hub import DASHBOARD, Hub, job_topic, room_topic
from services.display.views import NAME
from services.display.web.access import Access, pictures_only
from services.display.web.pairing import Grant
from services.display.web.readers import Readers
from services.display.web.revocation import PairedSockets

_POLICY_VIOLATION = 1008
FRAME_HELLO_IMAGES = 20  # recent images a frame gets on (re)connect, to show at once and cycle through


@dataclass(frozen=True)
class SocketDesk:
    """What the live sockets need: the hub that pushes, and what each says hello with."""

    access: Access
    hub: Hub
    gallery: Gallery
    readers: Readers
    paired: PairedSockets
    mics: MicBoard
    jobs: Jobs


async def frame_socket(sockets: SocketDesk, websocket: WebSocket) -> None:
    room = websocket.path_params["room"]
    if not NAME.match(room) or not sockets.access.same_origin(websocket):
        await websocket.close(_POLICY_VIOLATION)
        return
    # The token, or the cookie of a frame paired for this room, brings captions; any other frame gets pictures.
    entitled = sockets.access.permits(websocket)
    paired = None if entitled else await asyncio.to_thread(sockets.access.paired_frame, websocket)
    grant = paired if paired is not None and paired.room == room else None
    captions = entitled or grant is not None
    pairing = _pairing_state(entitled, paired, sockets.access.has_frame_cookie(websocket))

    async def hello() -> dict[str, object]:
        images = await sockets.readers.read(captions, sockets.gallery.images, room, FRAME_HELLO_IMAGES)
        shown = images if captions else [pictures_only(i) for i in images]
        return {"type": "hello", "room": room, "images": [i.model_dump(mode="json") for i in shown],
                "keep": FRAME_HELLO_IMAGES, "widths": list(variants.WIDTHS), "pairing": pairing,
                "paired_room": paired.room if paired else None}

    if grant is None:
        await sockets.hub.serve(websocket, room_topic(room, captions), "frame", hello, entitled=captions)
        return
    pairing_id = grant.pairing_id
    with sockets.paired.hold(pairing_id, lambda: sockets.hub.close_tagged(pairing_id)):  # closed when revoked, anywhere
        await sockets.hub.serve(websocket, room_topic(room), "frame", hello, tag=pairing_id)


def _pairing_state(entitled: bool, paired: Grant | None, has_cookie: bool) -> str:
    """What the frame shows about its pairing: `open` (no token is set, or it came: nothing to pair), `paired`
    (`paired_room` says to which room), `revoked` (its cookie's pairing is gone) or `unpaired` (pictures only until
    it is paired from the dashboard)."""
    if entitled:
        return "open"
    if paired is not None:
        return "paired"
    return "revoked" if has_cookie else "unpaired"


async def dashboard_socket(sockets: SocketDesk, websocket: WebSocket) -> None:
    if not sockets.access.permits(websocket) or not sockets.access.same_origin(websocket):
        await websocket.close(_POLICY_VIOLATION)
        return

    async def hello() -> dict[str, object]:
        return {"type": "hello", "mics": [m.model_dump(mode="json") for m in sockets.mics.mics()]}

    await sockets.hub.serve(websocket, DASHBOARD, "dashboard", hello)


async def job_socket(sockets: SocketDesk, websocket: WebSocket) -> None:
    job_id = websocket.path_params["job_id"]
    if not sockets.access.permits(websocket) or not sockets.access.same_origin(websocket):
        await websocket.close(_POLICY_VIOLATION)
        return
    if not JOB_ID.fullmatch(job_id):
        await websocket.close(_POLICY_VIOLATION, reason=JOB_ID_RULE)
        return
    if not await asyncio.to_thread(sockets.jobs.known, job_id):
        await websocket.close(_POLICY_VIOLATION, reason=NO_SUCH_JOB)
        return

    async def hello() -> dict[str, object]:
        current = await asyncio.to_thread(sockets.jobs.view, job_id)
        return {"type": "job", "job": current.model_dump(mode="json") if current else None}

    await sockets.hub.serve(websocket, job_topic(job_id), "job", hello)



def routes(sockets: SocketDesk) -> list[BaseRoute]:
    on = functools.partial
    return [
        WebSocketRoute("/ws/frame/{room}", on(frame_socket, sockets)),
        WebSocketRoute("/ws/dashboard", on(dashboard_socket, sockets)),
        WebSocketRoute("/ws/jobs/{job_id}", on(job_socket, sockets)),
    ]
