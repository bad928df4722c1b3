"""The display's Home Assistant bridge over MQTT: rooms announced by discovery, their state and picture published,
commands from Home Assistant sent as the same typed `Control` messages the dashboard sends.

Part of the display, not a worker of its own: the display already has every room's pictures (gallery), mics
(mic board) and the broker right to send controls (only the display and the prompter may), and validates controls
for the dashboard; a separate worker would need another broker role and copies of that state. Displays sharing a
database publish the same retained documents, and take commands through one shared subscription, so each command
is sent once however many displays run.

The picture goes to Home Assistant as bytes on a retained topic (`image_topic`), not as a URL for it to fetch:
Home Assistant has it at once after a restart, needs no route to the display, and no display credential sits in
its configuration.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from pydantic import ValidationError

from services.display import metrics
from services.display.gallery.store import Gallery, Original
from services.display.gallery.variants import render
from services.display.homeassistant import discovery as ha
from services.display.homeassistant.backlog import Backlog
from services.display.mics.board import MicBoard
from services.display.push.room_controls import RoomSettings
from services.display.views import NAME, ROOM_RULE, ControlRequest
from shared.messages import Control

_LOGGER = logging.getLogger(__name__)

POLL_SECONDS = 2.0  # how often rooms, pictures and mics are looked at; a state is published only when it changed
PICTURE_WIDTH = 960  # Home Assistant's card is small; 60 KB of JPEG instead of the 1080p original's 160+
SHARE_GROUP = "voxframe-display"

Send = Callable[[Control], None]


@dataclass(frozen=True)
class Sources:
    """Where the bridge reads what it publishes, and how it sends what Home Assistant asks for."""

    gallery: Gallery
    mics: MicBoard
    rooms: Callable[[], set[str]]
    settings: Callable[[str], RoomSettings]
    backlog: Backlog
    send: Send


class MqttBridge:
    """Connects to the MQTT broker in its own thread; `start` and `stop` from the display's lifespan.
    `conversation`: publish each room's last heard words too (VOXFRAME_MQTT_CONVERSATION, off by default)."""

    def __init__(self, url: str, prefix: str, base: str, sources: Sources, conversation: bool = False) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            raise ValueError(f"VOXFRAME_MQTT_URL is mqtt://[user:password@]host[:port] (or mqtts://), not {url!r}")
        self.topics = ha.Topics(base, prefix)
        self.sources, self.conversation = sources, conversation
        self._host, self._port = parts.hostname, parts.port or (8883 if parts.scheme == "mqtts" else 1883)
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"voxframe-{uuid.uuid4().hex[:8]}",
                                   protocol=mqtt.MQTTv5)
        if parts.username:
            self._client.username_pw_set(unquote(parts.username), unquote(parts.password or ""))
        if parts.scheme == "mqtts":
            self._client.tls_set()
        self._client.will_set(self.topics.status, "offline", qos=1, retain=True)
        self._client.on_connect = self._on_connect
        self._client.on_message = self._on_message
        self._announced: set[str] = set()  # discovery topics published in this session
        self._published: dict[str, object] = {}  # topic → what was last published there
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, name="mqtt-bridge", daemon=True)

    def start(self) -> None:
        self._client.connect_async(self._host, self._port, keepalive=30)
        self._client.loop_start()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._client.publish(self.topics.status, "offline", qos=1, retain=True).wait_for_publish(2)
        self._client.disconnect()
        self._client.loop_stop()

    @property
    def connected(self) -> bool:
        return self._client.is_connected()

    def _on_connect(self, client: mqtt.Client, _userdata: object, _flags: object, reason: object,
                    _properties: object) -> None:
        if getattr(reason, "is_failure", False):
            _LOGGER.warning("MQTT broker %s:%d refused the bridge: %s", self._host, self._port, reason)
            return
        _LOGGER.info("Home Assistant bridge connected to MQTT %s:%d (discovery prefix %s)", self._host, self._port,
                     self.topics.prefix)
        client.subscribe([(f"$share/{SHARE_GROUP}/{self.topics.commands}", 1), (f"{self.topics.prefix}/status", 1)])
        client.publish(self.topics.status, "online", qos=1, retain=True)
        self._announced.clear()  # a new session: announce and publish everything again
        self._published.clear()

    def _on_message(self, _client: mqtt.Client, _userdata: object, message: mqtt.MQTTMessage) -> None:
        if message.topic == f"{self.topics.prefix}/status":
            if message.payload == b"online":  # Home Assistant restarted: it asks for the configs again
                self._announced.clear()
            return
        room, _, what = message.topic.removeprefix(f"{self.topics.base}/").partition("/set/")
        try:
            if not NAME.match(room):
                raise ValueError(f"{ROOM_RULE}, not {room[:64]!r}")
            command, value, mic = ha.command(what, message.payload.decode("utf-8", "replace"))
            wanted = ControlRequest(command=command, mic=mic, value=value)  # the dashboard's checks: ranges, presets
            control = Control(room=room, source="homeassistant", command=wanted.command, mic=wanted.mic,
                              value=wanted.value)
            self.sources.send(control)
        except (ValueError, ValidationError) as exc:
            metrics.MQTT_COMMANDS.labels("refused").inc()
            _LOGGER.warning("Home Assistant command on %s refused: %s", message.topic, exc)
            return
        except Exception:  # the broker away: Home Assistant has no answer channel, so the log says it
            metrics.MQTT_COMMANDS.labels("failed").inc()
            _LOGGER.exception("Home Assistant command on %s could not be sent", message.topic)
            return
        metrics.MQTT_COMMANDS.labels("sent").inc()
        _LOGGER.info("Control %s for room %s from Home Assistant (value %s)", control.command, room, control.value)

    def _poll(self) -> None:
        try:
            while not self._stop.wait(POLL_SECONDS):
                if not self._client.is_connected():
                    continue
                try:
                    self._publish_shared()
                    for room in sorted(self.sources.rooms()):
                        self._publish_room(room)
                except Exception:  # a database hiccup: the next round tries again
                    _LOGGER.exception("Home Assistant bridge: publishing the rooms failed")
        finally:
            self.sources.backlog.close()

    def _announce(self, configs: dict[str, dict[str, object]]) -> None:
        """Each config once a session (a mic's when it first shows up), and again when Home Assistant restarts."""
        for topic, config in configs.items():
            if topic not in self._announced:
                self._client.publish(topic, json.dumps(config), qos=1, retain=True)
                self._announced.add(topic)

    def _publish_shared(self) -> None:
        self._announce(ha.shared_discovery(self.topics))
        self._once(self.topics.shared_state, ha.shared_state(self.sources.backlog.segments()))

    def _publish_room(self, room: str) -> None:
        gallery = self.sources.gallery
        mics = {m.mic: not m.muted for m in self.sources.mics.mics(room)}
        self._announce(ha.discovery(self.topics, room, tuple(sorted(mics)), self.conversation))
        newest = gallery.images(room, 1)
        last = newest[0].received_at.isoformat() if newest else None
        settings = self.sources.settings(room)
        heard = None
        if self.conversation:  # the owner's explicit choice: the words go to Home Assistant (and its history)
            heard = next((t.text for t in gallery.transcripts(room, 1)), "")
        self._once(self.topics.state(room), ha.state(last, mics, settings.style, settings.window_seconds, heard))
        if newest and self._published.get(self.topics.picture(room)) != newest[0].id:
            original = gallery.image_file(newest[0].id)
            if original is not None:
                self._client.publish(self.topics.picture(room), _jpeg(original), qos=1, retain=True)
                self._published[self.topics.picture(room)] = newest[0].id

    def _once(self, topic: str, payload: bytes) -> None:
        """Publish (retained) unless the same payload was the last one there."""
        if self._published.get(topic) != payload:
            self._client.publish(topic, payload, qos=1, retain=True)
            self._published[topic] = payload


def _jpeg(original: Original) -> bytes:
    return render(original, min(PICTURE_WIDTH, original.width), "image/jpeg")
