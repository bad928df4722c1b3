"""Local HTTP servers for the generator's tests: stand-ins that speak the remote GPU servers' documented wire
shapes, and the real gpu-server app under uvicorn on a free port."""

from __future__ import annotations

import base64
import email.parser
import email.policy
import io
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

import uvicorn
from PIL import Image

from tests.support import free_port, wait_for

Reply = tuple[int, Any] | tuple[int, Any, dict[str, str]]  # status, JSON body (bytes as they are), extra headers
Route = Callable[[dict[str, Any]], Reply]
Download = Callable[[BaseHTTPRequestHandler], None]  # answers a GET by writing to the handler itself


def image_b64(image_format: str = "JPEG", size: tuple[int, int] = (96, 64), color: str = "teal") -> str:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, image_format)
    return base64.b64encode(buffer.getvalue()).decode()


class StandIn:
    """A threaded HTTP server answering JSON routes (asked in JSON or multipart form); `requests` records (path,
    body, headers) of each POST, `downloads` (path, headers) of each GET served by `gets` (image hosts, redirects,
    slow or endless bodies)."""

    def __init__(self, routes: dict[str, Route], gets: dict[str, Download] | None = None) -> None:
        self.routes = routes
        self.gets = gets or {}
        self.requests: list[tuple[str, dict[str, Any], dict[str, str]]] = []
        self.downloads: list[tuple[str, dict[str, str]]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.downloads.append((self.path, dict(self.headers)))
                serve = outer.gets.get(self.path)
                if serve is None:
                    self.send_error(404)
                else:
                    serve(self)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                raw, content_type = self.rfile.read(length), self.headers.get("Content-Type", "")
                body = form(content_type, raw) if content_type.startswith("multipart/") else json.loads(raw or b"{}")
                outer.requests.append((self.path, body, dict(self.headers)))
                route = outer.routes.get(self.path)
                status, reply, *extra = route(body) if route else (404, {"error": "no such route"})
                data = reply if isinstance(reply, bytes) else json.dumps(reply).encode()
                self.send_response(status)
                for name, value in (extra[0] if extra else {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> Self:
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def form(content_type: str, raw: bytes) -> dict[str, Any]:
    """A multipart/form-data body as a server reads it: each field's text, each file as (filename, type, bytes)."""
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + raw)
    fields: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        filename = part.get_filename()
        fields[str(name)] = part.get_content() if filename is None else (
            filename, part.get_content_type(), part.get_payload(decode=True))
    return fields


def closed_port_url() -> str:
    """A URL nobody listens on: the port was free a moment ago and is closed again."""
    return f"http://127.0.0.1:{free_port()}"


@contextmanager
def serve_app(app: Any) -> Iterator[str]:
    """Run an ASGI app under uvicorn on a free port in a thread; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: server.started, timeout=10, message="uvicorn to start")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
