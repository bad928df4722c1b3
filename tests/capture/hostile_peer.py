"""A fake Wyoming peer on real TCP that speaks the real framing (a JSON header line, then the data and payload
bytes it announces) and can say anything at all with it: each connection it accepts plays the next script."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable

from wyoming.audio import AudioChunk
from wyoming.event import Event

Script = Callable[[socket.socket], None]


def frame(header: object, data: bytes = b"", payload: bytes = b"") -> bytes:
    """Bytes as a Wyoming peer writes them; the header is sent as given, lengths included or not."""
    return json.dumps(header).encode() + b"\n" + data + payload


def event_bytes(event: Event) -> bytes:
    data = json.dumps(event.data).encode() if event.data else b""
    header: dict[str, object] = {"type": event.type, "version": "1.5.0"}
    if data:
        header["data_length"] = len(data)
    if event.payload:
        header["payload_length"] = len(event.payload)
    return frame(header, data, event.payload or b"")


def silence(seconds: float = 0.1) -> bytes:
    """A well-formed 16 kHz mono chunk of (near) silence."""
    samples = int(16000 * seconds)
    return event_bytes(AudioChunk(rate=16000, width=2, channels=1, audio=bytes(2 * samples)).event())


def sends(data: bytes) -> Script:
    """A script that sends `data` (as much as the other side takes), then waits for it to hang up."""
    def script(connection: socket.socket) -> None:
        try:
            connection.sendall(data)
            connection.settimeout(30)
            while connection.recv(65536):
                pass
        except OSError:
            pass  # the client hung up on us: what a hostile peer should get
    return script


class HostilePeer:
    """Listens on 127.0.0.1; connection N runs `scripts[N]` (the last one for every further connection)."""

    def __init__(self, scripts: list[Script]) -> None:
        self.scripts = scripts
        self.connections = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.uri = f"tcp://127.0.0.1:{self.listener.getsockname()[1]}"
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return  # closed
            script = self.scripts[min(self.connections, len(self.scripts) - 1)]
            self.connections += 1
            with connection:
                script(connection)

    def close(self) -> None:
        self.listener.close()
