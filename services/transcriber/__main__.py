"""`voxframe transcriber` (the worker) and `voxframe transcribe FILE...` (files, same engine code)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import threading
import time
from collections.abc import Iterable
from typing import Literal

from pydantic import Field, SecretStr

from services.transcriber.engines import EngineFatalError, SpeechEngine
from services.transcriber.engines.models import (
    ENGLISH_BEAM_SIZE,
    ENGLISH_MODEL,
    MULTILINGUAL_BEAM_SIZE,
    MULTILINGUAL_MODEL,
)
from shared.config import SETTINGS_CONFIG, MetricsServerSettings
from shared.language.bridge import READ_LANGUAGES
from shared.messages.language import DEFAULT_LANGUAGE, LanguageListSetting, RoomLanguageSetting
from shared.service import ServiceSpec
from shared.settings_cli import add_setting_flags, settings_from_args

_LOGGER = logging.getLogger(__name__)


class TranscriberSettings(MetricsServerSettings):
    """Which engine, how it runs, and the worker's knobs; flags override these `VOXFRAME_*` variables."""

    model_config = SETTINGS_CONFIG

    stt_engine: Literal["faster-whisper", "assemblyai"] = Field("faster-whisper", description="speech-to-text engine")
    language: RoomLanguageSetting = Field(
        DEFAULT_LANGUAGE, description="spoken language (an ISO 639 code such as de) where the room or upload names "
                                      "none; 'auto' detects it per segment")
    auto_languages: LanguageListSetting = Field(
        READ_LANGUAGES, description="the languages 'auto' chooses among (comma-separated "
        "codes; by default those the prompter and illustrator read); empty: any of Whisper's 99")
    whisper_model: str = Field(ENGLISH_MODEL, description="the model for English: 'tiny.en' or 'base' (built in) or a "
                               "CTranslate2 model folder; a multilingual one hears every language")
    whisper_multilingual_model: str = Field(
        MULTILINGUAL_MODEL, description="the model for other languages and 'auto' while whisper_model is English-only "
                                        "(*.en): 'base' (built in) or a CTranslate2 model folder")
    whisper_device: str = Field("cpu", description="cpu, cuda or auto")
    whisper_compute_type: str = Field("int8", description="CTranslate2 compute type: int8, int8_float16, float16, ...")
    whisper_beam_size: int = Field(ENGLISH_BEAM_SIZE, ge=1, le=20,
                                   description="whisper_model's beam width (every language's when it is multilingual); "
                                               "1 is faster")
    whisper_multilingual_beam_size: int = Field(
        MULTILINGUAL_BEAM_SIZE, ge=1, le=20, description="whisper_multilingual_model's beam width (other languages "
                                                         "and 'auto' while whisper_model is English-only)")
    whisper_cpu_threads: int = Field(0, ge=0, description="0 lets CTranslate2 choose")
    assemblyai_api_key: SecretStr = Field(SecretStr(""), description="AssemblyAI API key (streaming engine)")
    assemblyai_url: str = Field("wss://streaming.assemblyai.com/v3/ws", description="AssemblyAI v3 streaming URL")
    assemblyai_speech_model: str = Field("universal-streaming-english", description="v3 speech_model for English")
    assemblyai_multilingual_model: str = Field(
        "universal-streaming-multilingual", description="v3 speech_model for other languages and 'auto' (it detects "
                                                        "each turn's language); whisper-rt hears 99 languages")
    transcriber_prefetch: int = Field(
        1, ge=1, le=10, description="segments one replica holds at a time; keep 1-2 so replicas share fairly")
    metrics_port: int = Field(9102, ge=0, le=65535, description="/metrics and /healthz port; 0 picks a free one")


SERVICE = ServiceSpec.from_settings("transcriber", TranscriberSettings)


def build_engine(settings: TranscriberSettings, stop: threading.Event | None = None) -> SpeechEngine:
    """Load the configured engine once (imports stay lazy so `voxframe --help` stays fast); `stop` cuts a remote
    engine's wait to reconnect short at shutdown."""
    if settings.stt_engine == "assemblyai":
        from services.transcriber.engines.assemblyai import AssemblyAIEngine

        return AssemblyAIEngine(settings.assemblyai_api_key.get_secret_value(), url=settings.assemblyai_url,
                                speech_model=settings.assemblyai_speech_model,
                                multilingual_model=settings.assemblyai_multilingual_model, language=settings.language,
                                stop=stop)
    from services.transcriber.engines.whisper import FasterWhisperEngine

    return FasterWhisperEngine(settings.whisper_model, device=settings.whisper_device,
                               compute_type=settings.whisper_compute_type, beam_size=settings.whisper_beam_size,
                               cpu_threads=settings.whisper_cpu_threads,
                               language=settings.language, multilingual_model=settings.whisper_multilingual_model,
                               auto_languages=tuple(filter(None, settings.auto_languages.split(","))),
                               multilingual_beam_size=settings.whisper_multilingual_beam_size)


_ENGINE_FLAGS = {
    "--engine": "stt_engine", "--language": "language", "--model": "whisper_model",
    "--multilingual-model": "whisper_multilingual_model", "--auto-languages": "auto_languages",
    "--device": "whisper_device", "--compute-type": "whisper_compute_type",
    "--beam-size": "whisper_beam_size", "--multilingual-beam-size": "whisper_multilingual_beam_size",
    "--cpu-threads": "whisper_cpu_threads",
}


def _engine_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("engine (flags override VOXFRAME_* variables)")
    add_setting_flags(group, TranscriberSettings, _ENGINE_FLAGS)


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser],
                common: argparse.ArgumentParser) -> None:
    worker = commands.add_parser("transcriber", parents=[common], help="run the transcription worker",
                                 description="Consume AudioSegments, publish Transcripts (run N replicas).",
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    _engine_flags(worker)
    add_setting_flags(worker, TranscriberSettings, {"--prefetch": "transcriber_prefetch",
                                                     "--metrics-port": "metrics_port"})
    worker.set_defaults(run=run_worker)


def add_transcribe_command(commands: argparse._SubParsersAction[argparse.ArgumentParser],
                           common: argparse.ArgumentParser) -> None:
    files = commands.add_parser("transcribe", parents=[common], help="transcribe audio files and print the text",
                                description="Transcribe files with the worker's engine code; files longer than "
                                            "one segment are cut at the pauses live audio is cut at, each "
                                            "piece heard with some of its neighbours' audio.",
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    files.add_argument("files", nargs="+", metavar="FILE", help="audio files (WAV, FLAC, MP3, OGG; more with ffmpeg)")
    files.add_argument("--json", action="store_true",
                       help="print one JSON object per file per line: file, text, words, timings")
    _engine_flags(files)
    files.set_defaults(run=run_files)


def run_worker(args: argparse.Namespace) -> int:
    from services.transcriber.handler import TranscriptionHandler, describe_engine
    from shared.bus import Bus, BusStopped
    from shared.messages import AudioSegment, Transcript
    from shared.metrics import serve_metrics

    settings = settings_from_args(TranscriberSettings, args)
    bus = Bus("transcriber")
    try:
        engine = build_engine(settings, bus.stopping)
    except EngineFatalError as exc:
        print(f"voxframe transcriber: error: {exc}", file=sys.stderr)
        return 2
    describe_engine(engine)
    handler = TranscriptionHandler(engine, settings.language)
    fatal: list[EngineFatalError] = []

    def handle(segment: AudioSegment) -> Transcript | None:
        try:
            return handler(segment)
        except EngineFatalError as exc:  # the segment stays unacked, so another replica (or a fix) takes it
            fatal.append(exc)
            bus.stop()
            raise BusStopped(str(exc)) from exc

    bus.consume(bus.topology.audio, {AudioSegment: handle}, prefetch=settings.transcriber_prefetch)
    bus.consume(bus.topology.job_audio, {AudioSegment: handle}, prefetch=1, priority=1)  # uploads after live speech
    serve_metrics("transcriber", settings.metrics_port, ready=bus.health, host=settings.metrics_host)
    _LOGGER.info("Ready: %s %s, prefetch %d", engine.name, engine.model, settings.transcriber_prefetch)
    bus.run()
    if fatal:
        print(f"voxframe transcriber: error: {fatal[0]}", file=sys.stderr)
        return 2
    return 0


def run_files(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from services.transcriber.long import transcribe_long
    from shared.audio import SAMPLE_RATE_HZ, AudioDecodeError, Piece, decode_audio

    try:
        engine = build_engine(settings_from_args(TranscriberSettings, args))
    except EngineFatalError as exc:
        print(f"voxframe transcribe: error: {exc}", file=sys.stderr)
        return 2
    failures = 0
    for path in tqdm(args.files, unit="file", disable=len(args.files) < 2, file=sys.stderr):
        try:
            samples = decode_audio(path)
        except (AudioDecodeError, FileNotFoundError) as exc:
            print(f"voxframe transcribe: {path}: {exc}", file=sys.stderr)
            failures += 1
            continue
        started = time.perf_counter()

        def progress(pieces: list[Piece], name: str = str(path)) -> Iterable[Piece]:
            return tqdm(pieces, desc=name, unit="piece", leave=False, disable=len(pieces) < 2, file=sys.stderr)

        heard, pieces = transcribe_long(engine, samples, progress)
        seconds = time.perf_counter() - started
        audio_seconds = len(samples) / SAMPLE_RATE_HZ
        if not args.json:
            print(heard.text, flush=True)
            continue
        print(json.dumps({
            "file": str(path), "text": heard.text, "words": [w.model_dump() for w in heard.words],
            "language": heard.language, "engine": engine.name, "model": heard.model or engine.model,
            "segments": pieces,
            "audio_seconds": round(audio_seconds, 3), "processing_seconds": round(seconds, 3),
            "real_time_factor": round(seconds / audio_seconds, 4) if audio_seconds else None,
        }), flush=True)
    return 1 if failures else 0
