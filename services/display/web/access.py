"""Who may do what: the optional access token, frame pairings, and the same-origin rule.

With a token set, everything that sends commands or audio, and everything that carries the conversation's
words (transcripts, prompts, captions), needs it: `Authorization: Bearer …`, the `voxframe_token` cookie, or
`?token=` once (a page visited with it sets the cookie). Frames stay open without it but get pictures only,
unless the screen was paired (`pairing.py`): its frame cookie grants its own room's captions and mic, and no
other room's. Browsers may only open sockets or POST from this site's own pages.
"""

from __future__ import annotations

import hmac
from urllib.parse import urlsplit

from starlette.requests import HTTPConnection
from starlette.responses import Response

from services.display.views import ImageView
from services.display.web.pairing import Grant, Pairings

COOKIE = "voxframe_token"
TOKEN_PARAM = "token"  # `?token=`: any request may carry it
FRAME_COOKIE = "voxframe_frame"
FRAME_COOKIE_SECONDS = 400 * 24 * 3600  # the most browsers keep a cookie; each visit of the frame renews it


class Access:
    def __init__(self, token: str, allowed_origins: frozenset[str], pairings: Pairings) -> None:
        self.token = token
        self.allowed_origins = allowed_origins
        self.pairings = pairings

    @property
    def required(self) -> bool:
        return bool(self.token)

    def permits(self, conn: HTTPConnection) -> bool:
        """The token, if one is set, came with the request."""
        if not self.token:
            return True
        header = conn.headers.get("authorization", "")
        offered = (header[7:] if header.lower().startswith("bearer ") else "") or conn.cookies.get(COOKIE, "") \
            or conn.query_params.get(TOKEN_PARAM, "")
        return hmac.compare_digest(offered.encode(), self.token.encode())

    def paired_frame(self, conn: HTTPConnection, seen: bool = False) -> Grant | None:
        """What a paired frame's cookie grants (blocking: a database read); None without a valid one."""
        return self.pairings.frame(conn.cookies.get(FRAME_COOKIE, ""), seen=seen)

    def has_frame_cookie(self, conn: HTTPConnection) -> bool:
        """A frame cookie came (unchecked: `paired_frame` reads whether it is valid)."""
        return bool(conn.cookies.get(FRAME_COOKIE))

    def room_grant(self, conn: HTTPConnection, room: str) -> Grant | None:
        """The pairing that grants `room` to this connection's frame cookie, if any (blocking)."""
        grant = self.paired_frame(conn)
        return grant if grant is not None and grant.room == room else None

    def may_read_room(self, conn: HTTPConnection, room: str) -> bool:
        """May see `room`'s words: no token is set, the token came, or a frame paired for this room (blocking)."""
        return self.permits(conn) or self.room_grant(conn, room) is not None

    def same_origin(self, conn: HTTPConnection) -> bool:
        """A browser's Origin (when sent) is this host or one allowed; tools that send none are let through.

        The Host itself is checked against the names this display answers to first (`hosts.py`)."""
        origin = conn.headers.get("origin")
        if origin is None:
            return True
        origin = origin.rstrip("/")
        return origin in self.allowed_origins or urlsplit(origin).netloc == conn.headers.get("host", "")


def set_cookie(response: Response, conn: HTTPConnection, name: str, value: str, max_age: int) -> None:
    """HttpOnly, SameSite=Strict, and Secure when the page came over HTTPS (directly or via a proxy)."""
    secure = conn.url.scheme in ("https", "wss") or conn.headers.get("x-forwarded-proto", "").lower() == "https"
    response.set_cookie(name, value, max_age=max_age, httponly=True, samesite="strict", secure=secure)


def pictures_only(image: ImageView) -> ImageView:
    """The image without a word of the conversation: no prompt, keywords, excerpt, transcripts or captions."""
    return image.model_copy(update={"prompt": "", "keywords": [], "excerpt": "", "transcripts": [], "depicted": [],
                                     "scene": None})
