"""`voxframe capture`: one process per microphone (or replayed file), publishing speech segments for a room."""

from __future__ import annotations

import argparse
import contextlib
import functools
import logging
import signal
import threading
from dataclasses import fields
from pathlib import Path

from pydantic import Field

from services.capture.handler import CaptureHandler
from services.capture.metrics import COUNTERS, DEVICE_UP, REOPENS, label_mic
from services.capture.sources import AudioSource, SourceError
from services.capture.watchdog import Watchdog
from shared.audio import Segmenter, SegmenterOptions
from shared.audio.arbiter import NOTICE_SECONDS, Arbiter, ArbitrationOptions, hold_seconds_for, uncovered_seconds_for
from shared.audio.outbox import ArbitratedOutbox, SegmentOutbox
from shared.bus import Bus
from shared.config import SETTINGS_CONFIG, BusSettings, MetricsServerSettings
from shared.messages import Control, EndReason, Heard, MicStatus
from shared.messages.envelope import Name
from shared.retry import Backoff, Interrupted, Retry
from shared.service import ServiceSpec
from shared.settings_cli import add_setting_flag, add_setting_flags, kebab_flags, load_settings, settings_from_args

_LOGGER = logging.getLogger(__name__)
_FIRST_RETRY_SECONDS = 0.5
_MAX_RETRY_SECONDS = 30.0

_SEGMENTER = SegmenterOptions()  # the segmenter's and the arbiter's defaults are the settings' defaults
_SEGMENTER_FIELDS = tuple(f.name for f in fields(SegmenterOptions))
_ARBITRATION = ArbitrationOptions()


class CaptureSettings(MetricsServerSettings):
    """`VOXFRAME_*` settings of the capture worker; command-line flags override them."""

    model_config = SETTINGS_CONFIG

    room: Name = Field("living-room", description="room whose frames show what this mic hears")
    mic: Name = Field("mic1", description="this mic's id within the room (one process per mic)")
    mic_device: str | None = Field(None, description="input device: index or name substring (default: system's)")
    wyoming_uri: str | None = Field(None, pattern=r"^tcp://(\[[0-9A-Fa-f:]+\]|[^\s/:\[\]]+)(:\d{1,5})?/?$",
                                    description="listen to a Wyoming satellite or mic service: tcp://HOST:PORT")
    input_rate_hz: int | None = Field(None, ge=8000, le=384000, description="open the device at this rate")
    input_channels: int | None = Field(None, ge=1, le=64, description="open the device with this many channels")
    vad_threshold: float = Field(_SEGMENTER.vad_threshold, gt=0, lt=1,
                                 description="speech probability that opens a segment")
    pre_roll_ms: int = Field(_SEGMENTER.pre_roll_ms, ge=0, description="audio kept before speech starts")
    post_roll_ms: int = Field(_SEGMENTER.post_roll_ms, ge=0, description="audio kept after speech ends")
    end_silence_ms: int = Field(_SEGMENTER.end_silence_ms, ge=32, description="pause that ends a segment")
    short_speech_s: float = Field(_SEGMENTER.short_speech_s, ge=0,
                                  description="a segment with less speech than this ends at short_end_silence_ms")
    short_end_silence_ms: int = Field(_SEGMENTER.short_end_silence_ms, ge=32,
                                      description="pause that ends a short segment (a phrase more often than a turn)")
    min_speech_ms: int = Field(_SEGMENTER.min_speech_ms, ge=0,
                               description="segments with less speech are dropped")
    max_segment_s: float = Field(_SEGMENTER.max_segment_s, gt=0, le=240,
                                 description="longer speech is cut at a pause")
    arbitration_hold_ms: int | None = Field(
        None, ge=0, le=2000,
        description="how long a segment waits for the room's other mics (0: no arbitration; default: how much later "
                    "another mic may cut it, short_end_silence_ms - end_silence_ms, "
                    f"+ {NOTICE_SECONDS * 1000:.0f})",
    )
    arbitration_similarity: float = Field(
        _ARBITRATION.min_similarity, gt=0, le=1,
        description="envelope similarity above which two mics heard the same speech",
    )
    buffer_seconds: float = Field(600.0, gt=0, description="speech held while the broker is away; oldest dropped")
    record_dir: Path | None = Field(None, description="also write every published segment as WAV here")
    start_muted: bool = Field(False, description="start muted until the display tells this mic its mute switch "
                                                 "(it keeps them): a restart never listens past a mute; "
                                                 "without a display, never listens")
    metrics_port: int = Field(9101, ge=0, le=65535, description="/metrics and /healthz port (0 = any free)")

    def segmenter_options(self) -> SegmenterOptions:
        return SegmenterOptions(**self.model_dump(include=set(_SEGMENTER_FIELDS)))

    def arbitration_options(self) -> ArbitrationOptions:
        segmenter = self.segmenter_options()
        hold_seconds = (hold_seconds_for(segmenter) if self.arbitration_hold_ms is None
                        else self.arbitration_hold_ms / 1000)
        return ArbitrationOptions(hold_seconds=hold_seconds, min_similarity=self.arbitration_similarity,
                                  uncovered_seconds=uncovered_seconds_for(segmenter))


SERVICE = ServiceSpec.from_settings("capture", CaptureSettings)


def capture(source: AudioSource, handler: CaptureHandler, outbox: ArbitratedOutbox, stop: threading.Event,
            watchdog: Watchdog, loop: bool = False) -> None:
    """Feed the handler from the source until `stop` (or the file ends); reopen a failing device with backoff,
    from the first delay again once audio flows. Each block and each opening is progress for `watchdog`."""
    handler.kind = source.kind
    reopen = Retry(SourceError, Backoff(_FIRST_RETRY_SECONDS, _MAX_RETRY_SECONDS), stop=stop,
                   on_retry=functools.partial(_reopening, watchdog))
    with contextlib.suppress(Interrupted):
        reopen(_feed, source, handler, outbox, stop, watchdog, loop, reopen)
    watchdog.rest()
    outbox.put(handler.end_stream(EndReason.END_OF_INPUT))


def _feed(source: AudioSource, handler: CaptureHandler, outbox: ArbitratedOutbox, stop: threading.Event,
          watchdog: Watchdog, loop: bool, reopen: Retry) -> None:
    """Until `stop` or the end of the input; a SourceError ends this stream and is raised to be retried."""
    while not stop.is_set():
        watchdog.beat()
        try:
            with contextlib.closing(source.blocks()) as blocks:
                for block in blocks:
                    watchdog.beat()
                    if reopen.tries:
                        _LOGGER.info("Audio from %s again", source.name)
                        reopen.healthy()
                    handler.device = source.name
                    DEVICE_UP.set(1)
                    outbox.put(handler.on_audio(block))
                    if stop.is_set():
                        return
        except SourceError:
            DEVICE_UP.set(0)
            outbox.put(handler.end_stream(EndReason.DEVICE_LOST))
            raise
        if stop.is_set() or not loop:
            return
        outbox.put(handler.end_stream(EndReason.END_OF_INPUT))


def _reopening(watchdog: Watchdog, exc: BaseException, tries: int, _delay: float) -> None:
    watchdog.rest()  # the backoff's wait is no hang
    if tries == 1:
        _LOGGER.warning("Input failed (%s); reopening with backoff until it is back", exc)
    REOPENS.inc()


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser],
                common: argparse.ArgumentParser) -> None:
    p = commands.add_parser("capture", parents=[common], formatter_class=argparse.ArgumentDefaultsHelpFormatter,
                            help="listen to a microphone (or replay a file) and publish speech segments",
                            description=__doc__)
    where = p.add_argument_group("input (default: the system's default microphone)")
    source = where.add_mutually_exclusive_group()
    add_setting_flag(source, CaptureSettings, "--device", "mic_device", metavar="NAME|INDEX")
    add_setting_flag(source, CaptureSettings, "--wyoming", "wyoming_uri", metavar="tcp://HOST:PORT")
    source.add_argument("--file", type=Path, help="replay this recording (WAV/FLAC/OGG/MP3; more with ffmpeg)")
    source.add_argument("--demo", action="store_true", help="replay the project's demo conversation")
    where.add_argument("--list-devices", action="store_true", help="print the input devices and exit")
    where.add_argument("--discover", action="store_true",
                       help="print the Wyoming satellites and mic services found on the LAN (zeroconf) and exit")
    where.add_argument("--fast", action="store_true", help="replay the file as fast as possible, not in real time")
    where.add_argument("--loop", action="store_true", help="replay the file again and again")
    add_setting_flags(where, CaptureSettings, kebab_flags(CaptureSettings, only=("input_rate_hz", "input_channels")))
    ident = p.add_argument_group("identity and privacy")
    add_setting_flags(ident, CaptureSettings, {"--room": "room", "--mic": "mic"})
    add_setting_flag(ident, CaptureSettings, "--record", "record_dir", metavar="DIR")
    add_setting_flags(ident, CaptureSettings, kebab_flags(CaptureSettings, only=("start_muted",)))
    cut = p.add_argument_group("segmentation")
    add_setting_flags(cut, CaptureSettings, kebab_flags(CaptureSettings, only=_SEGMENTER_FIELDS))
    ops = p.add_argument_group("operation")
    add_setting_flags(ops, CaptureSettings, kebab_flags(CaptureSettings, only=(
        "arbitration_hold_ms", "arbitration_similarity", "buffer_seconds", "metrics_port")))
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from services.capture.sources.microphone import Microphone, list_devices
    from shared.audio import AudioDecodeError
    from shared.metrics import serve_metrics

    if args.list_devices:
        print(list_devices())
        return 0
    if args.discover:
        from shared.discovery import discover

        print("\n".join(f"{f.uri}  {f.name}  ({f.kind})" for f in discover()) or "no Wyoming mic found")
        return 0
    settings = settings_from_args(CaptureSettings, args)
    _LOGGER.debug("Settings: %s", settings)
    try:
        source = _file_source(args) or _wyoming_source(settings) or Microphone(
            settings.mic_device, settings.input_rate_hz, settings.input_channels)
    except (AudioDecodeError, FileNotFoundError, RuntimeError) as exc:  # RuntimeError: no espeak-ng for --demo
        _LOGGER.error("Cannot replay the recording: %s", exc)
        return 2
    bus = Bus("capture", load_settings(BusSettings))
    handler = CaptureHandler(settings.room, settings.mic, Segmenter(settings.segmenter_options()),
                             settings.record_dir, muted=settings.start_muted)
    arbiter = Arbiter(settings.room, settings.mic, settings.arbitration_options())
    bus.consume(bus.topology.control(settings.room),
                {Control: handler.on_control, Heard: arbiter.on_heard, MicStatus: arbiter.on_status})
    bus.every(1.0, lambda: bus.publish_nowait(handler.status()) if bus.connected else None)
    label_mic(settings.room, settings.mic)
    watchdog = Watchdog(source)
    serve_metrics("capture", settings.metrics_port, ready=lambda: watchdog.health() or bus.health(),
                  host=settings.metrics_host)
    stop, signalled = threading.Event(), threading.Event()

    def on_signal(*_: object) -> None:
        signalled.set()
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, on_signal)
    bus.start()
    bus.wait_connected(bus.settings.connect_timeout_seconds + 5)
    publisher = SegmentOutbox(bus, settings.buffer_seconds, COUNTERS)
    threading.Thread(target=publisher.run, args=(stop,), name="capture-publish", daemon=True).start()
    outbox = ArbitratedOutbox(arbiter, bus, publisher, COUNTERS)
    bus.every(0.05, outbox.release)
    _LOGGER.info("Ready: %s/%s listening to %s", settings.room, settings.mic, source.name)
    threading.Thread(target=watchdog.watch, name="capture-watchdog", daemon=True).start()
    capture(source, handler, outbox, stop, watchdog, loop=args.loop)
    if not outbox.wait_empty(10):
        _LOGGER.warning("Stopping with segments the broker never confirmed")
    bus.stop(10)
    return 1 if stop.is_set() and not signalled.is_set() else 0  # the bus gave up


def _file_source(args: argparse.Namespace) -> AudioSource | None:
    from services.capture.sources.file import FileSource

    if args.demo:
        from shared.demo import demo_recording

        return FileSource(demo_recording(), realtime=not args.fast)
    if args.file is not None:
        return FileSource(args.file, realtime=not args.fast)
    return None


def _wyoming_source(settings: CaptureSettings) -> AudioSource | None:
    from services.capture.sources.wyoming import WyomingSource

    return WyomingSource(settings.wyoming_uri) if settings.wyoming_uri else None
