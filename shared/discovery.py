"""Wyoming satellites and mic services on the LAN: found by zeroconf (`_wyoming._tcp.local.`), then asked what
they are (`describe` → `info`), because speech-to-text, text-to-speech and wake-word services advertise there too.

Used by `voxframe capture --discover` and `voxframe run --discover`, which only list what they find: anyone on
the LAN can answer mDNS, so a satellite is heard only once the operator names it (`--wyoming tcp://HOST:PORT`).
The `describe` asked here reads the answer with the bounded reader, so a hostile answer costs nothing.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from dataclasses import dataclass

from wyoming.event import write_event
from wyoming.info import Describe, Info
from zeroconf import ServiceBrowser, ServiceStateChange, Zeroconf

from shared.wyoming_events import read_event

SERVICE_TYPE = "_wyoming._tcp.local."
_ASK_SECONDS = 2.0


@dataclass(frozen=True, order=True)
class Found:
    name: str  # the zeroconf instance name (a satellite's defaults to its MAC address)
    uri: str  # tcp://ADDRESS:PORT, for `--wyoming`
    kind: str  # "satellite" or "mic"


def discover(seconds: float = 3.0) -> list[Found]:
    """The satellites and mic services that announce themselves within `seconds`, sorted by name."""
    found = (_identify(name, uri) for name, uri in _browse(seconds).items())
    return sorted(f for f in found if f is not None)


def _browse(seconds: float) -> dict[str, str]:
    names: set[str] = set()

    def on_change(zeroconf: Zeroconf, service_type: str, name: str, state_change: ServiceStateChange) -> None:
        if state_change is ServiceStateChange.Added:
            names.add(name)

    zeroconf = Zeroconf()
    try:
        browser = ServiceBrowser(zeroconf, SERVICE_TYPE, handlers=[on_change])
        time.sleep(seconds)  # the listening window: answers come when they come
        browser.cancel()
        uris = {}
        for name in sorted(names):
            info = zeroconf.get_service_info(SERVICE_TYPE, name, timeout=int(_ASK_SECONDS * 1000))
            if info is not None and info.port and info.parsed_addresses():
                address = ipaddress.ip_address(info.parsed_addresses()[0])
                host = f"[{address}]" if address.version == 6 else str(address)
                uris[name.removesuffix(f".{SERVICE_TYPE}")] = f"tcp://{host}:{info.port}"
        return uris
    finally:
        zeroconf.close()


def _identify(name: str, uri: str) -> Found | None:
    """A satellite or mic service by its `info` answer; None for any other service, or one that did not answer.
    A satellite answers `describe` even while it streams to another client, and is not disturbed by it."""
    host, port = uri.removeprefix("tcp://").rsplit(":", 1)
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=_ASK_SECONDS) as connection, \
                connection.makefile("rb") as reader, connection.makefile("wb") as writer:
            write_event(Describe().event(), writer)
            deadline = time.monotonic() + _ASK_SECONDS  # a mic service streams audio, maybe before answering
            while time.monotonic() < deadline and (event := read_event(reader)) is not None:
                if Info.is_type(event.type):
                    info = Info.from_event(event)
                    kind = "satellite" if info.satellite else "mic" if info.mic else None
                    return Found(name, uri, kind) if kind else None
    except (OSError, KeyError, TypeError, ValueError):
        return None
    return None
