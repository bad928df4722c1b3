"""Home Assistant over MQTT discovery: the real display and the real Mosquitto (127.0.0.1:1883), a real MQTT
client in Home Assistant's place seeing the retained configs, the picture and the state, and pressing buttons."""

from __future__ import annotations

import io
import json
import threading
import uuid
from collections.abc import Callable, Iterator

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from PIL import Image
from websockets.sync.client import connect

from services.display.homeassistant import discovery as ha
from shared.messages import Command, Control, ImagePrompt, MicStatus, Transcript
from tests.display.conftest import DisplayProcess, make_image, publish
from tests.support import Broker, stays, wait_for

MQTT_URL = "mqtt://127.0.0.1:1883"
ENTITIES = {("image", "picture"), ("button", "paint_now"), ("button", "regenerate"), ("button", "next_picture"),
            ("switch", "listening"), ("select", "style"), ("number", "window"), ("sensor", "last_picture"),
            ("sensor", "mics_live")}


class HomeAssistant:
    """A real MQTT client subscribed where Home Assistant is: every retained and live message, by topic."""

    def __init__(self, prefix: str, base: str) -> None:
        self.prefix, self.base = prefix, base
        self.messages: dict[str, mqtt.MQTTMessage] = {}
        self._lock = threading.Lock()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"ha-test-{uuid.uuid4().hex[:6]}")
        self.client.on_message = self._keep
        self.client.connect("127.0.0.1", 1883)
        self.client.subscribe([(f"{prefix}/#", 1), (f"{base}/#", 1)])
        self.client.loop_start()

    def _keep(self, _client: mqtt.Client, _userdata: object, message: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages[message.topic] = message

    def get(self, topic: str) -> mqtt.MQTTMessage | None:
        with self._lock:
            return self.messages.get(topic)

    def press(self, topic: str, payload: str) -> None:
        self.client.publish(topic, payload, qos=1).wait_for_publish(5)

    def close(self, clear: bool = True) -> None:
        """Disconnect; `clear`: first clear every retained topic the test made, so the broker keeps nothing of it."""
        with self._lock:
            retained = list(self.messages) if clear else []  # live messages arrive without the retain flag
        for topic in retained:
            self.client.publish(topic, b"", qos=1, retain=True).wait_for_publish(5)
        self.client.loop_stop()
        self.client.disconnect()


Bridged = tuple[DisplayProcess, HomeAssistant]


@pytest.fixture
def bridge(broker: Broker, display_factory: Callable[..., DisplayProcess]) -> Iterator[Callable[..., Bridged]]:
    """Start a display bridged to Home Assistant's broker (more VOXFRAME_* settings as keywords)."""
    started: list[Bridged] = []

    def start(**env: str) -> Bridged:
        prefix = f"ha-{uuid.uuid4().hex[:8]}"
        home = HomeAssistant(prefix, broker.settings.namespace)
        started.append((display_factory(VOXFRAME_MQTT_URL=MQTT_URL, VOXFRAME_MQTT_DISCOVERY_PREFIX=prefix, **env),
                        home))
        return started[-1]

    yield start
    for display, home in started:
        display.stop()  # its last will and goodbye are retained too
        home.close()


@pytest.fixture
def bridged(bridge: Callable[..., Bridged]) -> Bridged:
    return bridge()


def config(home: HomeAssistant, component: str, room: str | None, object_id: str) -> dict | None:
    message = home.get(ha.Topics(home.base, home.prefix).config(component, room, object_id))
    return None if message is None or not message.payload else json.loads(message.payload)


def test_every_room_is_a_device_with_its_entities_retained(broker: Broker,
                                                           bridged: Bridged) -> None:
    display, home = bridged
    publish(broker, make_image(room="kitchen"))
    for room in ("living-room", "kitchen"):  # the default room, and one with a picture
        wait_for(lambda room=room: all(config(home, c, room, o) for c, o in ENTITIES), timeout=20,
                 message=f"discovery configs for {room}")
    topics = ha.Topics(home.base, home.prefix)
    later = HomeAssistant(home.prefix, home.base)  # a Home Assistant that starts after the display gets it all
    try:
        wait_for(lambda: all((m := later.get(topics.config(c, "kitchen", o))) is not None and m.retain
                             for c, o in ENTITIES), timeout=10, message="the configs retained")
    finally:
        later.close(clear=False)
    picture = config(home, "image", "kitchen", "picture")
    assert picture is not None and picture["image_topic"] == topics.picture("kitchen")
    assert picture["availability_topic"] == topics.status and picture["device"]["name"] == "Voxframe kitchen"
    assert len({config(home, c, "kitchen", o)["unique_id"] for c, o in ENTITIES}) == len(ENTITIES)  # type: ignore[index]
    style = config(home, "select", "kitchen", "style")
    assert style is not None and "watercolor" in style["options"]
    every = json.dumps([config(home, c, "kitchen", o) for c, o in ENTITIES])
    assert "lighthouse" not in every and "dusk" not in every  # no word of the conversation

    wait_for(lambda: home.get(topics.status) is not None and home.get(topics.status).payload == b"online",
             timeout=10, message="the display online")
    wait_for(lambda: home.get(topics.picture("kitchen")) is not None, timeout=20, message="the kitchen's picture")
    shown = Image.open(io.BytesIO(home.get(topics.picture("kitchen")).payload))  # type: ignore[union-attr]
    assert shown.format == "JPEG" and shown.size == (320, 180)
    state = json.loads(home.get(topics.state("kitchen")).payload)  # type: ignore[union-attr]
    assert state["last_picture"] and state["listening"] == "ON" and state["mics_live"] == 0
    assert set(state) == {"last_picture", "mics_live", "listening", "mics", "style", "window"}  # no "heard" words
    assert config(home, "sensor", "kitchen", "heard") is None
    assert picture["device"]["via_device"] == topics.hub  # every room under the one Voxframe device

    display.stop()
    wait_for(lambda: home.get(topics.status).payload == b"offline", timeout=10,  # type: ignore[union-attr]
             message="the display's goodbye")


def test_buttons_switch_select_and_number_send_the_dashboards_controls(
        broker: Broker, bridged: Bridged) -> None:
    _display, home = bridged
    controls = broker.tap("control.#")
    topics = ha.Topics(home.base, home.prefix)
    wait_for(lambda: config(home, "button", "living-room", "paint_now"), timeout=20, message="the paint button")

    sent = {"paint_now": "PRESS", "regenerate": "PRESS", "next_picture": "PRESS", "listening": "OFF",
            "style": "oil painting", "window": "45"}
    for what, payload in sent.items():
        home.press(topics.command("living-room", what), payload)
    got: list[Control] = []

    def arrived() -> bool:
        got.extend(Control.model_validate_json(body) for _, body in broker.drain(controls))
        return len(got) >= len(sent)

    wait_for(arrived, timeout=15, message="the controls on the bus")
    assert [(c.command, c.value, c.room, c.source) for c in got] == [
        (Command.PAINT_NOW, None, "living-room", "homeassistant"), (Command.REGENERATE, None, "living-room",
                                                                    "homeassistant"),
        (Command.NEXT_PICTURE, None, "living-room", "homeassistant"),
        (Command.MUTE, None, "living-room", "homeassistant"), (Command.SET_STYLE, "oil painting", "living-room",
                                                               "homeassistant"),
        (Command.SET_WINDOW, 45.0, "living-room", "homeassistant")]

    # the dashboard's checks: out of range, unknown preset, not a button press, a bad room: refused, nothing sent
    for topic, payload in ((topics.command("living-room", "window"), "9999"),
                           (topics.command("living-room", "window"), "1_0"),  # float() read it as 10
                           (topics.command("living-room", "style"), "crayon"),
                           (topics.command("living-room", "paint_now"), "please"),
                           (topics.command("living-room", "self_destruct"), "PRESS"),
                           (f"{home.base}/no room/set/paint_now", "PRESS")):
        home.press(topic, payload)
    stays(lambda: broker.depth(controls) == 0, seconds=2, message="a refused command was sent")


@pytest.mark.parametrize("payload", ["1_0", " 45", "45\n", "+45", "1e1", "nan", "inf", "\u0664\u0665", "0x2d", ""])
def test_a_window_is_a_plain_decimal_not_whatever_float_reads(payload: str) -> None:
    """float() read "1_0" as 10 and Arabic-Indic "٤٥" as 45, so a garbled payload set a window nobody chose. Home
    Assistant's number entity sends plain decimals; anything else is refused naming what came."""
    with pytest.raises(ValueError, match=r"^the window is a plain decimal number of seconds, not "):
        ha.command("window", payload)
    assert [ha.command("window", p)[1] for p in ("45", "45.5", "-5")] == [45.0, 45.5, -5.0]  # -5: the range refuses


def test_each_live_mic_gets_its_own_listening_switch(broker: Broker,
                                                     bridged: Bridged) -> None:
    _display, home = bridged
    controls = broker.tap("control.#")
    topics = ha.Topics(home.base, home.prefix)
    publish(broker, MicStatus(room="living-room", source="sofa", level_dbfs=-30, speech_ratio=0.2))
    wait_for(lambda: config(home, "switch", "living-room", "listening_sofa"), timeout=20, message="the sofa's switch")
    switch = config(home, "switch", "living-room", "listening_sofa")
    assert switch is not None and switch["command_topic"] == topics.command("living-room", "listening_sofa")
    wait_for(lambda: (m := home.get(topics.state("living-room"))) is not None
             and json.loads(m.payload).get("mics") == {"sofa": "ON"}, timeout=10, message="the sofa listening")
    home.press(topics.command("living-room", "listening_sofa"), "OFF")
    got: list[Control] = []
    wait_for(lambda: got.extend(Control.model_validate_json(b) for _, b in broker.drain(controls)) or got,
             timeout=10, message="the sofa's mute")
    assert [(c.command, c.mic) for c in got] == [(Command.MUTE, "sofa")]


def state_of(home: HomeAssistant, topic: str) -> dict:
    message = home.get(topic)
    return json.loads(message.payload) if message is not None and message.payload else {}


def test_next_picture_steps_every_frame_of_the_room(broker: Broker, bridged: Bridged) -> None:
    """What "next" means for a frame: its next recent picture now, the step it takes by itself in a quiet room
    (frame.js; tests/display/test_browser.py sees a frame take it). Frames with and without captions get it."""
    display, home = bridged
    topics = ha.Topics(home.base, home.prefix)
    wait_for(lambda: config(home, "button", "living-room", "next_picture"), timeout=20, message="the next button")
    url = f"ws://127.0.0.1:{display.port}/ws/frame"
    with connect(f"{url}/living-room", open_timeout=5) as frame, connect(f"{url}/kitchen", open_timeout=5) as other:
        assert json.loads(frame.recv(5))["type"] == "hello" and json.loads(other.recv(5))["type"] == "hello"
        home.press(topics.command("living-room", "next_picture"), "PRESS")
        assert json.loads(frame.recv(10)) == {"type": "next"}
        with pytest.raises(TimeoutError):  # another room's frames stay where they are
            other.recv(1)


def test_style_and_window_are_echoed_back(broker: Broker, bridged: Bridged) -> None:
    _display, home = bridged
    topics = ha.Topics(home.base, home.prefix)
    room = topics.state("living-room")
    wait_for(lambda: state_of(home, room), timeout=20, message="the room's state")
    assert state_of(home, room)["style"] is None and state_of(home, room)["window"] is None  # nothing known yet
    publish(broker, ImagePrompt(room="living-room", source="sofa", text="a kite", style="storybook"))
    wait_for(lambda: state_of(home, room)["style"] == "storybook", timeout=10,
             message="the newest prompt's style as the room's")
    home.press(topics.command("living-room", "style"), "oil painting")
    home.press(topics.command("living-room", "window"), "45")
    wait_for(lambda: (state_of(home, room)["style"], state_of(home, room)["window"]) == ("oil painting", 45.0),
             timeout=10, message="the style and window set, echoed")
    home.press(topics.command("living-room", "window"), "9999")  # refused: the window stays
    home.press(topics.command("living-room", "window"), "30")
    wait_for(lambda: state_of(home, room)["window"] == 30.0, timeout=10, message="the next window")


def test_the_transcriber_backlog_is_a_sensor_of_the_voxframe_device(broker: Broker, bridged: Bridged) -> None:
    _display, home = bridged
    topics = ha.Topics(home.base, home.prefix)
    sensor = wait_for(lambda: config(home, "sensor", None, "transcriber_backlog"), timeout=20,
                      message="the backlog sensor")
    assert sensor["device"]["identifiers"] == [topics.hub]  # type: ignore[index]
    wait_for(lambda: state_of(home, topics.shared_state).get("transcriber_backlog") == 0, timeout=10,
             message="an empty backlog")
    for n in range(3):  # speech no transcriber takes (none runs): it waits on the live audio queue
        broker.publish_raw(f"audio.living-room.sofa.{n}", b"{}", "audio", message_id=f"backlog-{n}")
    wait_for(lambda: state_of(home, topics.shared_state) == {"transcriber_backlog": 3,
                                                             "backlog": {"live": 3, "uploads": 0}},
             timeout=10, message="three segments waiting")


def test_conversation_text_only_when_the_owner_opts_in(broker: Broker, bridge: Callable[..., Bridged]) -> None:
    _display, home = bridge(VOXFRAME_MQTT_CONVERSATION="true")
    topics = ha.Topics(home.base, home.prefix)
    heard = wait_for(lambda: config(home, "sensor", "living-room", "heard"), timeout=20, message="the heard sensor")
    assert heard["value_template"] == "{{ value_json.heard }}"  # type: ignore[index]
    publish(broker, Transcript(room="living-room", source="sofa", audio_id="a1", text="let us fly the red kite",
                               engine="faster-whisper", model="tiny.en", audio_seconds=2, processing_seconds=0.2))
    wait_for(lambda: state_of(home, topics.state("living-room")).get("heard") == "let us fly the red kite",
             timeout=10, message="the words heard, in the state")
