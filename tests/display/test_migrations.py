"""The display's schema by migrations, and the one connection contract, on SQLite and the real PostgreSQL."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from services.display.gallery.db import MIGRATIONS, VERSION_TABLE, Database
from services.display.gallery.store import Gallery
from shared import database
from tests.display.conftest import REPO, make_image
from tests.support import postgres_database, wait_for

# The schema as the display made it before migrations (CREATE TABLE IF NOT EXISTS at every start).
_OLD_SCHEMA = """
CREATE TABLE images (
    id TEXT PRIMARY KEY, room TEXT NOT NULL, source TEXT NOT NULL, job_id TEXT, trace_id TEXT NOT NULL,
    prompt_id TEXT NOT NULL, prompt_text TEXT NOT NULL, keywords TEXT NOT NULL, style TEXT NOT NULL,
    excerpt TEXT NOT NULL, backend TEXT NOT NULL, fallback INTEGER NOT NULL, width INTEGER NOT NULL,
    height INTEGER NOT NULL, mime_type TEXT NOT NULL, file TEXT NOT NULL, bytes INTEGER NOT NULL,
    generation_seconds REAL NOT NULL, origin_at TEXT NOT NULL, created_at TEXT NOT NULL, received_at REAL NOT NULL
);
CREATE TABLE jobs (
    id TEXT PRIMARY KEY, room TEXT NOT NULL, filename TEXT NOT NULL, status TEXT NOT NULL,
    segments INTEGER NOT NULL, num_images INTEGER, audio_seconds REAL NOT NULL, error TEXT,
    created_at REAL NOT NULL, updated_at REAL NOT NULL
);
"""


ALL = sorted(p.name.split("_")[0] for p in (MIGRATIONS / "versions").glob("[0-9]*.py"))


@pytest.fixture(params=["sqlite", "postgresql"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path | str]:
    """A fresh, empty database of either kind."""
    if request.param == "sqlite":
        yield tmp_path / "gallery.sqlite3"
    else:
        with postgres_database() as url:
            yield url


def test_migrations_apply_on_an_empty_database_and_then_have_nothing_to_do(target: Path | str) -> None:
    first = Database(target)
    assert first.applied == ALL and ALL[:2] == ["0001", "0002"]
    first.close()
    again = Database(target)
    assert again.applied == []
    with again.connection() as conn:
        assert conn.execute("SELECT version_num FROM display_alembic_version").fetchone()["version_num"] == ALL[-1]
        assert conn.execute("SELECT COUNT(*) FROM image_data").fetchone()[0] == 0
    again.close()


def test_the_connection_contract_is_the_same_on_both(target: Path | str) -> None:
    db = database.Database(target)
    with db.connection() as conn:
        conn.execute("CREATE TABLE things (id TEXT PRIMARY KEY, name TEXT NOT NULL, at DOUBLE PRECISION NOT NULL, "
                     "n INTEGER)")
        conn.executemany("INSERT INTO things VALUES (?,?,?,?)", [(f"t{i}", "a.wav", 1e9 + i, None) for i in range(3)])
        cur = conn.execute("UPDATE things SET n=? WHERE name LIKE '%.wav' AND n IS NULL", (7,))
        assert cur.rowcount == 3
        row = conn.execute("SELECT id, at FROM things WHERE id=?", ("t2",)).fetchone()
        assert (row["id"], row[1]) == ("t2", 1e9 + 2) and tuple(row) == ("t2", 1e9 + 2)
        assert conn.execute("INSERT INTO things VALUES (?,?,?,?) ON CONFLICT DO NOTHING",
                            ("t2", "b.wav", 0.0, None)).rowcount == 0
    with pytest.raises(RuntimeError), db.connection() as conn:  # an exception rolls the block back
        conn.execute("DELETE FROM things")
        raise RuntimeError
    with db.connection() as conn:
        assert [r["id"] for r in conn.execute("SELECT id FROM things ORDER BY id")] == ["t0", "t1", "t2"]
    db.close()


def test_the_gallery_works_the_same_on_both(target: Path | str) -> None:
    gallery = Gallery(Database(target), max_images=2, max_bytes=10**9)
    images = [make_image(color=(0, 40 * i, 0)) for i in range(3)]
    for image in images:
        assert gallery.add_image(image) is not None
        gallery.prune()
    assert gallery.add_image(images[-1]) is None  # a redelivery
    assert [i.id for i in gallery.images("living-room", 10)] == [str(i.id) for i in reversed(images[1:])]
    assert gallery.rooms()["living-room"].images == 2
    fresh = Gallery(Database(target), max_images=2, max_bytes=10**9)  # nothing in its memory
    assert fresh.image_file(str(images[-1].id)).data == images[-1].image
    assert fresh.image_file(str(images[0].id)) is None
    assert fresh.add_image(images[-1]) is not None  # stored by another display: news to this one's frames


def test_displays_migrating_one_postgresql_at_once_all_start() -> None:
    with postgres_database() as url, psycopg.connect(url, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (zlib.crc32(VERSION_TABLE.encode()),))
        code = f"from services.display.gallery.db import Database; print(','.join(Database({url!r}).applied))"
        starts = [subprocess.Popen([sys.executable, "-c", code], cwd=REPO, stdout=subprocess.PIPE, text=True)
                  for _ in range(3)]
        wait_for(lambda: holder.execute("SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' "
                                        "AND NOT granted").fetchone()[0] == 3,
                 timeout=60, message="three displays to wait on the migration lock at once")
        holder.execute("SELECT pg_advisory_unlock_all()")
        outputs = sorted(p.communicate(timeout=60)[0].strip() for p in starts)
        assert [p.returncode for p in starts] == [0, 0, 0]
        assert outputs == ["", "", ",".join(ALL)]


def test_a_postgresql_restart_costs_no_error() -> None:
    with postgres_database() as url:
        db = Database(url)
        with psycopg.connect(url, autocommit=True) as admin:  # what a restart does to every open connection
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE datname = current_database() AND pid <> pg_backend_pid()")
        with db.connection() as conn:
            assert conn.execute("SELECT COUNT(*) FROM images").fetchone()[0] == 0
        db.close()


def test_an_old_sqlite_data_dir_is_upgraded_with_its_images(tmp_path: Path) -> None:
    images = [make_image(color=(90, 0, 10 * i)) for i in range(3)]
    folder = tmp_path / "images"
    folder.mkdir()
    with sqlite3.connect(tmp_path / "gallery.sqlite3") as old:
        old.executescript(_OLD_SCHEMA)
        for i, image in enumerate(images):
            old.execute("INSERT INTO images VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                        (str(image.id), image.room, image.source, None, str(image.trace_id), image.prompt_id,
                         image.prompt_text, "[]", image.style, image.excerpt, image.backend, 0, image.width,
                         image.height, image.mime_type, f"{image.id}.png", len(image.image), 0.2,
                         image.origin_at.isoformat(), image.created_at.isoformat(), 1000.0 + i))
        old.execute("INSERT INTO jobs VALUES ('j1','den','a.wav','done',1,1,2.0,NULL,1.0,2.0)")
    for image in images[:2]:  # the third's file was lost: its row could never be served
        (folder / f"{image.id}.png").write_bytes(image.image)
    (folder / "crash.part").write_bytes(b"half")
    (tmp_path / "notes.txt").write_text("not the display's")

    db = Database(tmp_path / "gallery.sqlite3")
    assert db.applied == ALL
    gallery = Gallery(db, 100, 10**9)
    assert [i.id for i in gallery.images("living-room", 10)] == [str(images[1].id), str(images[0].id)]
    assert all(gallery.image_file(str(i.id)).data == i.image for i in images[:2])
    assert gallery.images("living-room", 10)[0].depicted == []  # the column a gallery this old lacked
    assert not folder.exists() and (tmp_path / "notes.txt").exists()


def test_the_prompter_and_the_displays_share_one_postgresql(tmp_path: Path) -> None:
    from services.prompter.memory import open_store

    with postgres_database() as url:
        store = open_store(url, tmp_path, "ns")
        store.save("den", {"style": "pixel art"}, 1.0)
        db = Database(url)
        assert db.applied == ALL  # its own history and version table, beside the prompter's
        assert open_store(url, tmp_path, "ns").load("den") == {"style": "pixel art"}
        with db.connection() as conn:
            assert conn.execute("SELECT version_num FROM prompter_alembic_version").fetchone()[0] == "0001"
        store.db.close()
        db.close()
