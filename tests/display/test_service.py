"""The real `voxframe display` process on the real broker: images in, pages, API and websockets out."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
import requests
from PIL import Image
from starlette.routing import Route
from websockets.sync.client import connect

from services.display.frames import eink_api, trmnl
from services.display.gallery.variants import WIDTHS
from services.display.web import api
from services.display.web.sockets import FRAME_HELLO_IMAGES
from shared.bus import REASON_HEADER
from shared.messages import Command, Control, ImagePrompt, Keyword, MicStatus, Transcript
from tests.display.conftest import DisplayProcess, make_image, png, publish
from tests.support import Broker, display_routes, wait_for


def images(display: DisplayProcess, room: str = "living-room") -> list[dict]:
    return requests.get(f"{display.url}/api/rooms/{room}/images", timeout=5).json()


def test_a_published_image_is_stored_pushed_and_served(broker: Broker, display: DisplayProcess) -> None:
    with connect(f"ws://127.0.0.1:{display.port}/ws/frame/living-room", open_timeout=5) as frame:
        assert json.loads(frame.recv(5)) == {"type": "hello", "room": "living-room", "images": [],
                                             "keep": FRAME_HELLO_IMAGES, "widths": list(WIDTHS),
                                             "pairing": "open", "paired_room": None}  # no token: nothing to pair
        image = make_image()
        publish(broker, image)
        event = json.loads(frame.recv(5))
    assert event["type"] == "image" and event["image"]["id"] == str(image.id)
    assert event["image"]["keywords"][0] == {"text": "lighthouse", "score": 0.9}
    served = requests.get(f"{display.url}{event['image']['url']}", timeout=5)
    assert served.content == image.image and served.headers["content-type"] == "image/png"
    assert "immutable" in served.headers["cache-control"]
    assert [i["id"] for i in images(display)] == [str(image.id)]


def test_a_redelivered_image_is_shown_once(broker: Broker, display: DisplayProcess) -> None:
    first, second = make_image(), make_image(color=(0, 200, 0))
    with connect(f"ws://127.0.0.1:{display.port}/ws/frame/living-room", open_timeout=5) as frame:
        frame.recv(5)
        publish(broker, first, first, second)
        pushed = [json.loads(frame.recv(5))["image"]["id"] for _ in range(2)]
    assert pushed == [str(first.id), str(second.id)]
    assert [i["id"] for i in images(display)] == [str(second.id), str(first.id)]


def test_frames_only_get_their_own_rooms_images(broker: Broker, display: DisplayProcess) -> None:
    with connect(f"ws://127.0.0.1:{display.port}/ws/frame/kitchen", open_timeout=5) as frame:
        frame.recv(5)
        publish(broker, make_image(room="living-room"), kitchen := make_image(room="kitchen"))
        assert json.loads(frame.recv(5))["image"]["id"] == str(kitchen.id)


def test_every_display_process_sees_every_image(broker: Broker, display_factory) -> None:
    one, two = display_factory(), display_factory()
    image = make_image()
    publish(broker, image)
    for display in (one, two):
        wait_for(lambda d=display: images(d), timeout=5, message=f"the image on display {display.display_id}")
        assert images(display)[0]["id"] == str(image.id)


def test_the_gallery_survives_a_restart(broker: Broker, display: DisplayProcess) -> None:
    image = make_image()
    publish(broker, image)
    wait_for(lambda: images(display), timeout=5, message="the image to be stored")
    display.restart()
    assert [i["id"] for i in images(display)] == [str(image.id)]
    assert requests.get(f"{display.url}/images/{image.id}", timeout=5).content == image.image


def test_provenance_links_image_prompt_and_transcript_lines(broker: Broker, display: DisplayProcess) -> None:
    line = Transcript(room="living-room", source="sofa-mic", audio_id="a1", text="let us fly the red kite",
                      engine="faster-whisper", model="tiny.en", audio_seconds=2, processing_seconds=0.2)
    prompt = ImagePrompt(room="living-room", source="sofa-mic", text="a red kite over the sea",
                         keywords=(Keyword(text="red kite", score=1.0),), transcript_ids=(str(line.id),))
    publish(broker, line, prompt, make_image(prompt_id=str(prompt.id)))
    wait_for(lambda: images(display), timeout=5, message="the image to be stored")
    [image] = images(display)
    assert [(t["text"], t["source"]) for t in image["transcripts"]] == [("let us fly the red kite", "sofa-mic")]
    api = f"{display.url}/api/rooms/living-room"
    assert requests.get(f"{api}/transcripts", timeout=5).json()[0]["text"] == "let us fly the red kite"
    assert requests.get(f"{api}/prompts", timeout=5).json()[0]["text"] == "a red kite over the sea"


def test_rooms_list_mics_with_their_live_level(broker: Broker, display: DisplayProcess) -> None:
    publish(broker, MicStatus(room="study", source="desk-mic", level_dbfs=-20.5, speech_ratio=0.4, device="USB"))
    publish(broker, MicStatus(room="study", source="porch", level_dbfs=-30, speech_ratio=0, kind="satellite",
                              device="wyoming://porch.local:10700"))

    def study() -> dict | None:
        rooms = requests.get(f"{display.url}/api/rooms", timeout=5).json()
        return next((r for r in rooms if r["room"] == "study" and r["mics"]), None)

    room = wait_for(lambda: (r := study()) and len(r["mics"]) == 2 and r, timeout=5,
                    message="the study's mics to be listed")
    assert [(m["mic"], m["kind"], m["level_dbfs"]) for m in room["mics"]] == [("desk-mic", "device", -20.5),
                                                                           ("porch", "satellite", -30)]


def test_controls_go_out_as_control_messages(broker: Broker, display: DisplayProcess) -> None:
    tap = broker.tap("control.#")
    sent = requests.post(f"{display.url}/api/rooms/kitchen/controls", json={"command": "set_window", "value": 45},
                         timeout=5)
    assert sent.status_code == 202
    _, body = wait_for(lambda: broker.get(tap), timeout=5, message="the Control on the broker")
    control = Control.from_json(body)
    assert (control.command, control.room, control.value, control.source) == (Command.SET_WINDOW, "kitchen", 45,
                                                                             "dashboard")
    assert str(control.id) == sent.json()["id"]


def test_bad_controls_are_refused_with_the_reason(broker: Broker, display: DisplayProcess) -> None:
    url = f"{display.url}/api/rooms/kitchen/controls"
    unknown = requests.post(url, json={"command": "explode"}, timeout=5)
    assert unknown.status_code == 400 and "command" in unknown.json()["error"]
    valueless = requests.post(url, json={"command": "set_style"}, timeout=5)
    assert valueless.status_code == 400 and "needs a value" in valueless.json()["error"]
    bad_room = requests.post(f"{display.url}/api/rooms/no.dots/controls", json={"command": "mute"}, timeout=5)
    assert bad_room.status_code == 400


def test_a_malformed_image_is_dead_lettered_with_the_reason(broker: Broker, display: DisplayProcess) -> None:
    broker.publish_raw("image.living-room.mic-1", b'{"room": "living-room", "image": 42}', "image")
    props, body = wait_for(lambda: broker.get(broker.topology.dead.name), timeout=5, message="a dead letter")
    assert body == b'{"room": "living-room", "image": 42}'
    assert props.headers[REASON_HEADER].startswith("invalid:")
    assert images(display) == []


def test_numbers_json_has_not_are_dead_lettered_not_served_as_500s(broker: Broker, display: DisplayProcess) -> None:
    """A mic status at -Infinity dB (a broken mic host) made `/api/rooms` a 500 while the mic was listed, and sent
    the dashboard socket `-Infinity`, which no browser parses; a picture that took Infinity seconds was stored and
    made its room's gallery a 500 for good. Numbers JSON has not are invalid messages: dead-lettered at once."""
    status = MicStatus(room="study", source="desk-mic", level_dbfs=-20.0, speech_ratio=0.5)
    image = make_image(room="study")
    with connect(f"ws://127.0.0.1:{display.port}/ws/dashboard", origin=display.url, open_timeout=5) as dashboard:
        dashboard.recv(timeout=5)  # the hello
        broker.publish_raw(status.routing_key, status.to_json().replace(b"-20.0", b"-Infinity"), status.KIND)
        broker.publish_raw(image.routing_key, image.to_json().replace(b'"generation_seconds":0.2',
                                                                      b'"generation_seconds":Infinity'), image.KIND)
        dead_letters = broker.topology.dead.name
        dead = wait_for(lambda: broker.depth(dead_letters) == 2 and broker.drain(dead_letters), timeout=5,
                        message="both dead-lettered")
        reasons = sorted(props.headers[REASON_HEADER] for props, _ in dead)
        assert all(r.startswith("invalid:") and "finite number" in r for r in reasons), reasons
        publish(broker, status)  # the next status of that mic, a sane one, is shown
        event = json.loads(dashboard.recv(timeout=5), parse_constant=lambda c: pytest.fail(f"{c} is not JSON"))
    assert event["mic"]["level_dbfs"] == -20.0
    rooms = requests.get(f"{display.url}/api/rooms", timeout=5)
    assert rooms.status_code == 200 and [m["level_dbfs"] for r in rooms.json() for m in r["mics"]] == [-20.0]
    assert requests.get(f"{display.url}/api/rooms/study/images", timeout=5).json() == []


def test_a_status_at_the_calendars_edge_is_dead_lettered_not_requeued_forever(broker: Broker,
                                                                             display: DisplayProcess) -> None:
    """`0001-01-01T00:00:00+05:00` is ISO 8601, but before year 1 in UTC: the display requeued it twice a second,
    forever, a traceback each time."""
    status = MicStatus(room="study", source="desk-mic", level_dbfs=-20.0, speech_ratio=0.5)
    edge = json.loads(status.to_json()) | {"created_at": "0001-01-01T00:00:00+05:00"}
    broker.publish_raw(status.routing_key, json.dumps(edge).encode(), status.KIND)
    props, _ = wait_for(lambda: broker.get(broker.topology.dead.name), timeout=5, message="a dead letter")
    assert props.headers[REASON_HEADER].startswith("invalid: OverflowError"), props.headers[REASON_HEADER]
    assert "voxframe_messages_requeued_total{" not in requests.get(f"{display.url}/metrics", timeout=5).text


def test_whole_numbers_past_64_bits_are_dead_lettered_as_invalid_at_once(broker: Broker,
                                                                         display: DisplayProcess) -> None:
    """A transcript of sequence 2^63 or a picture 2^62 pixels wide validated, then failed SQLite's INTEGER as
    OverflowError: retried 3 times and dead-lettered as a handler error. Out of the schema's bounds: invalid."""
    transcript = Transcript(room="study", source="desk-mic", audio_id="a1", text="hello", engine="e", model="m",
                            audio_seconds=1.0, processing_seconds=0.1)
    image = make_image(room="study")
    broker.publish_raw(transcript.routing_key, transcript.to_json().replace(b'"sequence":0', b'"sequence":' +
                                                                            str(2**63).encode()), transcript.KIND)
    broker.publish_raw(image.routing_key, image.to_json().replace(b'"width":320', b'"width":' +
                                                                  str(2**62).encode()), image.KIND)
    dead_letters = broker.topology.dead.name
    dead = wait_for(lambda: broker.depth(dead_letters) == 2 and broker.drain(dead_letters), timeout=5,
                    message="both dead-lettered")
    reasons = sorted(props.headers[REASON_HEADER] for props, _ in dead)
    assert all(r.startswith("invalid:") and "less than or equal to" in r for r in reasons), reasons
    assert "voxframe_messages_requeued_total{" not in requests.get(f"{display.url}/metrics", timeout=5).text
    assert images(display, "study") == []
    assert requests.get(f"{display.url}/api/rooms/study/transcripts", timeout=5).json() == []


def test_a_picture_whose_size_disagrees_with_its_bytes_is_dead_lettered(broker: Broker,
                                                                        display: DisplayProcess) -> None:
    """A picture really 320×180 that claims 4000×3000 was stored and served with the claimed size (frames lay it out
    by it). The generator states what the bytes say, so the sender is broken: refused, its bytes kept to look at."""
    liar = make_image(room="study", width=4000, height=3000)
    publish(broker, liar)
    props, body = wait_for(lambda: broker.get(broker.topology.dead.name), timeout=5, message="a dead letter")
    assert props.headers[REASON_HEADER] == "unprocessable: the message says 4000×3000 pixels, its picture is 320×180"
    assert body == liar.to_json()
    honest = make_image(room="study")
    publish(broker, honest)
    wait_for(lambda: images(display, "study"), timeout=5, message="the honest picture stored")
    assert [(i["id"], i["width"], i["height"]) for i in images(display, "study")] == [(str(honest.id), 320, 180)]


def test_a_picture_whose_type_disagrees_with_its_bytes_is_dead_lettered(broker: Broker,
                                                                        display: DisplayProcess) -> None:
    """A JPEG saying image/png was stored and served as image/png (to frames and clients that trust the type), and
    bytes that are no picture were refused without the type they claimed. The generator states the type its bytes
    have, as it states their size: a message that disagrees is refused naming both, its bytes kept to look at."""
    jpeg = io.BytesIO()
    Image.new("RGB", (320, 180), (200, 40, 40)).save(jpeg, "JPEG")
    for liar, says in ((make_image(room="study", image=jpeg.getvalue(), mime_type="image/png"),
                        "the message says image/png, its picture is image/jpeg"),
                       (make_image(room="study", image=png((9, 9, 9)), mime_type="image/webp"),
                        "the message says image/webp, its picture is image/png"),
                       (make_image(room="study", image=b"<html>no picture</html>", mime_type="image/png"),
                        "the message says image/png, its bytes are no picture format the display reads")):
        publish(broker, liar)
        props, body = wait_for(lambda: broker.get(broker.topology.dead.name), timeout=5, message="a dead letter")
        assert (props.headers[REASON_HEADER], body) == (f"unprocessable: {says}", liar.to_json())
    honest = make_image(room="study", image=jpeg.getvalue(), mime_type="image/jpeg")
    publish(broker, honest)
    wait_for(lambda: images(display, "study"), timeout=5, message="the honest picture stored")
    assert [(i["id"], i["mime_type"]) for i in images(display, "study")] == [(str(honest.id), "image/jpeg")]


def test_health_metrics_and_openapi_are_served(broker: Broker, display: DisplayProcess, tmp_path: Path) -> None:
    assert requests.get(f"{display.url}/healthz", timeout=5).json() == {"status": "ok"}
    metrics = requests.get(f"{display.url}/metrics", timeout=5).text
    assert "voxframe_display_websocket_clients" in metrics and "voxframe_bus_connected" in metrics
    spec = requests.get(f"{display.url}/openapi.json", timeout=5).json()
    documented = {(path, method.upper()) for path, ops in spec["paths"].items() for method in ops}
    served = {(r.path, m) for r in display_routes(tmp_path, api, eink_api, trmnl) if isinstance(r, Route)
              for m in (r.methods or set()) - {"HEAD"}}
    assert documented == served  # generated from the routes: none missing, none made up
    assert spec["paths"]["/api/uploads/{job_id}"]["get"]["security"] == [{"token": []}]  # from @guarded
    assert "security" not in spec["paths"]["/api/rooms"]["get"]
    assert spec["paths"]["/api/rooms/{room}/images"]["get"]["parameters"][0]["schema"]["pattern"]
    schemas = spec["components"]["schemas"]
    assert {"ImageView", "JobView", "JobLineView", "ControlRequest", "ErrorView"} <= set(schemas)
    refs = set(re.findall(r'"#/components/schemas/(\w+)"', json.dumps(spec)))
    assert refs <= set(schemas)  # every reference resolves


def test_image_downloads_refuse_path_tricks(display: DisplayProcess) -> None:
    for trick in ("..%2F..%2Fgallery.sqlite3", "..%2Fgallery.sqlite3", "%2Fetc%2Fpasswd", "nope"):
        assert requests.get(f"{display.url}/images/{trick}", timeout=5).status_code == 404
    assert requests.get(f"{display.url}/images/../gallery.sqlite3", timeout=5).status_code == 404


@pytest.mark.parametrize(("query", "says"), [
    ("limit=-1", "limit must be a whole number from 1 to 200"), ("limit=0", "from 1 to 200"),
    ("limit=201", "from 1 to 200"), ("limit=abc", "from 1 to 200"), ("limit=" + "9" * 5000, "from 1 to 200"),
    ("before=abc", "before must be an ISO 8601 time"),
    ("befor=2026-01-01T00:00:00", "unknown query parameter 'befor'")])
def test_list_endpoints_refuse_bad_query_parameters_alike(display: DisplayProcess, query: str, says: str) -> None:
    """`transcripts?before=abc` and `limit=-1` answered 200 and a page while `images` answered 400: a `before` the
    transcripts ignore pages back to the same page forever. One check for all three: 400 naming what is wrong."""
    for listing in ("images", "transcripts", "prompts"):
        answer = requests.get(f"{display.url}/api/rooms/living-room/{listing}?{query}", timeout=5)
        if listing != "images" and query.startswith("before="):
            says = "unknown query parameter 'before': this takes limit"  # only the gallery pages back
        assert (listing, answer.status_code) == (listing, 400)
        assert says in answer.json()["error"], (listing, answer.json())


def test_list_endpoints_take_their_parameters_and_the_token(display: DisplayProcess) -> None:
    base = f"{display.url}/api/rooms/living-room"
    for url in (f"{base}/images?limit=200&before=2030-01-01T00:00:00%2B00:00&token=x", f"{base}/images?limit=1",
                f"{base}/transcripts?limit=200&token=x", f"{base}/prompts?limit=1", f"{base}/prompts"):
        answer = requests.get(url, timeout=5)
        assert (url, answer.status_code, answer.json()) == (url, 200, [])


def test_pages_for_a_room_the_api_refuses_are_refused_alike(display_factory) -> None:
    """`/frame/😀` and a 5000-character room served their page, whose socket then refused it: the page said
    nothing and stayed blank. The room rule every message follows answers first, as the API does: 400 naming it
    (a malformed address, not a missing room: any good name is a room), before a token is asked for."""
    for display in (display_factory(), display_factory(VOXFRAME_DISPLAY_TOKEN="correct-horse-battery")):
        for room in ("%F0%9F%98%80", "r" * 65, "r" * 5000, "no.dots", "a%20b"):
            for page in ("frame", "mic", "api/rooms"):
                path = f"/{page}/{room}" + ("/images" if page == "api/rooms" else "")
                answer = requests.get(f"{display.url}{path}", timeout=5, allow_redirects=False)
                assert (path[:40], answer.status_code) == (path[:40], 400)
                assert answer.json() == {"error": "room names are 1-64 letters, digits, '-' or '_'"}
        assert requests.get(f"{display.url}/frame/{'r' * 64}", timeout=5).status_code == 200
