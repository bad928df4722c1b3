"""The HTML pages: frame, dashboard, upload and job. They are static files; their scripts read the URL and
talk to the API and websockets. Pages that can change things sit behind the access token when one is set."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from importlib import resources
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import Route

from services.display.access import COOKIE

STATIC_DIR = Path(str(resources.files("services.display").joinpath("static")))
_NO_CACHE = {"Cache-Control": "no-cache"}
_COOKIE_SECONDS = 90 * 24 * 3600


def _page(name: str, protected: bool) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        access = request.app.state.display.access
        if protected and access.required:
            if not access.permits(request):
                return FileResponse(STATIC_DIR / "login.html", status_code=401, headers=_NO_CACHE)
            if "token" in request.query_params:  # keep it in a cookie, not in the address bar or history
                response = RedirectResponse(str(request.url.remove_query_params("token")), status_code=303)
                response.set_cookie(COOKIE, request.query_params["token"], max_age=_COOKIE_SECONDS, httponly=True,
                                    samesite="strict")
                return response
        return FileResponse(STATIC_DIR / name, headers=_NO_CACHE)

    endpoint.__name__ = name.removesuffix(".html") + "_page"
    return endpoint


routes = [
    Route("/", _page("dashboard.html", protected=True)),
    Route("/frame/{room}", _page("frame.html", protected=False)),
    Route("/upload", _page("upload.html", protected=True)),
    Route("/jobs/{job_id}", _page("job.html", protected=True)),
]
