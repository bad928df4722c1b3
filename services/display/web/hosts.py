"""The Host check that stops DNS rebinding: a page on attacker.example whose name is re-pointed at this display
would pass a same-origin test (its Origin matches its own Host), so the Host itself must be one of ours.

Allowed: loopback names, IP literals (rebinding needs a DNS name the attacker controls, and the browser treats
a literal as an origin of its own), this machine's host names, and `VOXFRAME_DISPLAY_ALLOWED_HOSTS` (names a
reverse proxy or DNS gives the display; `*` allows any). `/healthz` and `/metrics` carry no conversation and
are scraped by service name (Docker, Prometheus), so they are not checked.
"""

from __future__ import annotations

import ipaddress
import json
import socket

from starlette.types import ASGIApp, Receive, Scope, Send

_UNCHECKED = ("/healthz", "/metrics")
_POLICY_VIOLATION = 1008


def machine_names() -> frozenset[str]:
    """The names this machine calls itself (short, fully qualified, mDNS)."""
    short = socket.gethostname().lower()
    return frozenset({short, socket.getfqdn().lower(), f"{short.split('.')[0]}.local", "localhost"})


def host_name(host_header: str) -> str:
    """`Name:port`, `[v6]:port` or a bare name → the lower-case name or address, without port or brackets."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


class HostCheck:
    """ASGI middleware: a request or websocket whose Host is not one of ours gets 421 (or a policy close)."""

    def __init__(self, app: ASGIApp, allowed: frozenset[str]) -> None:
        self.app = app
        self.allowed = allowed | machine_names()
        self.any = "*" in allowed

    def allows(self, host_header: str) -> bool:
        name = host_name(host_header)
        return self.any or name in self.allowed or name.endswith(".localhost") or _is_ip(name)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or scope["path"] in _UNCHECKED:
            await self.app(scope, receive, send)
            return
        host = dict(scope["headers"]).get(b"host", b"").decode("latin-1")
        if self.allows(host):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": _POLICY_VIOLATION})
            return
        body = json.dumps({"error": f"this display is not served as {host_name(host)!r}; add the name to "
                                    "VOXFRAME_DISPLAY_ALLOWED_HOSTS if it is yours"}).encode()
        await send({"type": "http.response.start", "status": 421,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
