"""Spoken commands in real headless Chromium: the frame confirms them and answers "what is this?"; the dashboard
shows the command as a command and dims the words the engine was unsure of."""

from __future__ import annotations

import pytest

from shared.messages import SpokenAction, SpokenCommand, Transcript, Word
from tests.display.conftest import DisplayProcess, make_image, publish
from tests.display.test_browser import wait_until_shown
from tests.support import Broker

pytestmark = pytest.mark.browser


def _line(audio_id: str, text: str, *words: Word) -> Transcript:
    return Transcript(room="living-room", source="sofa-mic", audio_id=audio_id, text=text, words=words,
                      engine="faster-whisper", model="tiny.en", audio_seconds=1, processing_seconds=0.1)


def _spoken(line: Transcript, action: SpokenAction, subject: str = "") -> SpokenCommand:
    return line.derive(SpokenCommand, key="spoken", transcript_id=str(line.id), action=action, subject=subject,
                       heard=line.text.split(",", 1)[-1].strip())


def test_the_frame_confirms_a_command_and_tells_what_it_shows(broker: Broker, display: DisplayProcess,
                                                              browser) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    page.goto(f"{display.url}/frame/living-room?caption=off")
    image = make_image()
    publish(broker, image)
    wait_until_shown(page, str(image.id))
    assert page.is_hidden("#caption")
    paint = _line("a1", "Hey frame, paint a red dragon.")
    publish(broker, paint, _spoken(paint, SpokenAction.PAINT, "a red dragon"))
    page.wait_for_function("() => document.querySelector('#command-toast.shown')?.textContent.includes('red dragon')")
    what = _line("a2", "Hey frame, what is this?")
    publish(broker, what, _spoken(what, SpokenAction.DESCRIBE))
    page.wait_for_function("""() => !document.getElementById('caption').hidden
        && document.getElementById('caption-keywords').textContent.includes('lighthouse')
        && document.getElementById('caption-keywords').textContent.includes('poster')""")
    assert "lighthouse at dusk" in page.inner_text("#caption-excerpt")


def test_the_dashboard_marks_commands_and_dims_unsure_words(broker: Broker, display: DisplayProcess,
                                                            browser) -> None:
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{display.url}/#living-room")
    page.wait_for_selector("#link.ok")  # its socket is live: the events below reach it, not only the API
    talk = _line("b1", "A mallet of snow.", Word(text="A", start_seconds=0, end_seconds=0.1, confidence=0.9),
                 Word(text="mallet", start_seconds=0.1, end_seconds=0.4, confidence=0.2),
                 Word(text="of", start_seconds=0.4, end_seconds=0.5, confidence=0.9),
                 Word(text="snow.", start_seconds=0.5, end_seconds=0.9, confidence=0.95))
    mute = _line("b2", "Hey frame, stop listening.")
    publish(broker, talk, mute, _spoken(mute, SpokenAction.MUTE))
    page.wait_for_selector("#transcripts li.command", timeout=10000)
    assert not errors
    assert page.inner_text("#transcripts .unsure").strip() == "mallet"
    command = page.inner_text("#transcripts li.command")
    assert "stop listening" in command and "muting" in command
    page.wait_for_function("() => document.getElementById('toast').textContent.includes('muting')")
