"""Who may do what: the optional access token (dashboard, controls, uploads) and the same-origin rule.

Frames stay open (a wall screen has no keyboard); everything that sends commands or audio needs the token
when one is set, given as `Authorization: Bearer …`, the `voxframe_token` cookie, or `?token=` once (a page
visited with it sets the cookie). Browsers may only open sockets or POST from this site's own pages.
"""

from __future__ import annotations

import hmac
from urllib.parse import urlsplit

from starlette.requests import HTTPConnection

COOKIE = "voxframe_token"


class Access:
    def __init__(self, token: str, allowed_origins: frozenset[str]) -> None:
        self.token = token
        self.allowed_origins = allowed_origins

    @property
    def required(self) -> bool:
        return bool(self.token)

    def permits(self, conn: HTTPConnection) -> bool:
        """The token, if one is set, came with the request."""
        if not self.token:
            return True
        header = conn.headers.get("authorization", "")
        offered = (header[7:] if header.lower().startswith("bearer ") else "") or conn.cookies.get(COOKIE, "") \
            or conn.query_params.get("token", "")
        return hmac.compare_digest(offered.encode(), self.token.encode())

    def same_origin(self, conn: HTTPConnection) -> bool:
        """A browser's Origin (when sent) is this host or one allowed; tools that send none are let through."""
        origin = conn.headers.get("origin")
        if origin is None:
            return True
        origin = origin.rstrip("/")
        return origin in self.allowed_origins or urlsplit(origin).netloc == conn.headers.get("host", "")
