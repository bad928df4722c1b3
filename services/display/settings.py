"""The display's settings, from `VOXFRAME_*` environment variables (CLI flags override them)."""

from __future__ import annotations

import re
import socket
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator

from shared.config import SETTINGS_CONFIG, HttpServerSettings
from shared.messages.envelope import NAME_CHARS, NAME_MAX, NAME_PATTERN


class DisplaySettings(HttpServerSettings):
    """Web server, gallery budget, upload limits and access control."""

    model_config = SETTINGS_CONFIG

    display_host: str = Field("0.0.0.0", description="address the web server listens on")
    display_port: int = Field(8080, ge=0, le=65535, description="web port; 0 picks a free one")
    display_id: str = Field("", description="names this process's queue; default hostname-port")
    data_dir: Path = Field(Path("data"), description="the gallery's SQLite database lives here (unless "
                                                     "database_url names another)")
    database_url: str = Field("", description="gallery, pairings and jobs: empty for SQLite in the data dir, "
                                              "postgresql://… for one gallery that many displays serve")
    display_token: str = Field("", description="dashboard, controls, uploads, browser mics and the conversation's "
                                               "words need it; beyond loopback one is made at first start if unset "
                                               "(kept in the data dir as display-token)")
    display_insecure: bool = Field(False, description="listen beyond loopback without a token: anyone on the "
                                                      "network may read and steer every room")
    display_allowed_origins: str = Field("", description="extra comma-separated origins allowed to open sockets")
    display_allowed_hosts: str = Field("", description="extra comma-separated names this display is reached by "
                                                       "(Host header); '*' allows any")
    display_ws_max_clients: int = Field(1000, ge=1, description="websockets open at once, all clients together")
    display_ws_max_per_address: int = Field(64, ge=1, description="websockets open at once from one IP address")
    display_ws_max_anonymous: int = Field(750, ge=0, description="of those, open without the token or a pairing "
                                                                 "(frames showing pictures only): the rest are "
                                                                 "kept for the dashboard and paired frames")
    display_mic_max_tabs: int = Field(32, ge=1, description="browser tabs live as mics at once (/mic/ROOM)")
    display_render_threads: int = Field(2, ge=1, description="threads that render image variants (?w=)")
    display_render_queue: int = Field(16, ge=0, description="variant renders waiting at most; beyond, a request "
                                                            "gets the nearest size already made")
    display_tls_cert: Path | None = Field(None, description="serve HTTPS with this PEM certificate (browser mics "
                                                            "beyond localhost need HTTPS)")
    display_tls_key: Path | None = Field(None, description="the certificate's PEM private key")
    gallery_max_images: int = Field(2000, ge=1, description="oldest images are pruned past this count")
    gallery_max_mb: float = Field(2048.0, gt=0, description="oldest images are pruned past this many MB")
    upload_max_mb: float = Field(50.0, gt=0, description="largest accepted upload")
    upload_max_seconds: float = Field(600.0, gt=0, description="longest accepted upload audio")
    upload_max_concurrent: int = Field(2, ge=1, description="uploads read and decoded at once; more get 429")
    upload_idle_seconds: float = Field(30.0, gt=0, description="an upload whose next bytes do not arrive within "
                                                               "this is dropped with 408, freeing its slot")
    upload_room: str = Field("upload", pattern=NAME_PATTERN, description="room uploads go to by default")
    job_stall_seconds: float = Field(300.0, gt=0, description="a job with no progress this long is an error")
    default_room: str = Field("living-room", pattern=NAME_PATTERN,
                              description="room the dashboard opens first")
    stt_engine: Literal["faster-whisper", "assemblyai"] = Field(
        "faster-whisper", description="speech-to-text engine; assemblyai sends uploads to its batch API")
    assemblyai_api_key: SecretStr = Field(SecretStr(""), description="AssemblyAI API key (uploads)")
    assemblyai_api_url: str = Field("https://api.assemblyai.com", description="AssemblyAI REST API; EU: "
                                                                             "https://api.eu.assemblyai.com")
    mqtt_url: str = Field("", description="Home Assistant over MQTT discovery: mqtt://user:password@host:1883 "
                                         "(mqtts:// for TLS); empty: no bridge")
    mqtt_discovery_prefix: str = Field("homeassistant", pattern=NAME_PATTERN,
                                       description="Home Assistant's MQTT discovery prefix")
    mqtt_conversation: bool = Field(False, description="also give Home Assistant each room's last heard words (a "
                                                       "sensor, so they stay in its history); off: no word of the "
                                                       "conversation goes over MQTT")
    public_url: str = Field("", description="this display's URL as AssemblyAI reaches it, for webhooks; "
                                            "empty polls instead")
    assemblyai_safety_poll_seconds: float = Field(60.0, gt=0, description="with a webhook, a job is still polled "
                                                                          "this often, in case a delivery was lost")

    @field_validator("display_token")
    @classmethod
    def _not_the_example(cls, token: str) -> str:
        if token.startswith("change-me"):
            raise ValueError("is still the example's placeholder: run deploy/docker/init-env.sh, or set a random one")
        return token

    @property
    def upload_max_bytes(self) -> int:
        return int(self.upload_max_mb * 1024 * 1024)

    @property
    def gallery_max_bytes(self) -> int:
        return int(self.gallery_max_mb * 1024 * 1024)

    @property
    def allowed_origins(self) -> frozenset[str]:
        return frozenset(o.strip().rstrip("/") for o in self.display_allowed_origins.split(",") if o.strip())

    @property
    def allowed_hosts(self) -> frozenset[str]:
        """The names configured, and the public URL's: AssemblyAI's webhook comes by that name."""
        named = {h.strip().lower() for h in self.display_allowed_hosts.split(",") if h.strip()}
        public = urlsplit(self.public_url).hostname if self.public_url else None
        return frozenset(named | {public} if public else named)

    def queue_id(self, port: int) -> str:
        """This process's display id: explicit, or hostname-port so processes on one host differ."""
        raw = self.display_id or f"{socket.gethostname()}-{port}"
        return re.sub(f"[^{NAME_CHARS}]", "-", raw)[:NAME_MAX]
