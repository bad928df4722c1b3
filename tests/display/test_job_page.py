"""The job page in real headless Chromium: the transcript as timed lines, its downloads, pictures linked to lines."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urljoin

import pytest
import requests

from shared.messages import (
    NOTHING_TO_PAINT,
    AudioSegment,
    GeneratedImage,
    ImagePrompt,
    JobText,
    JobUnpainted,
    Keyword,
    Transcript,
)
from tests.display import test_assemblyai_jobs
from tests.display.conftest import DisplayProcess, png, publish
from tests.display.test_jobs import two_utterances, upload
from tests.fakes.assemblyai_rest import FakeAssemblyAIRest, Script
from tests.support import Broker, wait_for

SAID = test_assemblyai_jobs.SAID
fake = test_assemblyai_jobs.fake  # its fixtures: a display whose uploads go to the fake of AssemblyAI's REST API
assemblyai_display = test_assemblyai_jobs.assemblyai_display

pytestmark = pytest.mark.browser

IN_VIEW = """id => { const box = document.getElementById(id).getBoundingClientRect();
                     return box.top >= 0 && box.bottom <= innerHeight; }"""


def mmss(seconds: float) -> str:
    return f"{int(seconds) // 60:02d}:{int(seconds) % 60:02d}"


def test_the_job_page_shows_timed_lines_downloads_and_links_each_picture_to_its_lines(
        broker: Broker, display: DisplayProcess, browser, speech_dir: Path, tmp_path: Path) -> None:
    recording = tmp_path / "two-lines.wav"
    recording.write_bytes(two_utterances(speech_dir))
    page = browser.new_page(viewport={"width": 1280, "height": 700})
    refused: list[str] = []
    page.on("console", lambda message: "Refused to" in message.text and refused.append(message.text))
    page.goto(f"{display.url}/upload")
    page.set_input_files("#audio", str(recording))
    page.click("#send")
    page.wait_for_url("**/jobs/*")
    page.wait_for_selector('#job[data-status="queued"]')
    job_id = page.url.rsplit("/", 1)[1]
    segments = [AudioSegment.from_json(body) for _, body in broker.drain(broker.topology.job_audio.name)]
    assert len(segments) == 2
    page.wait_for_selector("#job-transcript .line")
    assert page.locator("#job-transcript .line.pending").count() == 2  # greyed until a transcriber has them
    assert page.is_hidden("#job-downloads")  # nothing to download yet

    transcripts = [s.derive(Transcript, audio_id=str(s.id), text=f"part {s.sequence} of the story", sequence=s.sequence,
                            engine="faster-whisper", model="tiny.en", audio_seconds=1, processing_seconds=0.1)
                   for s in segments]
    publish(broker, *transcripts)
    page.wait_for_selector('#job[data-status="choosing"]')
    page.wait_for_selector("#job-transcript .line.said >> nth=1")
    starts = [line["start_seconds"] for line in
              requests.get(f"{display.url}/api/uploads/{job_id}", timeout=10).json()["lines"]]
    assert starts[1] >= 2  # two seconds of silence part them
    assert page.locator("#job-transcript .line-time").all_inner_texts() == [mmss(s) for s in starts]
    assert (page.locator("#job-transcript .line-text").all_inner_texts()
            == ["part 0 of the story", "part 1 of the story"])
    assert page.locator("#job-transcript .line.pending").count() == 0

    page.wait_for_selector("#job-downloads", state="visible")
    for fmt, content_type, first in (("txt", "text/plain", "part 0 of the story"), ("vtt", "text/vtt", "WEBVTT"),
                                     ("srt", "application/x-subrip", "1")):
        link = page.locator(f'#job-downloads a[data-format="{fmt}"]')
        assert link.get_attribute("aria-label")
        answer = page.request.get(urljoin(page.url, link.get_attribute("href")))
        assert answer.status == 200, fmt
        assert answer.headers["content-type"].startswith(content_type), answer.headers
        assert answer.text().startswith(first) and "part 1 of the story" in answer.text(), answer.text()

    prompt = segments[0].derive(ImagePrompt, text="a story told by the fire",
                                keywords=(Keyword(text="story", score=1),), transcript_ids=(str(transcripts[1].id),))
    image = prompt.derive(GeneratedImage, key="0", image=png((220, 150, 40)), mime_type="image/png",
                          width=320, height=180, backend="poster", prompt_id=str(prompt.id), prompt_text=prompt.text,
                          generation_seconds=0.1)
    publish(broker, prompt, image)
    page.wait_for_selector('#job[data-status="done"]')
    page.wait_for_function("() => document.querySelector('#job-images img')?.naturalWidth > 0")
    figure = f"picture-{image.id}"

    from_lines = page.locator(f"#{figure} a.from-lines")
    assert from_lines.get_attribute("href") == "#line-1"
    assert from_lines.inner_text() == f"from the line at {mmss(starts[1])}"
    assert page.locator("#job-transcript .linked, #job-transcript [aria-current]").count() == 0
    from_lines.click()
    page.wait_for_selector('#line-1.linked[aria-current="true"]')
    assert page.locator("#job-transcript .linked").count() == 1  # only the line the prompt named
    assert page.url.endswith("#line-1")
    page.wait_for_function(IN_VIEW, arg="line-1")

    assert page.locator("#line-0 .line-picture").count() == 0
    marker = page.locator("#line-1 .line-picture")
    assert marker.get_attribute("href") == f"#{figure}"
    assert "picture 1" in marker.get_attribute("aria-label")
    marker.click()
    page.wait_for_url(f"**#{figure}")
    page.wait_for_function(IN_VIEW, arg=figure)
    assert "chosen" in page.get_attribute(f"#{figure}", "class")

    page.evaluate("() => scrollTo(0, 0)")
    page.click(f"#{figure} a.picture-link")  # the picture itself goes to its lines too
    page.wait_for_url("**#line-1")
    page.wait_for_function(IN_VIEW, arg="line-1")
    assert page.get_attribute("#line-1", "aria-current") == "true"

    page.goto("about:blank")  # an address naming the picture highlights its lines once the page has built them
    page.goto(f"{display.url}/jobs/{job_id}#{figure}")
    page.wait_for_selector('#line-1.linked[aria-current="true"]')
    assert refused == []
    page.screenshot(path=str(tmp_path / "job-page.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(tmp_path / "job-page-narrow.png"), full_page=True)
    page.close()


def test_the_job_page_says_when_nothing_picturable_was_said(broker: Broker, display: DisplayProcess, browser,
                                                           speech_dir: Path) -> None:
    """Done, every step ticked, the words shown and the note where a picture would be: not an error, not waiting."""
    texts = broker.tap("job.text.#")
    job_id = upload(display, two_utterances(speech_dir)).json()["job_id"]
    page = browser.new_page(viewport={"width": 1280, "height": 700})
    page.goto(f"{display.url}/jobs/{job_id}")
    page.wait_for_selector('#job[data-status="queued"]')
    segments = [AudioSegment.from_json(body) for _, body in broker.drain(broker.topology.job_audio.name)]
    publish(broker, *(s.derive(Transcript, audio_id=str(s.id), text="he might even have been made amiable himself",
                               sequence=s.sequence, engine="faster-whisper", model="tiny.en", audio_seconds=1,
                               processing_seconds=0.1) for s in segments))
    page.wait_for_selector('#job[data-status="choosing"]')
    text = JobText.from_json(wait_for(lambda: broker.get(texts), timeout=5, message="the job's text")[1])
    publish(broker, text.derive(JobUnpainted, key="unpainted", job_id=job_id, reason="nothing_usable"))
    page.wait_for_selector('#job[data-status="done"]')
    assert page.inner_text("#job-note") == NOTHING_TO_PAINT and page.is_hidden("#job-error")
    assert page.locator("#steps li.done").count() == 5
    assert "nothing picturable" in page.inner_text("#job-images").lower()
    assert page.locator("#job-transcript .line.said").count() == len(segments)
    page.close()


def test_the_job_page_names_the_speakers_assemblyai_heard(
        broker: Broker, fake: FakeAssemblyAIRest, assemblyai_display, browser, speech_dir: Path) -> None:
    display = assemblyai_display(webhook=True)
    fake.scripts.append(Script(utterances=SAID, complete_after_seconds=0.5))
    accepted = upload(display, two_utterances(speech_dir))
    assert accepted.status_code == 202, accepted.text
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(f"{display.url}/jobs/{accepted.json()['job_id']}")
    page.wait_for_selector("#job-transcript .line.said >> nth=1", timeout=15000)
    assert page.locator("#job-transcript .line-speaker").all_inner_texts() == ["Speaker A", "Speaker B"]
    assert page.locator("#job-transcript .line-text").all_inner_texts() == [text for _, text in SAID]
    assert page.locator("#job-transcript .line-time").first.inner_text() == "00:00"
    assert page.is_visible("#job-downloads")
    page.close()


def test_a_living_uploads_scenes_show_as_a_filmstrip_in_the_order_of_the_recording(
        broker: Broker, display: DisplayProcess, browser, speech_dir: Path, tmp_path: Path) -> None:
    """A prompt with a sequence of scenes gets a picture of each (index i paints scene i); the job page lays
    them side by side in that order, scrolling along when the screen is narrow."""
    from services.prompter.scene import update

    recording = tmp_path / "two-lines.wav"
    recording.write_bytes(two_utterances(speech_dir))
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(f"{display.url}/upload")
    page.set_input_files("#audio", str(recording))
    page.click("#send")
    page.wait_for_url("**/jobs/*")
    page.wait_for_selector('#job[data-status="queued"]')
    segments = [AudioSegment.from_json(body) for _, body in broker.drain(broker.topology.job_audio.name)]
    publish(broker, *[s.derive(Transcript, audio_id=str(s.id), text=f"part {s.sequence}", sequence=s.sequence,
                               engine="faster-whisper", model="tiny.en", audio_seconds=1, processing_seconds=0.1)
                      for s in segments])
    page.wait_for_selector('#job[data-status="choosing"]')
    scenes = [update(None, {"tent": 1.0}, [], "den")]
    scenes += [update(scenes[-1], talked, [], "den") for talked in ({"campfire": 1.0}, {"cake": 1.0})]
    prompt = segments[0].derive(ImagePrompt, text="a camping trip, then a birthday", num_images=3,
                                sequence=tuple(scenes))
    colours = ((40, 120, 60), (220, 120, 30), (200, 60, 140))
    images = [prompt.derive(GeneratedImage, key=str(i), image=png(colours[i]), mime_type="image/png", width=320,
                            height=180, backend="illustrator", prompt_id=str(prompt.id), prompt_text=prompt.text,
                            index=i, generation_seconds=0.1, scene=scenes[i]) for i in range(3)]
    publish(broker, prompt, *images)
    page.wait_for_selector('#job[data-status="done"]')
    page.wait_for_function("() => [...document.querySelectorAll('#job-images img')].every((i) => i.naturalWidth)"
                           " && document.querySelectorAll('#job-images img').length === 3")
    assert "filmstrip" in page.get_attribute("#job-images", "class")
    boxes = [page.locator(f"#picture-{image.id}").bounding_box() for image in images]
    assert [round(b["y"]) for b in boxes] == [round(boxes[0]["y"])] * 3  # one row
    assert boxes[0]["x"] < boxes[1]["x"] < boxes[2]["x"]  # in the order of the recording
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("() => { const s = document.getElementById('job-images');"
                         " return s.scrollWidth > s.clientWidth; }")  # narrow: the strip scrolls along
    page.close()
