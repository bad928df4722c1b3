"""The gallery on a real SQLite file (tests/display/test_shared_database.py runs it on PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

from services.display.gallery.db import Database
from services.display.gallery.store import Gallery
from services.display.views import ImageView
from shared.messages import ImagePrompt, Keyword, Transcript
from shared.messages.image import DrawnElement, Layout
from tests.display.conftest import make_image


def open_gallery(tmp_path: Path, max_images: int = 100, max_bytes: int = 10**9) -> Gallery:
    return Gallery(Database(tmp_path / "gallery.sqlite3"), max_images, max_bytes)


def test_a_redelivered_image_is_stored_once(tmp_path: Path) -> None:
    gallery = open_gallery(tmp_path)
    image = make_image()
    assert gallery.add_image(image) is not None
    assert gallery.add_image(image) is None
    assert [i.id for i in gallery.images("living-room", 10)] == [str(image.id)]
    assert gallery.totals() == (1, len(image.image))


def test_images_come_back_with_their_provenance(tmp_path: Path) -> None:
    gallery = open_gallery(tmp_path)
    line = Transcript(room="living-room", source="sofa-mic", audio_id="a1", text="the lighthouse at dusk",
                      engine="faster-whisper", model="tiny.en", audio_seconds=2, processing_seconds=0.3)
    prompt = ImagePrompt(room="living-room", source="sofa-mic", text="a lighthouse at dusk",
                         keywords=(Keyword(text="lighthouse", score=1.0),), transcript_ids=(str(line.id),))
    gallery.add_transcript(line)
    gallery.add_prompt(prompt)
    gallery.add_image(make_image(prompt_id=str(prompt.id)))
    [view] = gallery.images("living-room", 10)
    assert [t.text for t in view.transcripts] == ["the lighthouse at dusk"]
    assert view.transcripts[0].source == "sofa-mic"
    assert [k.text for k in view.keywords] == ["lighthouse", "dusk"]
    assert view.url == f"/images/{view.id}"


def test_the_gallery_survives_reopening(tmp_path: Path) -> None:
    image = make_image()
    open_gallery(tmp_path).add_image(image)
    again = open_gallery(tmp_path)
    stored = again.image_file(str(image.id))
    assert stored.data == image.image and stored.mime_type == "image/png" and stored.width == 320


def test_oldest_images_are_pruned_past_the_count_budget(tmp_path: Path) -> None:
    gallery = open_gallery(tmp_path, max_images=3)
    images = [make_image(color=(10 * i, 0, 0)) for i in range(5)]
    for image in images:
        gallery.add_image(image)
        gallery.prune()
    kept = [i.id for i in gallery.images("living-room", 10)]
    assert kept == [str(i.id) for i in reversed(images[2:])]
    assert gallery.totals()[0] == 3
    assert gallery.image_file(str(images[0].id)) is None
    with gallery.db.connection() as conn:  # the bytes went with their rows
        assert conn.execute("SELECT COUNT(*) FROM image_data").fetchone()[0] == 3


def test_oldest_images_are_pruned_past_the_size_budget(tmp_path: Path) -> None:
    size = len(make_image().image)
    gallery = open_gallery(tmp_path, max_bytes=int(size * 2.5))
    for i in range(4):
        gallery.add_image(make_image(color=(0, 0, 40 * i)))
        gallery.prune()
    count, total = gallery.totals()
    assert count == 2 and total <= size * 2.5


def test_downloads_refuse_path_tricks(tmp_path: Path) -> None:
    gallery = open_gallery(tmp_path)
    (tmp_path / "secret.txt").write_text("secret")
    for trick in ("../secret.txt", "..%2Fsecret.txt", "/etc/passwd", "", "not-a-uuid"):
        assert gallery.image_file(trick) is None


def test_an_image_keeps_what_it_depicts_and_the_scene_it_was_painted_from(tmp_path: Path) -> None:
    """SQLite here; the same columns on PostgreSQL in test_image_scene_on_postgresql. Without a right to the
    room's words, the scene (its keywords) goes with the other words; the layout (boxes and motion, no words)
    stays, so a frame paired for pictures only moves them too."""
    from services.display.web.access import pictures_only

    view = _scene_round_trip(open_gallery(tmp_path))
    assert pictures_only(view).scene is None and pictures_only(view).layout == view.layout


def test_image_scene_on_postgresql() -> None:
    from tests.support import postgres_database

    with postgres_database() as url:
        _scene_round_trip(Gallery(Database(url), 100, 10**9))


def _scene_round_trip(gallery: Gallery) -> ImageView:
    from services.prompter.scene import update

    first = update(None, {"lighthouse": 1.0, "boat": 0.6}, ["We watched the lighthouse at night."], "den")
    scene = update(first, {"lighthouse": 1.0, "gull": 0.8}, ["A gull sat on the lighthouse."], "den")
    boxes = {e.id: (e.x * 0.8, 0.4, e.x * 0.8 + 0.2, 0.8) for e in scene.elements}
    layout = Layout(elements=tuple(DrawnElement(id=id, box=box) for id, box in boxes.items()), horizon=0.58, stars=True)
    image = make_image(depicted=("lighthouse", "gull", "boat"), scene=scene, layout=layout)
    gallery.add_image(image)
    plain = make_image()
    gallery.add_image(plain)
    view = gallery.image(str(image.id))
    assert view is not None and view.depicted == ["lighthouse", "gull", "boat"]
    assert view.scene == scene and view.scene.window == 2 and view.scene.time_of_day == "night"
    assert view.layout == layout
    assert {e.keyword for e in view.scene.elements if e.fading} == {"boat"}
    unscened = gallery.image(str(plain.id))
    assert unscened is not None and unscened.scene is None and unscened.layout is None
    return view
