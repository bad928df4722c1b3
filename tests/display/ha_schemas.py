"""Run by the `homeassistant` venv's interpreter, not by pytest: check discovery configs against Home Assistant's own
MQTT discovery schemas, as its MQTT integration does when a config arrives (abbreviations expanded, then the
platform's DISCOVERY_SCHEMA). Reads `{topic: config}` JSON on stdin; prints `{topic: error or null}`."""

from __future__ import annotations

import importlib
import json
import sys


def main() -> int:
    import voluptuous as vol

    importlib.import_module("homeassistant.components.persistent_notification")  # first: it breaks a cycle
    from homeassistant.components.mqtt.abbreviations import ABBREVIATIONS, DEVICE_ABBREVIATIONS

    errors: dict[str, str | None] = {}
    for topic, config in json.load(sys.stdin).items():
        component = topic.split("/")[-4]
        config = {ABBREVIATIONS.get(k, k): v for k, v in config.items()}
        if isinstance(config.get("device"), dict):
            config["device"] = {DEVICE_ABBREVIATIONS.get(k, k): v for k, v in config["device"].items()}
        schema = importlib.import_module(f"homeassistant.components.mqtt.{component}").DISCOVERY_SCHEMA
        try:
            schema(config)
            errors[topic] = None
        except vol.Invalid as exc:  # the message is what Home Assistant would log
            errors[topic] = f"{type(exc).__name__}: {exc}"
    json.dump(errors, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
