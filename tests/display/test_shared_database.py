"""Displays behind one address: real `voxframe display` processes, each with its own data dir, on one PostgreSQL
database (the real one of this machine, a database of the test's own) serve one gallery and the same images."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import requests

from shared.messages import AudioSegment, ImagePrompt, JobText, Keyword
from tests.display.conftest import DisplayProcess, make_image, publish
from tests.display.test_jobs import job, transcribe, two_utterances, upload
from tests.support import Broker, postgres_database, wait_for


@pytest.fixture
def database_url() -> Iterator[str]:
    with postgres_database() as url:
        yield url


def listed(display: DisplayProcess) -> list[str]:
    return [i["id"] for i in requests.get(f"{display.url}/api/rooms/living-room/images", timeout=5).json()]


@pytest.mark.slow  # three display processes
def test_displays_on_one_database_serve_one_gallery(broker: Broker, database_url: str,
                                                    display_factory: Callable[..., DisplayProcess]) -> None:
    one = display_factory(VOXFRAME_DATABASE_URL=database_url)
    two = display_factory(VOXFRAME_DATABASE_URL=database_url)
    image = make_image()
    publish(broker, image)
    for display in (one, two):
        wait_for(lambda d=display: listed(d), timeout=10, message=f"the image on display {display.display_id}")
        assert listed(display) == [str(image.id)]
        served = requests.get(f"{display.url}/images/{image.id}", timeout=5)
        assert served.status_code == 200 and served.content == image.image
        assert served.headers["etag"] == f'"{image.id}"'
    late = display_factory(VOXFRAME_DATABASE_URL=database_url)  # never got the message: reads the database
    assert listed(late) == [str(image.id)]
    assert requests.get(f"{late.url}/images/{image.id}", timeout=5).content == image.image
    assert requests.get(f"{late.url}/images/{image.id}?w=640", headers={"Accept": "image/webp"},
                        timeout=5).headers["content-type"] == "image/webp"
    for display in (one, two, late):  # nothing of the gallery on any host's disk
        assert not list(display.data_dir.glob("gallery.sqlite3*")) and not (display.data_dir / "images").exists()


@pytest.mark.slow
def test_a_frame_paired_on_one_display_is_known_to_the_other(broker: Broker, database_url: str,
                                                             display_factory: Callable[..., DisplayProcess]) -> None:
    token = "s3cret-token"
    one = display_factory(VOXFRAME_DATABASE_URL=database_url, VOXFRAME_DISPLAY_TOKEN=token)
    two = display_factory(VOXFRAME_DATABASE_URL=database_url, VOXFRAME_DISPLAY_TOKEN=token)
    made = requests.post(f"{one.url}/api/pairings", json={"name": "hall", "room": "living-room"},
                         headers={"Authorization": f"Bearer {token}"}, timeout=5)
    assert made.status_code in (200, 201), made.text
    pairings = requests.get(f"{two.url}/api/pairings", headers={"Authorization": f"Bearer {token}"}, timeout=5)
    assert [p["name"] for p in pairings.json()] == ["hall"]


@pytest.mark.slow
def test_an_upload_accepted_by_one_display_is_followed_to_done_on_another(
        broker: Broker, database_url: str, display_factory: Callable[..., DisplayProcess], speech_dir) -> None:
    """Job state lives in the shared database, so the display that took the upload may go away: the other
    follows the job to done, serves its picture, and the first answers the same when it is back."""
    texts = broker.tap("job.text.#")
    one = display_factory(VOXFRAME_DATABASE_URL=database_url)
    two = display_factory(VOXFRAME_DATABASE_URL=database_url)
    accepted = upload(one, two_utterances(speech_dir), room="kitchen")
    assert accepted.status_code == 202, accepted.text
    job_id = accepted.json()["job_id"]
    assert job(two, job_id)["status"] == "queued"  # the other display knows it at once
    one.stop()  # only the second display is left to follow the job
    segments = [AudioSegment.from_json(body) for _, body in broker.drain(broker.topology.job_audio.name)]
    publish(broker, *(transcribe(s, f"line {s.sequence} about the lighthouse") for s in segments))
    _, body = wait_for(lambda: broker.get(texts), timeout=10, message="the job's text, sent by the second display")
    text = JobText.from_json(body)
    prompt = text.derive(ImagePrompt, text="a lighthouse", keywords=(Keyword(text="lighthouse", score=1.0),),
                         transcript_ids=(text.lines[0].transcript_id,))
    image = make_image(room="kitchen", job_id=job_id, prompt_id=str(prompt.id), source="upload")
    publish(broker, prompt, image)
    done = wait_for(lambda: (j := job(two, job_id))["status"] == "done" and j, timeout=20,
                    message=f"done on two: {job(two, job_id)}")
    assert [i["id"] for i in done["images"]] == [str(image.id)] and done["image_lines"] == {str(image.id): [0]}
    assert requests.get(f"{two.url}/images/{image.id}", timeout=5).content == image.image
    one.start()
    assert job(one, job_id)["status"] == "done"
    assert requests.get(f"{one.url}/api/uploads/{job_id}/transcript.txt", timeout=5).text.startswith("line 0 about")
