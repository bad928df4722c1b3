"""A display reachable from the network always has an access token: one set by the operator, or one made at
first start and kept in the data dir (readable by its owner only), whose dashboard link is printed once, as a
notebook server does. Only loopback, or an explicit `--insecure`, serves without one.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from pathlib import Path

TOKEN_FILE = "display-token"


def is_loopback(host: str) -> bool:
    """Whether listening on `host` keeps the display on this machine."""
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def stored_token(data_dir: Path) -> tuple[str, bool]:
    """The token kept in `data_dir`, made now (random, mode 0600) if there is none; True when it was made now.

    Made with O_EXCL, so a launcher and its display starting together agree on one token."""
    path = data_dir / TOKEN_FILE
    data_dir.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(24)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        kept = path.read_text().strip()
        if not kept:
            raise ValueError(f"{path} is empty: remove it (a new token is made) or write a token in it") from None
        return kept, False
    with os.fdopen(fd, "w") as out:
        out.write(token + "\n")
    return token, True


def dashboard_links(scheme: str, host: str, port: int, token: str) -> list[str]:
    """Where the dashboard opens with the token (once; it is kept in a cookie): this machine's name, or the host."""
    names = [os.uname().nodename, "127.0.0.1"] if host in ("0.0.0.0", "::") else [host]
    return [f"{scheme}://{name if ':' not in name else f'[{name}]'}:{port}/?token={token}" for name in names]
