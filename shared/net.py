"""Whether a host name or address stays on this machine: what may go without a token or TLS, and what may not."""

from __future__ import annotations

import ipaddress


def is_loopback_host(host: str | None) -> bool:
    """`localhost`, 127.0.0.0/8 and ::1; any other name (and 0.0.0.0, ::, the empty string) may reach further."""
    if host is None:
        return False
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
