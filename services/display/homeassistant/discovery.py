"""Home Assistant's MQTT discovery: each room is a device with its picture, buttons, switch, select, number, sensors,
under one Voxframe device with what the rooms share (the transcriber backlog).

Only what a frame's owner controls or glances at: no conversation text unless the owner turns its sensor on, so a
family's words do not land in Home Assistant's history by default. Topics, for a room under `base` (the namespace,
`voxframe` by default): `base/ROOM/picture` (JPEG bytes, retained), `base/ROOM/state` (JSON, retained),
`base/ROOM/set/WHAT` (commands), `base/state` (JSON, retained: what the rooms share), `base/status` (online/offline:
the display's availability and last will).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from shared.messages import Command
from shared.messages.control import STYLES, WINDOW_SECONDS

PRESS = "PRESS"
MIC_PREFIX = "listening_"  # `set/listening_<mic>`: one mic's switch
# What Home Assistant's number entity sends ("45", "45.0"). Python's float() also takes "1_0" (10), " 45", "nan",
# "1e1" and non-ASCII digits: a payload that is none of these plain decimals is refused, not guessed at.
_DECIMAL = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")


@dataclass(frozen=True)
class Topics:
    """Where a room's state, picture and commands live, and where its discovery configs go."""

    base: str
    prefix: str

    @property
    def status(self) -> str:
        return f"{self.base}/status"

    @property
    def shared_state(self) -> str:
        return f"{self.base}/state"

    @property
    def hub(self) -> str:
        """The Voxframe device's node id (the rooms' devices are connected through it)."""
        return self.base.replace("/", "_")

    def picture(self, room: str) -> str:
        return f"{self.base}/{room}/picture"

    def state(self, room: str) -> str:
        return f"{self.base}/{room}/state"

    def command(self, room: str, what: str) -> str:
        return f"{self.base}/{room}/set/{what}"

    @property
    def commands(self) -> str:
        """Every room's commands, as one subscription."""
        return f"{self.base}/+/set/+"

    def node(self, room: str) -> str:
        return f"{self.base}_{room}".replace("/", "_")

    def config(self, component: str, room: str | None, object_id: str) -> str:
        """A room's entity's discovery topic; `room` None: the Voxframe device's."""
        node = self.hub if room is None else self.node(room)
        return f"{self.prefix}/{component}/{node}/{object_id}/config"


# Buttons: what (`base/ROOM/set/<what>`, the Control command) → name. "Next picture" steps the room's frames to their
# next recent picture at once, as a frame does by itself every cycle while the room is quiet.
_BUTTONS = {"paint_now": "Paint now", "regenerate": "Regenerate", "next_picture": "Next picture"}
HEARD_MAX = 255  # Home Assistant keeps at most 255 characters of a state


def discovery(topics: Topics, room: str, mics: tuple[str, ...] = (), conversation: bool = False
              ) -> dict[str, dict[str, object]]:
    """Every entity's discovery topic and config for one room and its mics (publish retained); `conversation`: the
    room's last heard words as a sensor too (the owner's explicit choice)."""
    node = topics.node(room)
    device = {"identifiers": [node], "name": f"Voxframe {room}", "manufacturer": "Voxframe",
              "model": "Conversation picture frame (room)", "via_device": topics.hub}
    state = topics.state(room)

    def entity(object_id: str, name: str, **extra: object) -> dict[str, object]:
        return {"name": name, "unique_id": f"{node}_{object_id}", "object_id": f"{node}_{object_id}",
                "device": device, "availability_topic": topics.status, **extra}

    def from_state(key: str) -> dict[str, str]:
        return {"state_topic": state, "value_template": f"{{{{ value_json.{key} }}}}"}

    configs: dict[str, dict[str, object]] = {
        topics.config("image", room, "picture"): entity(
            "picture", "Picture", image_topic=topics.picture(room), content_type="image/jpeg"),
        topics.config("switch", room, "listening"): entity(
            "listening", "Listening", icon="mdi:microphone", command_topic=topics.command(room, "listening"),
            payload_on="ON", payload_off="OFF", **from_state("listening")),
        topics.config("select", room, "style"): entity(
            "style", "Style", icon="mdi:palette", command_topic=topics.command(room, "style"), options=list(STYLES),
            **from_state("style")),
        topics.config("number", room, "window"): entity(
            "window", "Listening window", icon="mdi:timer-outline", command_topic=topics.command(room, "window"),
            min=WINDOW_SECONDS[0], max=WINDOW_SECONDS[1], step=5, unit_of_measurement="s", mode="box",
            **from_state("window")),
        topics.config("sensor", room, "last_picture"): entity(
            "last_picture", "Last picture", device_class="timestamp", **from_state("last_picture")),
        topics.config("sensor", room, "mics_live"): entity(
            "mics_live", "Mics live", icon="mdi:microphone-outline", state_class="measurement",
            **from_state("mics_live")),
    }
    if conversation:
        configs[topics.config("sensor", room, "heard")] = entity("heard", "Last heard", icon="mdi:comment-quote",
                                                                 **from_state("heard"))
    for mic in mics:  # a listening switch per mic too: mute the kitchen's tablet, keep the ceiling mic
        configs[topics.config("switch", room, f"listening_{mic}")] = entity(
            f"listening_{mic}", f"Listening: {mic}", icon="mdi:microphone",
            command_topic=topics.command(room, f"{MIC_PREFIX}{mic}"), state_topic=state,
            value_template=f"{{{{ value_json.mics['{mic}'] | default('OFF') }}}}", payload_on="ON", payload_off="OFF")
    for what, name in _BUTTONS.items():
        configs[topics.config("button", room, what)] = entity(what, name, command_topic=topics.command(room, what),
                                                              payload_press=PRESS)
    return configs


def shared_discovery(topics: Topics) -> dict[str, dict[str, object]]:
    """The Voxframe device's entities: what every room shares."""
    device = {"identifiers": [topics.hub], "name": "Voxframe", "manufacturer": "Voxframe",
              "model": "Conversation-to-picture pipeline"}
    return {topics.config("sensor", None, "transcriber_backlog"): {
        "name": "Transcriber backlog", "unique_id": f"{topics.hub}_transcriber_backlog",
        "object_id": f"{topics.hub}_transcriber_backlog", "device": device, "availability_topic": topics.status,
        "icon": "mdi:tray-full", "unit_of_measurement": "segments", "state_class": "measurement",
        "state_topic": topics.shared_state, "value_template": "{{ value_json.transcriber_backlog }}",
        "json_attributes_topic": topics.shared_state, "json_attributes_template": "{{ value_json.backlog | tojson }}"}}


def command(what: str, payload: str) -> tuple[Command, str | float | None, str | None]:
    """The Control command, value and mic a command topic's payload means; ValueError for anything else."""
    if what in _BUTTONS:
        if payload != PRESS:
            raise ValueError(f"a button sends {PRESS}, not {payload[:20]!r}")
        return Command(what), None, None
    if what == "listening" or what.startswith(MIC_PREFIX):
        if payload not in ("ON", "OFF"):
            raise ValueError(f"listening is ON or OFF, not {payload[:20]!r}")
        mic = what.removeprefix(MIC_PREFIX) if what != "listening" else None
        return (Command.UNMUTE if payload == "ON" else Command.MUTE), None, mic
    if what == "style":
        return Command.SET_STYLE, payload, None
    if what == "window":
        if not _DECIMAL.fullmatch(payload):
            raise ValueError(f"the window is a plain decimal number of seconds, not {payload[:20]!r}")
        return Command.SET_WINDOW, float(payload), None
    raise ValueError(f"no such command topic: {what[:40]!r}")


def state(last_picture: str | None, mics: dict[str, bool], style: str | None = None, window: float | None = None,
          heard: str | None = None) -> bytes:
    """A room's state document (retained on its state topic); `mics`: each live mic, and whether it listens; `style`
    and `window`: as last set (None: unknown); `heard`: the last words heard, only when the owner opted in."""
    document: dict[str, object] = {
        "last_picture": last_picture, "mics_live": sum(mics.values()),
        "listening": "ON" if not mics or any(mics.values()) else "OFF",
        "mics": {mic: "ON" if on else "OFF" for mic, on in sorted(mics.items())}, "style": style, "window": window}
    if heard is not None:
        document["heard"] = heard[:HEARD_MAX]
    return json.dumps(document).encode()


def shared_state(backlog: dict[str, int] | None) -> bytes:
    """What the rooms share: the transcriber backlog (segments waiting, live and upload; None: the broker did not
    answer)."""
    return json.dumps({"transcriber_backlog": None if backlog is None else sum(backlog.values()),
                       "backlog": backlog or {}}).encode()
