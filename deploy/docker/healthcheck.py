"""Container health: exit 0 only when the worker's `/healthz` answers 200 (it is connected to the broker).

The image runs every worker, so the URL comes from `VOXFRAME_HEALTHCHECK_URL`, else from the worker's
metrics port (`VOXFRAME_METRICS_PORT`, else the stage's default, read from the command line of PID 1).
Stdlib only: it runs every 15 s and must start fast.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request
from pathlib import Path

DEFAULT_PORTS = {"capture": 9101, "transcriber": 9102, "prompter": 9103, "generator": 9104, "display": 8080}


def health_url(environ: dict[str, str], argv: list[str]) -> str:
    if url := environ.get("VOXFRAME_HEALTHCHECK_URL"):
        return url
    stage = next((arg for arg in argv if arg in DEFAULT_PORTS), None)
    if stage == "display":
        port = environ.get("VOXFRAME_DISPLAY_PORT") or DEFAULT_PORTS["display"]
    else:
        port = environ.get("VOXFRAME_METRICS_PORT") or DEFAULT_PORTS.get(stage or "", 0)
    if not port or str(port) == "0":
        raise SystemExit(f"healthcheck: cannot tell the worker's port from {argv!r}; set VOXFRAME_HEALTHCHECK_URL")
    return f"http://127.0.0.1:{port}/healthz"


def main() -> int:
    argv = Path("/proc/1/cmdline").read_bytes().decode(errors="replace").split("\0")
    url = health_url(dict(os.environ), argv)
    try:
        with urllib.request.urlopen(url, timeout=4) as response:
            return 0 if response.status == 200 else 1
    except urllib.error.HTTPError as exc:
        print(f"healthcheck: {url} answered {exc.code}: {exc.read(300).decode(errors='replace')}", file=sys.stderr)
    except OSError as exc:
        print(f"healthcheck: {url} unreachable: {exc}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
