"""The HTML pages: frame, dashboard, browser mic, upload and job. They are static files; their scripts read the URL and
talk to the API and websockets. Pages that can change things sit behind the access token when one is set;
frames are open, and `/pair/<code>` turns a one-time link from the dashboard into a paired frame's cookie."""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Awaitable, Callable
from importlib import resources
from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from services.display.frames import tiles
from services.display.jobs import NO_SUCH_JOB, Jobs
from services.display.web.access import COOKIE, FRAME_COOKIE, FRAME_COOKIE_SECONDS, TOKEN_PARAM, Access, set_cookie
from services.display.web.pairing import Pairings
from services.display.web.rooms import job_in_url, room_in_url
from shared.messages.control import IMAGES_PER_PROMPT, STYLES, WINDOW_SECONDS
from shared.messages.envelope import NAME_CHARS, NAME_MAX
from shared.messages.scene import SCENE_MODES

STATIC_DIR = Path(str(resources.files("services.display").joinpath("static")))
_NO_CACHE = {"Cache-Control": "no-cache"}
_COOKIE_SECONDS = 90 * 24 * 3600


def _page(access: Access, name: str, protected: bool, paired_room: bool = False,
          jobs: Jobs | None = None) -> Callable[[Request], Awaitable[Response]]:
    """A static page; `protected`: behind the token, or (`paired_room`) a frame paired for the page's room, a room
    the API would take (400 before the token is asked for: the address is wrong whoever asks). A job's page
    (`jobs`) is for a job there is, as the API answers: 404 after the token, so no one else learns which exist."""

    async def endpoint(request: Request) -> Response:
        room = room_in_url(request) if "room" in request.path_params else None
        job_id = job_in_url(request) if jobs is not None else None
        if protected and access.required:
            if not access.permits(request) and not (room is not None and paired_room and await asyncio.to_thread(
                    access.room_grant, request, room) is not None):
                return FileResponse(STATIC_DIR / "login.html", status_code=401, headers=_NO_CACHE)
            if TOKEN_PARAM in request.query_params:  # keep it in a cookie, not in the address bar or history
                response = RedirectResponse(str(request.url.remove_query_params(TOKEN_PARAM)), status_code=303)
                set_cookie(response, request, COOKIE, request.query_params[TOKEN_PARAM], _COOKIE_SECONDS)
                return response
        if jobs is not None and job_id is not None and not await asyncio.to_thread(jobs.known, job_id):
            raise HTTPException(404, NO_SUCH_JOB)
        return FileResponse(STATIC_DIR / name, headers=_NO_CACHE)

    endpoint.__name__ = name.removesuffix(".html") + "_page"
    return endpoint


async def frame_page(access: Access, request: Request) -> Response:
    """Open to every screen showing a room the API would take; a paired one's cookie is renewed on each visit, so
    it never lapses while in use."""
    room_in_url(request)
    response = FileResponse(STATIC_DIR / "frame.html", headers=_NO_CACHE)
    if access.required and await asyncio.to_thread(access.paired_frame, request, True) is not None:
        set_cookie(response, request, FRAME_COOKIE, request.cookies[FRAME_COOKIE], FRAME_COOKIE_SECONDS)
    return response


async def pair_page(access: Access, pairings: Pairings, request: Request) -> Response:
    """A pairing link opened on the frame. GET (or HEAD) answers a page that pairs, spending nothing: a link
    preview or a mail scanner fetches it first and runs no script. The page POSTs back (by script, or its
    button), which trades the code for this screen's frame cookie; then the frame shows."""
    code = request.path_params["code"]
    if request.method != "POST":
        if not await asyncio.to_thread(pairings.pending, code):
            return FileResponse(STATIC_DIR / "pair-invalid.html", status_code=404, headers=_NO_CACHE)
        return FileResponse(STATIC_DIR / "pair.html", headers={"Cache-Control": "no-store"})
    if not access.same_origin(request):  # a foreign page cannot pair this browser to a link it holds
        return Response("cross-site request refused: origin does not match this host", 403)
    paired = await asyncio.to_thread(pairings.redeem, code)
    if paired is None:
        return FileResponse(STATIC_DIR / "pair-invalid.html", status_code=404, headers=_NO_CACHE)
    response = RedirectResponse(f"/frame/{paired.room}", status_code=303)
    set_cookie(response, request, FRAME_COOKIE, paired.key, FRAME_COOKIE_SECONDS)
    return response


def rules() -> dict[str, object]:
    """The server's rules that page scripts apply too, stated once in Python and served, never restated in JS."""
    # An input's `pattern` compiles with the v flag, where a class's closing "-" must be escaped.
    input_pattern = f"[{NAME_CHARS.removesuffix('-')}\\-]{{1,{NAME_MAX}}}"
    return {"name": {"chars": NAME_CHARS, "max": NAME_MAX, "input_pattern": input_pattern},
            "controls": {"window_seconds": dict(zip(("min", "max"), WINDOW_SECONDS, strict=True)),
                         "images_per_prompt": dict(zip(("min", "max"), IMAGES_PER_PROMPT, strict=True)),
                         "styles": list(STYLES), "scene_modes": list(SCENE_MODES)},
            "tiles": {"pattern": tiles.PATTERN, "max_side": tiles.MAX_SIDE}}


async def rules_script(_request: Request) -> Response:
    """`/rules.js`: the rules as an ES module, so page scripts import them like any other module. Open to all:
    they are facts about the API, no secrets."""
    body = "".join(f"export const {key} = {json.dumps(value)};\n" for key, value in rules().items())
    return Response(body, media_type="text/javascript", headers=_NO_CACHE)



def routes(access: Access, pairings: Pairings, jobs: Jobs) -> list[BaseRoute]:
    return [
        Route("/rules.js", rules_script),
        Route("/", _page(access, "dashboard.html", protected=True)),
        Route("/frame/{room}", functools.partial(frame_page, access)),
        Route("/pair/{code}", functools.partial(pair_page, access, pairings), methods=["GET", "POST"]),
        Route("/mic/{room}", _page(access, "mic.html", protected=True, paired_room=True)),
        Route("/upload", _page(access, "upload.html", protected=True)),
        Route("/jobs/{job_id}", _page(access, "job.html", protected=True, jobs=jobs)),
    ]
