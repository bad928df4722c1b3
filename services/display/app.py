"""Builds the display: gallery, jobs and bus wired to the ASGI app that serves pages, API and websockets."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from services.display import metrics
from services.display.frames import eink_api, trmnl
from services.display.frames.eink_frames import EinkFrames
from services.display.gallery.db import Database
from services.display.gallery.store import Gallery
from services.display.gallery.variants import Variants
from services.display.homeassistant.backlog import Backlog
from services.display.homeassistant.bridge import MqttBridge, Sources
from services.display.jobs import JobBook, Jobs
from services.display.jobs.assemblyai import AssemblyAIBatch
from services.display.mics import mic_socket
from services.display.mics.board import MicBoard
from services.display.mics.browser import BrowserMics
from services.display.mics.switches import MuteSwitches
from services.display.push.handler import DisplayHandler
from services.display.push.hub import Hub
from services.display.push.room_controls import RoomControls
from services.display.settings import DisplaySettings
from services.display.web import api, pages, sockets
from services.display.web.access import Access
from services.display.web.headers import SecurityHeaders
from services.display.web.hosts import HostCheck
from services.display.web.limits import Slots, SmallBodies, SocketBudget
from services.display.web.pairing import Pairings
from services.display.web.readers import Readers
from services.display.web.revocation import PairedSockets
from shared.bus import Bus
from shared.config import BusSettings
from shared.messages import Control, Heard, MicStatus

_LOGGER = logging.getLogger(__name__)

JOB_CHECK_SECONDS = 5.0
TEXT_PRUNE_SECONDS = 60.0


@dataclass(frozen=True)
class Display:
    """What the display is made of, wired once here: each wing's routes get only the part they need (`_routes`)."""

    settings: DisplaySettings
    bus: Bus
    gallery: Gallery
    jobs: Jobs
    mics: MicBoard
    hub: Hub
    access: Access
    pairings: Pairings
    upload_slots: Slots
    browser_mics: BrowserMics
    variants: Variants
    eink_frames: EinkFrames
    paired: PairedSockets
    readers: Readers
    rooms: RoomControls


def create_app(settings: DisplaySettings, bus_settings: BusSettings, port: int) -> Starlette:
    """The whole display for one process; `port` names its queue unless `display_id` is set."""
    db = Database.open(settings.database_url, settings.data_dir)
    gallery = Gallery(db, settings.gallery_max_images, settings.gallery_max_bytes)
    pairings = Pairings(db)
    access = Access(settings.display_token, settings.allowed_origins, pairings)
    bus = Bus("display", bus_settings)
    switches = MuteSwitches(db, bus)
    hub = Hub(SocketBudget(settings.display_ws_max_clients, settings.display_ws_max_per_address,
                           settings.display_ws_max_anonymous))
    display = Display(settings, bus, gallery,
                      Jobs(JobBook(db, gallery), gallery, bus, settings.job_stall_seconds, _remote_engine(settings),
                           settings.assemblyai_safety_poll_seconds),
                      MicBoard(), hub, access, pairings,
                      Slots(settings.upload_max_concurrent),
                      BrowserMics(bus, SocketBudget(settings.display_mic_max_tabs,
                                                    settings.display_ws_max_per_address), switches),
                      Variants(settings.display_render_threads, settings.display_render_queue), EinkFrames(db),
                      PairedSockets(pairings), Readers(access), RoomControls(hub, gallery, bus))
    handler = DisplayHandler(display.gallery, display.jobs, display.mics, display.hub)
    queue = display.bus.topology.display(settings.queue_id(port))

    def on_status(status: MicStatus) -> None:  # the dashboard's meters, who else listens, the mic's switch, language
        handler.on_status(status)
        display.browser_mics.on_status(status)
        switches.on_status(status, time.monotonic())
        display.rooms.on_status(status)

    def on_control(control: Control) -> None:  # the browser mics' mute switches, and the display's own commands
        display.browser_mics.on_control(control)
        display.rooms.on_control(control)

    display.bus.consume(queue, {**handler.handlers(), MicStatus: on_status}, prefetch=50)
    display.bus.consume(display.bus.topology.browser_mics,
                        {Control: on_control, Heard: display.browser_mics.on_heard})
    display.bus.consume(display.bus.topology.jobs, display.jobs.handlers(), prefetch=20)
    display.bus.every(min(JOB_CHECK_SECONDS, settings.job_stall_seconds / 2), display.jobs.expire_stalled)
    display.bus.every(TEXT_PRUNE_SECONDS, gallery.prune_text)

    bridge = MqttBridge(settings.mqtt_url, settings.mqtt_discovery_prefix, bus_settings.namespace,
                        Sources(gallery, display.mics, lambda: _rooms(display), display.rooms.settings,
                                Backlog(bus_settings), lambda control: display.bus.publish(control, timeout=10)),
                        settings.mqtt_conversation) if settings.mqtt_url else None

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        display.hub.bind(asyncio.get_running_loop())
        count, total = gallery.totals()
        metrics.GALLERY_IMAGES.set(count)
        metrics.GALLERY_BYTES.set(total)
        display.bus.start(on_failure=lambda _exc: os.kill(os.getpid(), signal.SIGTERM))  # exit, to be restarted
        display.browser_mics.start()
        await asyncio.to_thread(display.bus.wait_connected, bus_settings.connect_timeout_seconds + 5)
        display.jobs.start_polling()
        if bridge is not None:
            bridge.start()
        revocations = asyncio.create_task(display.paired.watch())
        _LOGGER.info("Display ready: queue %s, gallery of %d image(s) in %s", queue.name, count,
                     "PostgreSQL" if db.postgres else db.path)
        try:
            yield
        finally:
            revocations.cancel()
            display.jobs.stop_polling()
            if bridge is not None:
                await asyncio.to_thread(bridge.stop)
            display.variants.close()
            display.readers.close()
            await asyncio.to_thread(display.bus.stop, 10)
            db.close()

    app = Starlette(
        routes=_routes(display),
        lifespan=lifespan,
        exception_handlers={HTTPException: _json_error},
        middleware=[Middleware(SecurityHeaders), Middleware(HostCheck, allowed=settings.allowed_hosts)],
    )
    app.state.bus = display.bus  # the CLI's exit status says whether the bus failed
    return app


def _routes(display: Display) -> list[BaseRoute]:
    """Every route, each module's bound to the object its routes need."""
    d, s = display, display.settings
    bodies = SmallBodies(s.http_header_seconds)  # a small body is paced like the headers before it
    frames = eink_api.FrameDesk(d.access, d.eink_frames, d.gallery, d.variants, d.bus, s.default_room, bodies)
    return [
        *pages.routes(d.access, d.pairings, d.jobs),
        *api.routes(api.RoomReads(d.access, d.gallery, d.readers, d.mics, d.variants, s.default_room,
                                  d.rooms.languages),
                    api.Controls(d.access, d.bus, bodies),
                    api.UploadDesk(d.access, d.jobs, d.upload_slots, s.upload_max_bytes, s.upload_max_seconds,
                                   s.upload_room, s.upload_idle_seconds, bodies),
                    api.PairingDesk(d.access, d.pairings, d.paired, bodies)),
        *eink_api.routes(frames),
        *trmnl.routes(frames),
        *sockets.routes(sockets.SocketDesk(d.access, d.hub, d.gallery, d.readers, d.paired, d.mics, d.jobs)),
        *mic_socket.routes(mic_socket.MicDesk(d.access, d.browser_mics, d.paired)),
        Mount("/static", StaticFiles(directory=pages.STATIC_DIR), name="static"),
    ]


def _rooms(display: Display) -> set[str]:
    """Every room Home Assistant should know: seen in the gallery, with a live mic, or the default one."""
    return set(display.gallery.rooms()) | {m.room for m in display.mics.mics()} | {display.settings.default_room}


def _remote_engine(settings: DisplaySettings) -> AssemblyAIBatch | None:
    """AssemblyAI's pre-recorded API for uploads when it is the engine; webhooks when the display is reachable."""
    if settings.stt_engine != "assemblyai":
        return None
    webhook = f"{settings.public_url.rstrip('/')}{api.WEBHOOK_PATH}" if settings.public_url else None
    return AssemblyAIBatch(settings.assemblyai_api_key.get_secret_value(), settings.assemblyai_api_url,
                           webhook_url=webhook)


async def _json_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    return JSONResponse({"error": exc.detail}, status_code=exc.status_code, headers=exc.headers)
