"""Security headers on every HTTP answer: a Content-Security-Policy that lets only this site's own scripts, styles
and connections run, no framing of the dashboard or its pages (clickjacking a mute switch or an upload), and no
MIME sniffing. Frame pages may be embedded (a digital-signage page or a home dashboard shows them in an iframe).
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
           "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'")
_EMBEDDABLE = ("/frame/",)


class SecurityHeaders:
    """ASGI middleware adding the headers to each response start (what an endpoint set itself is kept)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        embeddable = scope["path"].startswith(_EMBEDDABLE)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                ancestors = "*" if embeddable else "'none'"
                headers.setdefault("Content-Security-Policy", f"{_POLICY}; frame-ancestors {ancestors}")
                if not embeddable:
                    headers.setdefault("X-Frame-Options", "DENY")
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "same-origin")
            await send(message)

        await self.app(scope, receive, send_with_headers)
