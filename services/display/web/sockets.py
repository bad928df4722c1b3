"""Websockets that push live events: one per frame (its room's images), dashboard (everything), upload job."""

from __future__ import annotations

import asyncio

from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket

from services.display.gallery import variants
from services.display.push.hub import DASHBOARD, job_topic, room_topic
from services.display.views import NAME
from services.display.web.access import pictures_only
from services.display.web.pairing import Grant

_POLICY_VIOLATION = 1008
FRAME_HELLO_IMAGES = 20  # recent images a frame gets on (re)connect, to show at once and cycle through


async def frame_socket(websocket: WebSocket) -> None:
    d = websocket.app.state.display
    room = websocket.path_params["room"]
    if not NAME.match(room) or not d.access.same_origin(websocket):
        await websocket.close(_POLICY_VIOLATION)
        return
    # The token, or the cookie of a frame paired for this room, brings captions; any other frame gets pictures.
    entitled = d.access.permits(websocket)
    paired = None if entitled else await asyncio.to_thread(d.access.paired_frame, websocket)
    grant = paired if paired is not None and paired.room == room else None
    captions = entitled or grant is not None
    pairing = _pairing_state(entitled, paired, d.access.has_frame_cookie(websocket))

    async def hello() -> dict[str, object]:
        images = await d.readers.read(captions, d.gallery.images, room, FRAME_HELLO_IMAGES)
        shown = images if captions else [pictures_only(i) for i in images]
        return {"type": "hello", "room": room, "images": [i.model_dump(mode="json") for i in shown],
                "keep": FRAME_HELLO_IMAGES, "widths": list(variants.WIDTHS), "pairing": pairing,
                "paired_room": paired.room if paired else None}

    if grant is None:
        await d.hub.serve(websocket, room_topic(room, captions), "frame", hello, entitled=captions)
        return
    pairing_id = grant.pairing_id
    with d.paired.hold(pairing_id, lambda: d.hub.close_tagged(pairing_id)):  # closed when revoked, anywhere
        await d.hub.serve(websocket, room_topic(room), "frame", hello, tag=pairing_id)


def _pairing_state(entitled: bool, paired: Grant | None, has_cookie: bool) -> str:
    """What the frame shows about its pairing: `open` (no token is set, or it came: nothing to pair), `paired`
    (`paired_room` says to which room), `revoked` (its cookie's pairing is gone) or `unpaired` (pictures only until
    it is paired from the dashboard)."""
    if entitled:
        return "open"
    if paired is not None:
        return "paired"
    return "revoked" if has_cookie else "unpaired"


async def dashboard_socket(websocket: WebSocket) -> None:
    d = websocket.app.state.display
    if not d.access.permits(websocket) or not d.access.same_origin(websocket):
        await websocket.close(_POLICY_VIOLATION)
        return

    async def hello() -> dict[str, object]:
        return {"type": "hello", "mics": [m.model_dump(mode="json") for m in d.mics.mics()]}

    await d.hub.serve(websocket, DASHBOARD, "dashboard", hello)


async def job_socket(websocket: WebSocket) -> None:
    d = websocket.app.state.display
    job_id = websocket.path_params["job_id"]
    if not d.access.permits(websocket) or not d.access.same_origin(websocket):
        await websocket.close(_POLICY_VIOLATION)
        return
    job = await asyncio.to_thread(d.jobs.view, job_id)
    if job is None:
        await websocket.close(_POLICY_VIOLATION, reason="no such upload job")
        return

    async def hello() -> dict[str, object]:
        current = await asyncio.to_thread(d.jobs.view, job_id)
        return {"type": "job", "job": current.model_dump(mode="json") if current else None}

    await d.hub.serve(websocket, job_topic(job_id), "job", hello)


routes = [
    WebSocketRoute("/ws/frame/{room}", frame_socket),
    WebSocketRoute("/ws/dashboard", dashboard_socket),
    WebSocketRoute("/ws/jobs/{job_id}", job_socket),
]
