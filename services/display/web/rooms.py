"""The room or upload job a URL names, checked by the rule its messages follow: the API, the pages and the e-ink
pictures refuse the same names (400, one message), so no page is served for a room or job nothing else would take."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection

from services.display.jobs import JOB_ID, JOB_ID_RULE
from services.display.views import NAME, ROOM_RULE


def room_in_url(conn: HTTPConnection) -> str:
    """The `{room}` path parameter; 400 (a malformed address, not a missing room: any good name is a room)."""
    room: str = conn.path_params["room"]
    if not NAME.match(room):
        raise HTTPException(400, ROOM_RULE)
    return room


def job_in_url(conn: HTTPConnection) -> str:
    """The `{job_id}` path parameter; 400 for an id no job can have, before a token is asked for or a row read
    (whether a well-formed one is a job is the caller's 404)."""
    job_id: str = conn.path_params["job_id"]
    if not JOB_ID.fullmatch(job_id):
        raise HTTPException(400, JOB_ID_RULE)
    return job_id
