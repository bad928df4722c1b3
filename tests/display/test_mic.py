"""Browser mics on the server side: the real display process, its `/ws/mic/{room}` socket and the real broker.

A Python websocket client plays the tab: good audio becomes the room's AudioSegments (source = the tab's name)
and MicStatus (kind browser), mute works from the bus, and every kind of bad input is closed with a reason.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from shared.audio import SAMPLE_RATE_HZ, decode_audio
from shared.messages import AudioSegment, Command, Control, MicStatus
from tests.display.conftest import DisplayProcess, publish
from tests.support import Broker, wait_for

FRAME = 1600  # 100 ms, as the page sends
SPEECH = ("pocketsphinx_librivox_ss01_0880.wav", "pocketsphinx_goforward.wav")


def mic_url(display: DisplayProcess, room: str = "kitchen", name: str = "tablet", session: str = "") -> str:
    return f"ws://127.0.0.1:{display.port}/ws/mic/{room}?name={name}" + (f"&session={session}" if session else "")


@pytest.fixture
def tab(display: DisplayProcess) -> Iterator[ClientConnection]:
    with connect(mic_url(display)) as ws:
        hello = json.loads(ws.recv(timeout=10))
        assert (hello["type"], hello["room"], hello["mic"], hello["muted"]) == ("hello", "kitchen", "tablet", False)
        yield ws


def closed_with(ws: ClientConnection, send: object) -> tuple[int, str]:
    """Send until the server closes the socket; its close code and reason."""
    deadline = time.monotonic() + 15
    try:
        while time.monotonic() < deadline:
            ws.send(send)  # type: ignore[arg-type]
        while time.monotonic() < deadline:
            ws.recv(timeout=deadline - time.monotonic())
    except ConnectionClosed as closed:
        assert closed.rcvd is not None, "the socket ended without the server's close frame"
        return closed.rcvd.code, closed.rcvd.reason
    raise AssertionError("the server did not close the socket")


def stream(ws: ClientConnection, samples: np.ndarray, speed: float = 1.15) -> None:
    """Send 100 ms frames, paced at `speed` × real time (a tab sends as it hears)."""
    started = time.monotonic()
    for i, begin in enumerate(range(0, len(samples), FRAME)):
        due = started + i * FRAME / SAMPLE_RATE_HZ / speed
        time.sleep(max(0.0, due - time.monotonic()))  # pacing the stream, not waiting for a result
        ws.send(samples[begin:begin + FRAME].astype("<i2").tobytes())


def utterances(speech_dir: Path, *names: str) -> np.ndarray:
    pause = np.zeros(int(1.5 * SAMPLE_RATE_HZ), dtype=np.int16)
    return np.concatenate([part for n in names for part in (decode_audio(speech_dir / n), pause)])


def messages(broker: Broker, queue: str, cls: type) -> list:
    return [cls.from_json(body) for props, body in broker.drain(queue) if props.type == cls.KIND]


def test_a_tabs_speech_becomes_the_rooms_segments_and_mute_from_the_bus_stops_it(
        speech_dir: Path, broker: Broker, display: DisplayProcess, tab: ClientConnection) -> None:
    audio, statuses = broker.tap("audio.#"), broker.tap("status.kitchen.#")
    stream(tab, utterances(speech_dir, *SPEECH))
    segments: list[AudioSegment] = []
    wait_for(lambda: segments.extend(messages(broker, audio, AudioSegment)) or len(segments) >= 2, timeout=20,
             message="two segments from the tab")
    assert {(s.room, s.source, s.sample_rate_hz) for s in segments} == {("kitchen", "tablet", SAMPLE_RATE_HZ)}
    assert [s.sequence for s in segments] == [0, 1]
    assert all(0.8 < s.duration_seconds < 5 for s in segments)
    status = wait_for(lambda: messages(broker, statuses, MicStatus), message="a MicStatus")[0]  # type: ignore[index]
    assert (status.source, status.kind, status.muted) == ("tablet", "browser", False)
    assert "browser" in status.device

    publish(broker, Control(room="kitchen", source="dashboard", command=Command.MUTE, mic="tablet"))
    assert json.loads(tab.recv(timeout=10)) == {"type": "muted", "muted": True}
    stream(tab, utterances(speech_dir, SPEECH[0]))  # muted: heard by the level meter only
    publish(broker, Control(room="kitchen", source="dashboard", command=Command.UNMUTE))  # the whole room
    assert json.loads(tab.recv(timeout=10)) == {"type": "muted", "muted": False}
    stream(tab, utterances(speech_dir, SPEECH[1]))
    after = wait_for(lambda: messages(broker, audio, AudioSegment), timeout=20, message="the segment after unmute")
    assert [s.sequence for s in after] == [2]  # type: ignore[union-attr]  # nothing while muted
    assert after[0].duration_seconds < 4  # type: ignore[index]  # "go forward ten meters", not the muted speech


def test_the_tabs_own_mute_switch(display: DisplayProcess, tab: ClientConnection) -> None:
    tab.send(json.dumps({"type": "mute", "muted": True}))
    assert json.loads(tab.recv(timeout=10)) == {"type": "muted", "muted": True}


def test_a_muted_tab_that_reconnects_stays_muted(speech_dir: Path, broker: Broker, display: DisplayProcess) -> None:
    """A tablet muted from the dashboard, by the room's switch or by itself loses its socket (Wi-Fi, sleep): the tab
    it reconnects as, and a tab that joins the room later, are muted until someone unmutes them (they came back
    listening, and their speech was published)."""
    audio = broker.tap("audio.kitchen.#")

    def page(name: str) -> str:  # each name's page id, as the page sends it: a reconnection made before the display
        return mic_url(display, name=name, session=f"{name}-page-0123456789")  # saw the old socket go takes it over

    def rejoined(name: str = "tablet", speak: bool = False) -> bool:
        with connect(page(name)) as again:
            muted = bool(json.loads(again.recv(timeout=10))["muted"])
            if speak:
                stream(again, utterances(speech_dir, SPEECH[1]))
            return muted

    with connect(page("tablet")) as tab:
        assert json.loads(tab.recv(timeout=10))["muted"] is False
        publish(broker, Control(room="kitchen", source="dashboard", command=Command.MUTE, mic="tablet"))
        assert json.loads(tab.recv(timeout=10)) == {"type": "muted", "muted": True}
    assert rejoined(speak=True)  # its speech is heard by the level meter only
    time.sleep(2)  # a segment is out about a second after its speech ends (the room's arbitration wait)
    assert messages(broker, audio, AudioSegment) == []
    assert not rejoined("phone")  # that mic's switch only
    publish(broker, Control(room="kitchen", source="homeassistant", command=Command.UNMUTE, mic="tablet"))
    publish(broker, Control(room="kitchen", source="homeassistant", command=Command.MUTE))  # the whole room, later
    wait_for(lambda: rejoined("phone"), timeout=10, message="a tab joining a muted room to be muted")
    assert rejoined()
    publish(broker, Control(room="kitchen", source="dashboard", command=Command.UNMUTE, mic="tablet"))
    wait_for(lambda: not rejoined(), timeout=10, message="the unmuted tab to join listening")
    assert rejoined("phone")  # the rest of the room stays muted
    with connect(mic_url(display, room="hall")) as elsewhere:  # another room is not muted
        assert json.loads(elsewhere.recv(timeout=10))["muted"] is False
        elsewhere.send(json.dumps({"type": "mute", "muted": True}))  # the tab's own switch is remembered too
        assert json.loads(elsewhere.recv(timeout=10)) == {"type": "muted", "muted": True}
    with connect(mic_url(display, room="hall")) as back:
        assert json.loads(back.recv(timeout=10))["muted"] is True


def test_endless_speech_is_cut_by_the_segmenter_and_never_buffered(speech_dir: Path, broker: Broker,
                                                                    display: DisplayProcess,
                                                                    tab: ClientConnection) -> None:
    audio = broker.tap("audio.#")
    talk = np.concatenate([decode_audio(speech_dir / f"pocketsphinx_librivox_ss01_{n}.wav")
                           for n in ("0870", "0880", "0890", "0920", "0930")])
    stream(tab, talk, speed=1.2)  # 25 s of reading, its pauses all shorter than the 800 ms that end a segment
    first = wait_for(lambda: messages(broker, audio, AudioSegment), timeout=10, message="a max-length cut")
    assert first[0].end_reason == "max_length" and first[0].duration_seconds <= 20  # type: ignore[index]
    tab.send(np.zeros(FRAME, dtype="<i2").tobytes())
    tab.ping().wait(5)  # still open and answering


@pytest.mark.parametrize(("send", "code", "reason"), [
    ("hello there", 1003, "expected binary"),
    (json.dumps({"type": "mute", "muted": "yes"}), 1003, "expected binary"),
    ("[" * 60_000, 1003, "expected binary"),  # nested past Python's recursion limit: dropped with no close frame
    (b"\x00\x01\x02", 1007, "16-bit samples"),
    (bytes(40_000), 1009, "over 32000"),
])
def test_garbage_is_closed_with_a_reason(display: DisplayProcess, tab: ClientConnection, send: object, code: int,
                                         reason: str) -> None:
    closed = closed_with(tab, send)
    assert closed[0] == code and reason in closed[1]


def test_a_huge_frame_is_refused_before_it_is_read(display: DisplayProcess, tab: ClientConnection) -> None:
    """Only the header of a 1 MiB frame is sent: the server refuses it from the length alone (1009), so the
    payload is never read (nor, here, even sent, which keeps the close frame from racing a TCP reset)."""
    tab.socket.sendall(b"\x82\xff" + (1 << 20).to_bytes(8, "big") + b"mask")  # FIN+binary, masked, 64-bit length
    try:
        tab.recv(timeout=15)
    except ConnectionClosed as closed:
        assert closed.rcvd is not None and closed.rcvd.code == 1009
    else:
        raise AssertionError("the server did not close the socket")


def test_audio_faster_than_real_time_is_closed(display: DisplayProcess, tab: ClientConnection) -> None:
    started = time.monotonic()
    code, reason = closed_with(tab, bytes(2 * SAMPLE_RATE_HZ))  # one second of audio per frame, flat out
    assert (code, "faster than real time" in reason) == (1008, True)
    assert time.monotonic() - started < 10


def test_a_name_is_live_once_per_room_and_names_are_checked(display: DisplayProcess, tab: ClientConnection) -> None:
    with connect(mic_url(display)) as second:
        code, reason = closed_with(second, b"")
        assert code == 1008 and "already" in reason
    with connect(mic_url(display, name="no%20spaces")) as bad:
        assert closed_with(bad, b"")[0] == 1008
    with connect(mic_url(display, room="hall")) as other_room:  # the same name in another room is another mic
        assert json.loads(other_room.recv(timeout=10))["type"] == "hello"


def _vanished(display: DisplayProcess, query: str) -> socket.socket:
    """A tab whose network went (a phone that changed networks, a laptop that slept): its socket opened and
    greeted, then nothing, not even an answer to the server's pings, and no close."""
    raw = socket.create_connection(("127.0.0.1", display.port), timeout=10)
    key = base64.b64encode(os.urandom(16)).decode()
    raw.sendall(f"GET /ws/mic/kitchen?{query} HTTP/1.1\r\nHost: 127.0.0.1:{display.port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode())
    answer = b""
    while b"hello" not in answer:
        answer += raw.recv(4096)
    assert answer.startswith(b"HTTP/1.1 101")
    return raw


def test_a_tab_whose_old_socket_vanished_gets_its_name_back_at_once(display: DisplayProcess) -> None:
    """The page sends a session id of its own (`&session=`): its reconnection takes the name over from the socket
    its network lost at once (it was refused as "already live" until the server's pings gave up, 40 s of the room
    unheard); another tab, or one without the session, is still refused the name."""
    session = "0b6f1d0e-5c1a-4d7e-9a51-3f0c2e9d8b7a"
    gone = _vanished(display, f"name=tablet&session={session}")
    try:
        for other in (f"name=tablet&session={session[::-1]}", "name=tablet"):
            with connect(f"ws://127.0.0.1:{display.port}/ws/mic/kitchen?{other}") as second_tab:
                code, reason = closed_with(second_tab, b"")
                assert code == 1008 and "already" in reason
        started = time.monotonic()
        with connect(f"ws://127.0.0.1:{display.port}/ws/mic/kitchen?name=tablet&session={session}") as back:
            hello = json.loads(back.recv(timeout=10))
            assert (hello["type"], hello["mic"], time.monotonic() - started < 3) == ("hello", "tablet", True)
            back.send(bytes(2 * FRAME))  # it is the live one now
            time.sleep(1)
            with connect(mic_url(display)) as third:  # and its name is taken again
                assert closed_with(third, b"")[0] == 1008
    finally:
        gone.close()


def test_with_a_token_a_tab_needs_it(display_factory) -> None:
    display = display_factory(VOXFRAME_DISPLAY_TOKEN="s3cret")
    with pytest.raises(InvalidStatus):
        connect(mic_url(display)).close()
    with connect(mic_url(display) + "&token=s3cret") as ws:
        assert json.loads(ws.recv(timeout=10))["type"] == "hello"
    with pytest.raises(InvalidStatus):  # the token, but from a foreign page
        connect(mic_url(display), additional_headers={"Authorization": "Bearer s3cret"},
                origin="http://evil.example").close()  # type: ignore[arg-type]
