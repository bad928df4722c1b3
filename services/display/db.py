"""The display's SQLite database: one connection per thread, WAL so page reads never wait on the bus's writes."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS images (
    id TEXT PRIMARY KEY, room TEXT NOT NULL, source TEXT NOT NULL, job_id TEXT, trace_id TEXT NOT NULL,
    prompt_id TEXT NOT NULL, prompt_text TEXT NOT NULL, keywords TEXT NOT NULL, style TEXT NOT NULL,
    excerpt TEXT NOT NULL, backend TEXT NOT NULL, fallback INTEGER NOT NULL, width INTEGER NOT NULL,
    height INTEGER NOT NULL, mime_type TEXT NOT NULL, file TEXT NOT NULL, bytes INTEGER NOT NULL,
    generation_seconds REAL NOT NULL, origin_at TEXT NOT NULL, created_at TEXT NOT NULL, received_at REAL NOT NULL,
    depicted TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS images_room ON images (room, received_at);
CREATE INDEX IF NOT EXISTS images_job ON images (job_id);
CREATE TABLE IF NOT EXISTS prompts (
    id TEXT PRIMARY KEY, room TEXT NOT NULL, job_id TEXT, text TEXT NOT NULL, keywords TEXT NOT NULL,
    style TEXT NOT NULL, mood TEXT NOT NULL, excerpt TEXT NOT NULL, num_images INTEGER NOT NULL,
    transcript_ids TEXT NOT NULL, created_at TEXT NOT NULL, received_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS prompts_room ON prompts (room, received_at);
CREATE TABLE IF NOT EXISTS transcripts (
    id TEXT PRIMARY KEY, room TEXT NOT NULL, source TEXT NOT NULL, job_id TEXT, text TEXT NOT NULL,
    sequence INTEGER NOT NULL, created_at TEXT NOT NULL, received_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS transcripts_room ON transcripts (room, received_at);
CREATE INDEX IF NOT EXISTS transcripts_job ON transcripts (job_id);
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY, room TEXT NOT NULL, filename TEXT NOT NULL, status TEXT NOT NULL,
    segments INTEGER NOT NULL, num_images INTEGER, audio_seconds REAL NOT NULL, error TEXT,
    created_at REAL NOT NULL, updated_at REAL NOT NULL
);
"""


class Database:
    """Opens the file once per thread; every statement runs in its own short transaction."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        with self.connection() as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(_SCHEMA)
            if "depicted" not in {r[1] for r in conn.execute("PRAGMA table_info(images)")}:  # a gallery from before
                conn.execute("ALTER TABLE images ADD COLUMN depicted TEXT NOT NULL DEFAULT '[]'")

    def connection(self) -> sqlite3.Connection:
        """This thread's connection; use it as a context manager to commit (or roll back) a transaction."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=30000")
            self._local.conn = conn
        return conn
