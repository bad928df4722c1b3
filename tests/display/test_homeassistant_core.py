"""The real Home Assistant core (2024.1.6, offline, in its own venv) on the real Mosquitto (127.0.0.1:1883) and the
real display: onboarded and given the MQTT integration through its REST API, it finds each room as a device with
its entities, shows the room's picture, and its button press and style choice reach the pipeline as Controls."""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PIL import Image

from services.display.homeassistant import discovery as ha
from shared.messages import Command, Control
from tests.display.conftest import DisplayProcess, make_image, publish
from tests.display.home_assistant_core import HomeAssistantCore, ha_python
from tests.display.test_homeassistant import HomeAssistant
from tests.support import Broker, wait_for

pytestmark = pytest.mark.slow  # Home Assistant starts in 20-60 s on two busy cores

MQTT_PORT = 1883


@pytest.fixture
def home_assistant(tmp_path: Path) -> Iterator[HomeAssistantCore]:
    core = HomeAssistantCore(ha_python(), tmp_path / "home-assistant")
    try:
        core.onboard()
        yield core
    finally:
        core.stop()


def entity_id(component: str, node: str, object_id: str) -> str:
    """The entity id Home Assistant makes of a config's object_id (its slugify, for these ASCII names)."""
    return f"{component}.{re.sub(r'[^a-z0-9]+', '_', f'{node}_{object_id}'.lower()).strip('_')}"


def test_home_assistant_sees_each_room_and_steers_it(broker: Broker, display_factory: Callable[..., DisplayProcess],
                                                     home_assistant: HomeAssistantCore) -> None:
    prefix = f"ha-{uuid.uuid4().hex[:8]}"
    watcher = HomeAssistant(prefix, broker.settings.namespace)  # clears the retained topics afterwards
    try:
        home_assistant.add_mqtt(MQTT_PORT, prefix)
        display_factory(VOXFRAME_MQTT_URL=f"mqtt://127.0.0.1:{MQTT_PORT}", VOXFRAME_MQTT_DISCOVERY_PREFIX=prefix)
        publish(broker, make_image(room="kitchen", size=(640, 360)))
        check_the_kitchen(broker, home_assistant, ha.Topics(broker.settings.namespace, prefix))
    finally:
        watcher.close()


def check_the_kitchen(broker: Broker, core: HomeAssistantCore, topics: ha.Topics) -> None:
    node = topics.node("kitchen")
    wanted = {entity_id(c, node, o) for c, o in (
        ("image", "picture"), ("button", "paint_now"), ("button", "regenerate"), ("button", "next_picture"),
        ("switch", "listening"), ("select", "style"), ("number", "window"), ("sensor", "last_picture"),
        ("sensor", "mics_live"))} | {entity_id("sensor", topics.hub, "transcriber_backlog")}
    listening = entity_id("switch", node, "listening")
    states = wait_for(lambda: (s := core.states()).keys() >= wanted and s[listening]["state"] != "unavailable" and s,
                      timeout=60, interval=1, message="the kitchen's entities in Home Assistant, available")
    assert states[listening]["state"] == "on"  # type: ignore[index]
    assert states[entity_id("sensor", topics.hub, "transcriber_backlog")]["state"] == "0"  # type: ignore[index]
    assert not [e for e in states if "heard" in e]  # type: ignore[union-attr]
    button = entity_id("button", node, "paint_now")
    template = f"{{{{ device_attr(device_id('{button}'), 'name') }}}}"
    device = core.call("POST", "/api/template", json={"template": template})
    assert device == "Voxframe kitchen"

    picture = entity_id("image", node, "picture")
    wait_for(lambda: core.states()[picture]["state"] not in ("unknown", "unavailable"), timeout=30, interval=1,
             message="the kitchen's picture in Home Assistant")
    shown = Image.open(io.BytesIO(core.fetch(f"/api/image_proxy/{picture}").content))
    assert shown.format == "JPEG" and shown.size == (640, 360)

    controls = broker.tap("control.#")
    core.call("POST", "/api/services/button/press", json={"entity_id": entity_id("button", node, "paint_now")})
    core.call("POST", "/api/services/select/select_option",
              json={"entity_id": entity_id("select", node, "style"), "option": "oil painting"})
    got: list[Control] = []
    wait_for(lambda: got.extend(Control.model_validate_json(b) for _, b in broker.drain(controls)) or len(got) >= 2,
             timeout=15, message="Home Assistant's controls on the bus")
    assert [(c.command, c.value, c.room, c.source) for c in got] == [
        (Command.PAINT_NOW, None, "kitchen", "homeassistant"), (Command.SET_STYLE, "oil painting", "kitchen",
                                                                "homeassistant")]
    wait_for(lambda: core.states()[entity_id("select", node, "style")]["state"] == "oil painting", timeout=15,
             interval=0.5, message="the style echoed back into Home Assistant")
