"""Real headless Chromium against the real display process and broker."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests
import segno
from PIL import Image
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from shared.messages import (
    AudioSegment,
    Command,
    Control,
    GeneratedImage,
    ImagePrompt,
    Keyword,
    MicStatus,
    Transcript,
)
from tests.display.conftest import DisplayProcess, make_image, png, publish
from tests.display.test_jobs import two_utterances
from tests.support import Broker, wait_for

pytestmark = pytest.mark.browser

SHOWN = "document.querySelector('.slide.shown img')"


def wait_until_shown(page, image_id: str, timeout_ms: int = 10000) -> None:
    """The picture is in the front slide, decoded, and its crossfade has finished."""
    page.wait_for_function(
        f"""id => document.getElementById('stage').dataset.imageId === id && {SHOWN}?.naturalWidth > 0
             && new URL({SHOWN}.src).pathname.endsWith(id)"""
        " && getComputedStyle(document.querySelector('.slide.shown')).opacity === '1'",
        arg=image_id, timeout=timeout_ms)


def pixel(page, x: int, y: int) -> tuple[int, int, int]:
    return Image.open(io.BytesIO(page.screenshot())).convert("RGB").getpixel((x, y))


def close_to(seen: tuple[int, ...], wanted: tuple[int, ...], tolerance: int = 12) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(seen, wanted, strict=True))


def test_a_frame_shows_a_published_image(broker: Broker, display: DisplayProcess, browser) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    page.goto(f"{display.url}/frame/living-room?caption=off")
    page.wait_for_selector("#waiting p")
    image = make_image(color=(30, 160, 90), size=(640, 360))
    publish(broker, image)
    wait_until_shown(page, str(image.id))
    assert page.evaluate(f"{SHOWN}.naturalWidth") == 640
    assert close_to(pixel(page, 640, 200), (30, 160, 90))  # a 16:9 picture fills a 16:9 screen
    assert page.is_hidden("#offline")

    page.set_viewport_size({"width": 720, "height": 1280})
    page.wait_for_timeout(300)  # the layout settles (no transition on resize)
    assert close_to(pixel(page, 360, 600), (30, 160, 90))  # portrait: the picture is whole, in the middle
    top = pixel(page, 360, 100)
    assert sum(top) < sum((30, 160, 90)) * 0.8  # above it, a dimmed blur of it, not the picture itself
    page.close()


def test_a_frame_asks_for_a_variant_at_its_screens_width(broker: Broker, display: DisplayProcess, browser) -> None:
    page = browser.new_page(viewport={"width": 900, "height": 506})
    served = []
    page.on("response", lambda r: served.append(r) if "/images/" in r.url else None)
    page.goto(f"{display.url}/frame/living-room?caption=off")
    page.wait_for_selector("#waiting p")
    image = make_image(color=(40, 90, 200), size=(1920, 1080))
    publish(broker, image)
    wait_until_shown(page, str(image.id))
    assert page.evaluate(f"{SHOWN}.src").endswith(f"/images/{image.id}?w=960")  # 900 px: the 960 bucket
    assert page.evaluate(f"{SHOWN}.naturalWidth") == 960
    assert {r.url.rsplit("/", 1)[1] for r in served} == {f"{image.id}?w=960"}
    assert {r.headers["content-type"] for r in served} == {"image/webp"}  # Chromium's Accept names WebP
    assert close_to(pixel(page, 450, 250), (40, 90, 200))
    page.close()


def test_a_frame_captions_the_words_behind_the_picture(broker: Broker, display: DisplayProcess, browser) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    page.goto(f"{display.url}/frame/living-room")
    page.wait_for_selector("#waiting p")
    image = make_image(excerpt="shall we fly the red kite")
    publish(broker, image)
    wait_until_shown(page, str(image.id))
    page.wait_for_selector("#caption.shown")
    assert page.inner_text("#caption-excerpt") == "“shall we fly the red kite”"
    assert page.inner_text("#caption-keywords").lower() == "lighthouse · dusk"
    page.close()


def test_a_frame_reconnects_after_the_server_restarts(broker: Broker, display: DisplayProcess, browser) -> None:
    page = browser.new_page(viewport={"width": 800, "height": 450})
    page.goto(f"{display.url}/frame/living-room")
    first = make_image(color=(200, 60, 60))
    publish(broker, first)
    wait_until_shown(page, str(first.id))
    display.restart()
    second = make_image(color=(60, 60, 200))
    publish(broker, second)
    wait_until_shown(page, str(second.id), timeout_ms=20000)
    page.close()


def test_next_picture_steps_a_frame_back_to_the_rooms_previous_picture(broker: Broker, display: DisplayProcess,
                                                                         browser) -> None:
    page = browser.new_page(viewport={"width": 800, "height": 450})
    page.goto(f"{display.url}/frame/living-room?cycle=3600")  # no step of its own while the test runs
    older, newer = make_image(color=(200, 60, 60)), make_image(color=(60, 60, 200))
    publish(broker, older)
    wait_until_shown(page, str(older.id))
    publish(broker, newer)
    wait_until_shown(page, str(newer.id))
    publish(broker, Control(room="living-room", source="homeassistant", command=Command.NEXT_PICTURE))
    wait_until_shown(page, str(older.id))
    page.close()


def test_the_dashboards_mute_switch_paint_and_language_send_controls(broker: Broker, display: DisplayProcess,
                                                                     browser) -> None:
    """The language is the room's: a dashboard opened later (here in German) shows the one set."""
    controls = broker.tap("control.#")
    publish(broker, MicStatus(room="living-room", source="sofa-mic", level_dbfs=-20, speech_ratio=0.6,
                              device="USB Audio"))
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    page.goto(f"{display.url}/#living-room")
    switch = page.locator('.mic[data-mic="sofa-mic"] .switch')
    switch.wait_for()
    assert switch.get_attribute("aria-pressed") == "false"
    switch.click()
    _, body = wait_for(lambda: broker.get(controls), timeout=5, message="the mute Control")
    mute = Control.from_json(body)
    assert (mute.command, mute.room, mute.mic, mute.source) == (Command.MUTE, "living-room", "sofa-mic", "dashboard")
    page.click("#paint-now")
    _, body = wait_for(lambda: broker.get(controls), timeout=5, message="the paint_now Control")
    assert Control.from_json(body).command == Command.PAINT_NOW
    page.select_option("#language", "de")
    _, body = wait_for(lambda: broker.get(controls), timeout=5, message="the set_language Control")
    assert (Control.from_json(body).command, Control.from_json(body).value) == (Command.SET_LANGUAGE, "de")
    page.close()
    wait_for(lambda: any(r["language"] == "de" for r in requests.get(f"{display.url}/api/rooms", timeout=5).json()),
             timeout=5, message="the display to keep the room's language")
    german = browser.new_context(locale="de-DE")
    later = german.new_page()
    later.goto(f"{display.url}/#living-room")
    later.wait_for_function("() => document.getElementById('language').value === 'de'")
    assert later.locator("#language").evaluate("s => s.closest('label').textContent.trim()").startswith("Sprache")
    german.close()


def test_the_upload_page_follows_a_job_to_its_picture(broker: Broker, display: DisplayProcess, browser,
                                                      speech_dir: Path, tmp_path: Path) -> None:
    recording = tmp_path / "two-lines.wav"
    recording.write_bytes(two_utterances(speech_dir))
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{display.url}/upload")
    page.set_input_files("#audio", str(recording))
    page.select_option("#language", "de")  # the form names the recording's language: its segments carry it
    page.click("#send")
    page.wait_for_url("**/jobs/*")
    page.wait_for_selector('#job[data-status="queued"]')
    segments = [AudioSegment.from_json(body) for _, body in broker.drain(broker.topology.job_audio.name)]
    assert segments and {s.language for s in segments} == {"de"}
    publish(broker, *(s.derive(Transcript, audio_id=str(s.id), text=f"part {s.sequence} of the story",
                               sequence=s.sequence, engine="faster-whisper", model="tiny.en", audio_seconds=1,
                               processing_seconds=0.1)
                      for s in segments))
    page.wait_for_selector('#job[data-status="choosing"]')
    prompt = segments[0].derive(ImagePrompt, text="a story told by the fire",
                                keywords=(Keyword(text="story", score=1),))
    publish(broker, prompt, prompt.derive(GeneratedImage, key="0", image=png((220, 150, 40)), mime_type="image/png",
                                          width=320, height=180, backend="poster", prompt_id=str(prompt.id),
                                          prompt_text=prompt.text, generation_seconds=0.1))
    page.wait_for_selector('#job[data-status="done"]')
    # a function, not a string: the page's CSP forbids evaluating a string, as polling a loading picture would
    page.wait_for_function("() => document.querySelector('#job-images img')?.naturalWidth > 0")
    assert (page.locator("#job-transcript .line-text").all_inner_texts()
            == ["part 0 of the story", "part 1 of the story"])
    assert page.locator(".steps li.done").count() == 5
    page.close()


@pytest.fixture
def real_workers(broker: Broker, tmp_path: Path):
    """The real transcriber, prompter and generator (poster backend) on the test's namespace."""
    env = {**os.environ, "VOXFRAME_NAMESPACE": broker.settings.namespace, "VOXFRAME_AMQP_URL": broker.settings.amqp_url}
    commands = {"transcriber": ["--model", "tiny.en"], "prompter": [], "generator": ["--backend", "poster"]}
    workers = []
    for name, extra in commands.items():
        with (tmp_path / f"{name}.log").open("wb") as log:  # the child has its own copy once started
            workers.append(subprocess.Popen([sys.executable, "-m", "shared.cli", name, "--metrics-port", "0",
                                             *extra], env=env, stdout=log, stderr=subprocess.STDOUT))
    yield tmp_path
    for worker in workers:
        worker.send_signal(signal.SIGTERM)
    for worker in workers:
        try:
            worker.wait(20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(5)


@pytest.mark.slow
def test_an_uploaded_recording_is_transcribed_and_painted_by_the_real_workers(
        broker: Broker, display: DisplayProcess, browser, speech_dir: Path, real_workers: Path) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.goto(f"{display.url}/upload")
    page.set_input_files("#audio", str(speech_dir / "pocketsphinx_librivox_ss01_0870.wav"))
    page.fill("#room", "study")
    page.click("#send")
    page.wait_for_url("**/jobs/*")
    try:
        page.wait_for_selector('#job[data-status="done"], #job[data-status="error"]', timeout=120_000)
    except PlaywrightTimeout:
        logs = "\n".join(f"--- {p.name}\n{p.read_text()[-1500:]}" for p in real_workers.glob("*.log"))
        raise AssertionError(f"job did not finish; worker logs:\n{logs}") from None
    assert page.get_attribute("#job", "data-status") == "done", page.inner_text("#job-error")
    # a function, not a string: the page's CSP forbids evaluating a string, as polling a loading picture would
    page.wait_for_function("() => document.querySelector('#job-images img')?.naturalWidth > 0")
    transcript = page.inner_text("#job-transcript").lower()
    assert "dashwood" in transcript or "leisure" in transcript, transcript
    page.screenshot(path=str(real_workers / "job-done.png"), full_page=True)
    page.close()


def test_a_frame_paired_from_the_dashboard_by_its_qr_code_shows_captions_that_others_do_not(
        broker: Broker, display_factory, browser) -> None:
    """With a token: an unpaired frame shows the picture alone; pairing it once from the dashboard (the link, also
    as a QR code of it) brings the caption. No page breaks its own Content-Security-Policy on the way (the
    console would say "Refused to")."""
    display = display_factory(VOXFRAME_DISPLAY_TOKEN="wall-token")
    image = make_image(excerpt="shall we fly the red kite")
    publish(broker, image)
    refused: list[str] = []
    dashboard = browser.new_context(viewport={"width": 1440, "height": 900})  # two devices: separate cookies
    screen = browser.new_context(viewport={"width": 800, "height": 450})
    for context in (dashboard, screen):
        context.on("console", lambda message: "Refused to" in message.text and refused.append(message.text))
    frame = screen.new_page()
    frame.goto(f"{display.url}/frame/living-room")
    wait_until_shown(frame, str(image.id))
    assert frame.is_hidden("#caption") and "red kite" not in frame.content()

    board = dashboard.new_page()
    board.goto(f"{display.url}/?token=wall-token#living-room")
    board.fill("#pair-name", "hall")
    board.click("#pair-form button")
    link = board.locator("#pair-link code")
    link.wait_for()
    board.locator("#pairings li", has_text="hall").wait_for()
    qr = board.locator("#pair-link img.pair-qr")  # one step for a tablet: scan the link
    assert qr.evaluate("img => img.complete && img.naturalWidth > 0")  # drawn, within the page's CSP
    assert qr.get_attribute("src") == segno.make(link.inner_text(), error="m").svg_data_uri(scale=4, border=2)

    frame.goto(link.inner_text())
    wait_until_shown(frame, str(image.id))
    frame.wait_for_selector("#caption.shown")
    assert frame.inner_text("#caption-excerpt") == "“shall we fly the red kite”"
    assert refused == []
    dashboard.close()
    screen.close()
