"""A browser tab as a room's mic, for real: headless Chromium with a fake microphone playing speech opens
`/mic/<room>?autostart=1`, its audio goes through the page's worklet and socket to the real display, and the real
transcriber's transcripts of the room hold the speech's words; the dashboard lists the tab as a browser mic, and
its mute switch stops the room hearing it. Also: without a secure context or a mic, the page says what to do."""

from __future__ import annotations

import re
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import requests
import soundfile
import soxr

from shared.audio import SAMPLE_RATE_HZ, decode_audio
from shared.config import BusSettings
from shared.messages import AudioSegment, EndReason, MicStatus, Transcript
from tests.display.conftest import CHROMIUM, DisplayProcess
from tests.e2e.harness import Pipeline
from tests.support import Broker, wait_for
from tests.transcriber.speech import reference

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOM = "study"
LAN_TOKEN = "lan-token-for-the-tests"  # beyond loopback a display always has one
UTTERANCES = ("deepspeech_new_home_in_the_stars.wav", "speechbrain_spk1_snt1.wav", "pocketsphinx_goforward.wav",
              "speechbrain_spk2_snt3.wav")
FAKE_RATE_HZ = 48000  # what a real mic gives; the page's worklet takes it down to 16 kHz


def content_words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z]+", text.lower()) if len(w) > 3}


def fake_mic_file(speech_dir: Path, path: Path) -> float:
    """The utterances with 1.5 s pauses as a 48 kHz 16-bit WAV for Chromium's fake capture; its length in s."""
    pause = np.zeros(int(1.5 * SAMPLE_RATE_HZ), dtype=np.int16)
    talk = np.concatenate([pause, *(p for n in UTTERANCES for p in (decode_audio(speech_dir / n), pause))])
    soundfile.write(path, soxr.resample(talk, SAMPLE_RATE_HZ, FAKE_RATE_HZ), FAKE_RATE_HZ, subtype="PCM_16")
    return len(talk) / SAMPLE_RATE_HZ


@pytest.fixture
def mic_browser(speech_dir: Path, tmp_path: Path, browser) -> Iterator[tuple[object, float]]:
    """A second Chromium, from the session's Playwright, whose fake mic plays the utterances (looping)."""
    seconds = fake_mic_file(speech_dir, tmp_path / "speech.wav")
    chromium = browser.browser_type.launch(executable_path=CHROMIUM, args=[
        "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream", f"--use-file-for-fake-audio-capture={tmp_path / 'speech.wav'}",
        "--autoplay-policy=no-user-gesture-required"])
    yield chromium, seconds
    chromium.close()


@pytest.fixture
def transcriber(tmp_path: Path, bus_settings: BusSettings, broker: Broker) -> Iterator[None]:
    pipeline = Pipeline(bus_settings.namespace, bus_settings.amqp_url, tmp_path)
    pipeline.add("transcriber", "transcriber").start().wait_healthy(90)
    yield
    pipeline.stop_all()


def test_a_tab_is_a_mic_whose_words_become_the_rooms_transcripts_until_muted(
        speech_dir: Path, broker: Broker, display: DisplayProcess, transcriber: None, mic_browser) -> None:
    chromium, loop_seconds = mic_browser
    expected = content_words(" ".join(reference(speech_dir, n) for n in UTTERANCES))
    tap = broker.tap("transcript.#", f"status.{ROOM}.#", f"audio.{ROOM}.#")
    page = chromium.new_page()
    page.goto(f"{display.url}/mic/{ROOM}?autostart=1&name=tablet")
    page.wait_for_selector("body[data-state=live]", timeout=15000)
    assert page.evaluate("() => localStorage.getItem('voxframe.mic.name')") == "tablet"
    seen: list[object] = []

    def collect() -> list[object]:
        for props, body in broker.drain(tap):
            cls = {"transcript": Transcript, "status": MicStatus, "audio": AudioSegment}[props.type]
            seen.append((time.time(), cls.from_json(body)))
        return seen

    def of(cls: type) -> list:
        return [m for _, m in collect() if isinstance(m, cls)]

    def heard() -> set[str]:
        return content_words(" ".join(t.text for t in of(Transcript) if t.room == ROOM))

    started = time.monotonic()
    wait_for(lambda: len(heard() & expected) >= 0.8 * len(expected), timeout=120, interval=0.5,
             message=f"most of {sorted(expected)} in the room's transcripts")
    transcripts = of(Transcript)
    latencies = sorted(at - m.origin_at.timestamp() for at, m in seen if isinstance(m, Transcript))
    print(f"\n{len(heard() & expected)}/{len(expected)} reference words from the browser mic after "
          f"{time.monotonic() - started:.1f} s in {len(transcripts)} transcripts; speech end → transcript "
          f"p50 {latencies[len(latencies) // 2]:.2f} s, max {latencies[-1]:.2f} s")
    assert {(t.room, t.source) for t in transcripts} == {(ROOM, "tablet")}
    assert {s.kind for s in of(MicStatus)} == {"browser"}

    dashboard = chromium.new_page()  # lists the tab among the room's mics, by kind; its switch mutes it
    dashboard.goto(f"{display.url}/#{ROOM}")
    dashboard.wait_for_selector(".mic[data-mic=tablet] .device:text-matches('^browser · browser tab at .* · seen ')")
    dashboard.click(".mic[data-mic=tablet] .switch")
    page.wait_for_selector("body[data-muted=true]", timeout=10000)
    wait_for(lambda: any(s.muted for s in of(MicStatus)), message="a muted MicStatus")
    muted_at = time.time()
    # The fake mic loops its file: wait until the muted tab has been heard playing all of it once more.
    wait_for(lambda: sum(1 for at, m in collect() if isinstance(m, MicStatus) and m.muted and at > muted_at
                         and m.level_dbfs > -60) >= loop_seconds * 0.5 and
             sum(1 for at, m in collect() if isinstance(m, MicStatus) and m.muted and at > muted_at) >= loop_seconds,
             timeout=3 * loop_seconds, interval=0.5, message="a whole loop of the speech played while muted")
    late = [m for at, m in collect() if isinstance(m, AudioSegment) and at > muted_at + 1
            and m.end_reason is not EndReason.MUTED]
    assert late == [], "segments sent while muted"
    page.close()


def lan_address() -> str:
    """This machine's address on its network (not loopback): what a phone on the LAN would open."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the outgoing interface
        return str(probe.getsockname()[0])


def test_the_page_says_what_to_do_without_https_or_without_a_mic(display_factory, browser) -> None:
    display = display_factory(host="0.0.0.0", VOXFRAME_DISPLAY_TOKEN=LAN_TOKEN)
    page = browser.new_page()
    page.goto(f"http://{lan_address()}:{display.port}/mic/{ROOM}?name=phone&token={LAN_TOKEN}")  # plain http, LAN
    page.click("#toggle")
    page.wait_for_selector("#status.problem", timeout=10000)
    assert "https" in page.inner_text("#status").lower()
    page.goto(f"{display.url}/mic/{ROOM}?name=phone&token={LAN_TOKEN}")  # localhost is secure; this browser: no mic
    page.click("#toggle")
    page.wait_for_selector("#status.problem", timeout=10000)
    assert "microphone is not available" in page.inner_text("#status").lower()
    page.close()


def test_a_frame_that_listens_here_is_also_a_mic_of_its_room(broker: Broker, display: DisplayProcess,
                                                             mic_browser) -> None:
    chromium, _ = mic_browser
    audio = broker.tap(f"audio.{ROOM}.#")
    page = chromium.new_page()
    page.goto(f"{display.url}/frame/{ROOM}?listen=1&name=wall")
    page.wait_for_selector("#listen[data-state=live]", timeout=15000)
    segment = wait_for(lambda: broker.drain(audio), timeout=30, message="a segment from the frame's mic")[0]  # type: ignore[index]
    assert (AudioSegment.from_json(segment[1]).source, page.is_visible("#waiting")) == ("wall", True)
    page.click("#listen")  # off again, and remembered so
    page.wait_for_selector("#listen[data-state=off]")
    assert page.evaluate("() => localStorage.getItem('voxframe.frame.listen')") is None
    page.close()


class Network:
    """A TCP hop between the browser and the display whose `drop()` is a phone changing networks: the browser's
    side is reset, the display's side is left open and silent (no FIN ever reaches it)."""

    def __init__(self, port: int) -> None:
        self.port, self._listener = port, socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                browser = self._listener.accept()[0]
            except OSError:
                return
            display = socket.create_connection(("127.0.0.1", self.port))
            self._pairs.append((browser, display))
            for a, b in ((browser, display), (display, browser)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass  # dropped: the other side is not told

    def drop(self) -> list[socket.socket]:
        """Reset every browser connection; the display's ends, open, are returned (close them after the test)."""
        stranded = []
        for browser, display in self._pairs:
            browser.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            browser.close()
            stranded.append(display)
        self._pairs.clear()
        return stranded

    def close(self) -> None:
        self._listener.close()
        for pair in self._pairs:
            for end in pair:
                end.close()


def test_a_tab_whose_network_changed_is_a_mic_again_at_once(display: DisplayProcess, mic_browser) -> None:
    """The page's socket dies under it while the display's end stays open (until its pings give up, 40 s): the page
    reconnects with its own session id and takes its name over at once (it was refused as "already live" and the
    room heard nothing from it for those 40 s)."""
    chromium, _ = mic_browser
    network = Network(display.port)
    page = chromium.new_page()
    stranded: list[socket.socket] = []
    try:
        page.goto(f"{network.url}/mic/{ROOM}?autostart=1&name=tablet")
        page.wait_for_selector("body[data-state=live]", timeout=15000)
        time.sleep(1)  # it streams
        stranded = network.drop()
        page.wait_for_selector("body:not([data-state=live])", timeout=5000)
        dropped = time.monotonic()
        page.wait_for_selector("body[data-state=live]", timeout=10000)
        assert time.monotonic() - dropped < 5
    finally:
        page.close()
        network.close()
        for end in stranded:
            end.close()


class HttpsDisplay(DisplayProcess):
    """The display serving HTTPS with the self-signed certificate given as its first two arguments."""

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def _healthy(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise AssertionError(f"display exited with {self.process.returncode}")
        try:
            return requests.get(f"{self.url}/healthz", timeout=1, verify=self.args[1]).status_code == 200
        except requests.ConnectionError:
            return False


def test_over_the_lan_a_tab_is_a_mic_through_the_displays_own_https(tmp_path: Path, broker: Broker, display_factory,
                                                                    mic_browser) -> None:
    chromium, _ = mic_browser
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=voxframe",
                    "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    display = HttpsDisplay(broker.settings, tmp_path, host="0.0.0.0", args=("--tls-cert", str(cert), "--tls-key",
                                                                              str(key)),
                           env={"VOXFRAME_DISPLAY_TOKEN": LAN_TOKEN})
    broker.extra_queues.add(broker.topology.display(display.display_id).name)
    audio = broker.tap(f"audio.{ROOM}.#")
    try:
        display.start()
        context = chromium.new_context(ignore_https_errors=True)  # the self-signed certificate, accepted once
        page = context.new_page()
        page.goto(f"https://{lan_address()}:{display.port}/mic/{ROOM}?autostart=1&name=lan&token={LAN_TOKEN}")
        page.wait_for_selector("body[data-state=live]", timeout=15000)
        segment = wait_for(lambda: broker.drain(audio), timeout=30, message="a segment over HTTPS")[0]  # type: ignore[index]
        assert AudioSegment.from_json(segment[1]).source == "lan"
        context.close()
    finally:
        display.stop()


def test_with_a_token_the_page_needs_it_once_then_its_cookie_lets_the_tab_in(display_factory, mic_browser) -> None:
    chromium, _ = mic_browser
    display = display_factory(VOXFRAME_DISPLAY_TOKEN="s3cret")
    page = chromium.new_page()
    assert page.goto(f"{display.url}/mic/{ROOM}?name=guest").status == 401  # the login page, no mic
    page.goto(f"{display.url}/mic/{ROOM}?name=guest&autostart=1&token=s3cret")  # → cookie, token out of the URL
    page.wait_for_selector("body[data-state=live]", timeout=15000)
    assert "token" not in page.url
    page.close()
