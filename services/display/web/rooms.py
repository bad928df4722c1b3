"""The room a URL names, checked by the rule every message's room follows: the API, the pages and the e-ink
pictures refuse the same names (400, one message), so no page is served for a room nothing else would take."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection

from services.display.views import NAME, ROOM_RULE


def room_in_url(conn: HTTPConnection) -> str:
    """The `{room}` path parameter; 400 (a malformed address, not a missing room: any good name is a room)."""
    room: str = conn.path_params["room"]
    if not NAME.match(room):
        raise HTTPException(400, ROOM_RULE)
    return room
