"""`voxframe display`: the frames, dashboard, uploads and gallery, served by uvicorn on one port."""

from __future__ import annotations

import argparse
import logging
import socket

import uvicorn

from services.display.app import create_app
from services.display.settings import DisplaySettings
from services.display.web.access_token import TOKEN_FILE, dashboard_links, is_loopback, stored_token
from services.display.web.logscrub import scrub_web_logs
from shared.bus import check_broker
from shared.config import BusSettings
from shared.http_limits import header_deadline
from shared.service import ServiceSpec
from shared.settings_cli import add_setting_flags, load_settings, settings_from_args

_LOGGER = logging.getLogger(__name__)
WS_MAX_BYTES = 64 * 1024  # a websocket message the server reads at all (a browser mic's frame is 3.2 kB)

# flag → setting; every flag overrides its VOXFRAME_* variable, which overrides the built-in default.
_FLAGS = {
    "--host": "display_host", "--port": "display_port", "--display-id": "display_id", "--data-dir": "data_dir",
    "--database-url": "database_url",
    "--token": "display_token", "--insecure": "display_insecure", "--allowed-origins": "display_allowed_origins",
    "--allowed-hosts": "display_allowed_hosts", "--ws-max-clients": "display_ws_max_clients",
    "--ws-max-per-address": "display_ws_max_per_address", "--upload-max-concurrent": "upload_max_concurrent",
    "--gallery-max-images": "gallery_max_images", "--gallery-max-mb": "gallery_max_mb",
    "--upload-max-mb": "upload_max_mb", "--upload-max-seconds": "upload_max_seconds",
    "--upload-room": "upload_room", "--default-room": "default_room", "--job-stall-seconds": "job_stall_seconds",
    "--ws-max-anonymous": "display_ws_max_anonymous", "--mic-max-tabs": "display_mic_max_tabs",
    "--render-threads": "display_render_threads", "--render-queue": "display_render_queue",
    "--tls-cert": "display_tls_cert", "--tls-key": "display_tls_key",
}


SERVICE = ServiceSpec.from_settings("display", DisplaySettings, "display_port", port_flag="--port")


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser],
                common: argparse.ArgumentParser) -> None:
    p = commands.add_parser("display", parents=[common], formatter_class=argparse.ArgumentDefaultsHelpFormatter,
                            help="serve the frames, dashboard, uploads and gallery (web on --port)")
    add_setting_flags(p, DisplaySettings, _FLAGS)
    p.add_argument("--log-requests", action="store_true", help="log every HTTP request")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    settings = settings_from_args(DisplaySettings, args)
    bus_settings = load_settings(BusSettings)
    check_broker(bus_settings.amqp_url, "display", bus_settings.connect_timeout_seconds)
    listener = _bind(settings.display_host, settings.display_port)
    port = listener.getsockname()[1]
    settings = _with_token(settings, port)
    app = create_app(settings, bus_settings, port)  # opens (and migrates) the database: may take a while
    listener.listen(2048)  # only now: until here a client (a load balancer's check) is refused, not left hanging
    server = uvicorn.Server(uvicorn.Config(
        app, log_config=None, access_log=args.log_requests, ws_per_message_deflate=False, timeout_graceful_shutdown=5,
        ws_max_size=WS_MAX_BYTES, ssl_certfile=settings.display_tls_cert, ssl_keyfile=settings.display_tls_key,
        http=header_deadline(settings.http_header_seconds),
    ))
    if not args.log_requests:  # uvicorn logs every websocket at INFO: too much with many frames
        logging.getLogger("uvicorn.error").setLevel(logging.WARNING)
    scrub_web_logs()
    shown = "localhost" if settings.display_host in ("0.0.0.0", "::") else settings.display_host
    scheme = "https" if settings.display_tls_cert else "http"
    _LOGGER.info("Display on %s://%s:%d/ (frame: /frame/%s, upload: /upload)", scheme, shown, port,
                 settings.default_room)
    if not settings.display_token and not is_loopback(settings.display_host):
        _LOGGER.warning("NO ACCESS TOKEN (--insecure) while listening on %s beyond this machine: anyone on the "
                        "network can read the conversation, send controls and upload audio.", settings.display_host)
    server.run(sockets=[listener])
    return 0 if server.started and app.state.bus.failed is None else 1


def _with_token(settings: DisplaySettings, port: int) -> DisplaySettings:
    """Beyond loopback, the settings with a token: the one set, or the data dir's (made and announced once)."""
    if settings.display_token or settings.display_insecure or is_loopback(settings.display_host):
        return settings
    token, made = stored_token(settings.data_dir)
    where = settings.data_dir / TOKEN_FILE
    if made:
        scheme = "https" if settings.display_tls_cert else "http"
        links = dashboard_links(scheme, settings.display_host, port, token)
        _LOGGER.warning("An access token was made for this display (kept in %s). Open the dashboard once "
                        "with it; pair each frame from there:\n    %s", where, "\n    ".join(links))
    else:
        _LOGGER.info("Access token: the one kept in %s (open the dashboard as /?token=<it> once)", where)
    return settings.model_copy(update={"display_token": token})


def _bind(host: str, port: int) -> socket.socket:
    """Bind before the app exists, so port 0 can name the display's queue after the port it got."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, port))
    listener.set_inheritable(True)
    return listener
