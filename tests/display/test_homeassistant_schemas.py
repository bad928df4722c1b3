"""The discovery configs against Home Assistant's own MQTT discovery schemas, from the `homeassistant` package in a
venv of its own (tests/display/home_assistant_core.py): its MQTT integration checks each config against these when it
arrives. tests/display/test_homeassistant_core.py runs Home Assistant itself too."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from services.display.homeassistant import discovery as ha
from tests.display.home_assistant_core import VENV
from tests.display.home_assistant_core import ha_python as made_venv

VALIDATOR = Path(__file__).with_name("ha_schemas.py")


@pytest.fixture(scope="module")
def ha_python() -> Path:
    return made_venv()


def checked(python: Path, configs: dict[str, dict[str, object]]) -> dict[str, str | None]:
    """Each config's error as Home Assistant's schema words it, or None when it is valid."""
    done = subprocess.run([str(python), str(VALIDATOR)], input=json.dumps(configs), capture_output=True, text=True,
                          timeout=300, check=True, cwd=VENV)
    return json.loads(done.stdout)


def test_every_discovery_config_passes_home_assistants_schema(ha_python: Path) -> None:
    topics = ha.Topics("voxframe", "homeassistant")
    configs = {**ha.discovery(topics, "living-room", ("sofa", "ceiling-2")), **ha.discovery(topics, "kid_s-room"),
               **ha.discovery(topics, "kitchen", conversation=True), **ha.shared_discovery(topics)}
    assert checked(ha_python, configs) == dict.fromkeys(configs)


def test_the_schema_check_refuses_what_home_assistant_would(ha_python: Path) -> None:
    """The check means something: configs Home Assistant rejects are rejected here."""
    topics = ha.Topics("voxframe", "homeassistant")
    good = ha.discovery(topics, "kitchen")
    image, number = topics.config("image", "kitchen", "picture"), topics.config("number", "kitchen", "window")
    bad = {image: {**good[image], "url_topic": "voxframe/kitchen/url"},  # image_topic and url_topic exclude each other
           number: {**good[number], "command_topic": "voxframe/+/set/window"}}  # no wildcards where it publishes
    errors = checked(ha_python, bad)
    assert errors[image] and errors[number], errors
