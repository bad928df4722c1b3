"""Displays behind one address: real `voxframe display` processes, each with its own data dir, on one PostgreSQL
database (the real one of this machine, a database of the test's own) serve one gallery and the same images."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import requests

from tests.display.conftest import DisplayProcess, make_image, publish
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
