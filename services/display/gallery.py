"""The gallery: images (files) and their provenance (SQLite) that survive restarts, pruned to a budget.

Ids are deterministic, so `INSERT OR IGNORE` on the id makes a redelivered image a no-op: never shown twice.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import time
import uuid
from collections import OrderedDict
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

from services.display.db import Database
from services.display.views import ImageView, KeywordView, PromptView, TranscriptView
from shared.messages import GeneratedImage, ImagePrompt, Transcript

_LOGGER = logging.getLogger(__name__)

_EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}
_KEEP_TEXT_ROWS = 5000  # live transcripts and prompts kept for provenance beyond those of kept images
_HOT_BYTES = 64 * 2**20  # the newest images are served from memory: every frame fetches each one at once


class Original(NamedTuple):
    """A stored image as served: its file, type and width, and its bytes while it is still in memory."""

    id: str
    path: Path
    mime_type: str
    width: int
    data: bytes | None = None


class Gallery:
    """Stores what the display receives; reads return API views."""

    def __init__(self, db: Database, image_dir: Path, max_images: int, max_bytes: int) -> None:
        self.db = db
        self.image_dir = image_dir
        self.max_images = max_images
        self.max_bytes = max_bytes
        image_dir.mkdir(parents=True, exist_ok=True)
        self._hot: OrderedDict[str, Original] = OrderedDict()
        self._hot_lock = threading.Lock()

    # ---- writes (bus thread) -------------------------------------------------------------------------

    def add_image(self, msg: GeneratedImage) -> ImageView | None:
        """Write the file, then the row; None when this id is stored already (a redelivery)."""
        name = f"{msg.id}.{_EXTENSIONS[msg.mime_type]}"
        path = self.image_dir / name
        if not path.exists():
            tmp = path.with_suffix(".part")
            tmp.write_bytes(msg.image)
            os.replace(tmp, path)
        row = (str(msg.id), msg.room, msg.source, msg.job_id, str(msg.trace_id), msg.prompt_id, msg.prompt_text,
               _keywords_json(msg.keywords), msg.style, msg.excerpt, msg.backend, int(msg.fallback), msg.width,
               msg.height, msg.mime_type, name, len(msg.image), msg.generation_seconds, msg.origin_at.isoformat(),
               msg.created_at.isoformat(), time.time(), json.dumps(list(msg.depicted)))
        with self.db.connection() as conn:
            cur = conn.execute(f"INSERT OR IGNORE INTO images VALUES ({','.join('?' * len(row))})", row)
        if cur.rowcount == 0:
            return None
        self._keep_hot(Original(str(msg.id), path, msg.mime_type, msg.width, msg.image))
        return self.image(str(msg.id))

    def add_prompt(self, msg: ImagePrompt) -> PromptView | None:
        row = (str(msg.id), msg.room, msg.job_id, msg.text, _keywords_json(msg.keywords), msg.style, msg.mood,
               msg.excerpt, msg.num_images, json.dumps(list(msg.transcript_ids)), msg.created_at.isoformat(),
               time.time())
        with self.db.connection() as conn:
            cur = conn.execute(f"INSERT OR IGNORE INTO prompts VALUES ({','.join('?' * len(row))})", row)
            return _prompt_view(conn.execute("SELECT * FROM prompts WHERE id=?", (row[0],)).fetchone()) \
                if cur.rowcount else None

    def add_transcript(self, msg: Transcript) -> TranscriptView | None:
        row = (str(msg.id), msg.room, msg.source, msg.job_id, msg.text, msg.sequence, msg.created_at.isoformat(),
               time.time())
        with self.db.connection() as conn:
            cur = conn.execute("INSERT OR IGNORE INTO transcripts VALUES (?,?,?,?,?,?,?,?)", row)
        return TranscriptView(id=row[0], room=msg.room, source=msg.source, job_id=msg.job_id, text=msg.text,
                              sequence=msg.sequence, created_at=msg.created_at) if cur.rowcount else None

    def mark_command(self, transcript_id: str) -> None:
        """A line that was a spoken command is not conversation: blank its text (the feed skips blank lines)."""
        with self.db.connection() as conn:
            conn.execute("UPDATE transcripts SET text='' WHERE id=?", (transcript_id,))

    def hot_image(self, image_id: str) -> Original | None:
        """A recent image with its bytes, if still in memory."""
        with self._hot_lock:
            return self._hot.get(image_id)

    def _keep_hot(self, original: Original) -> None:
        with self._hot_lock:
            self._hot[original.id] = original
            while sum(len(o.data or b"") for o in self._hot.values()) > _HOT_BYTES and len(self._hot) > 1:
                self._hot.popitem(last=False)

    def prune(self) -> int:
        """Drop the oldest images past the count or size budget (rows first, then files); returns how many."""
        count, total = self.totals()
        if count <= self.max_images and total <= self.max_bytes:
            return 0
        with self.db.connection() as conn:
            rows = conn.execute("SELECT id, file, bytes FROM images ORDER BY received_at DESC, id").fetchall()
            kept_bytes, doomed = 0, []
            for i, row in enumerate(rows):
                kept_bytes += row["bytes"]
                if i >= self.max_images or kept_bytes > self.max_bytes:
                    doomed.append(row)
            conn.executemany("DELETE FROM images WHERE id=?", [(r["id"],) for r in doomed])
        for row in doomed:
            (self.image_dir / row["file"]).unlink(missing_ok=True)
            with self._hot_lock:
                self._hot.pop(row["id"], None)
        if doomed:
            _LOGGER.info("Pruned %d old image(s) to stay within %d images / %d MB", len(doomed), self.max_images,
                         self.max_bytes // 2**20)
        return len(doomed)

    def prune_text(self) -> None:
        """Keep the newest live transcripts and prompts (job ones go with their job)."""
        with self.db.connection() as conn:
            for table in ("transcripts", "prompts"):
                conn.execute(f"DELETE FROM {table} WHERE job_id IS NULL AND id NOT IN "
                             f"(SELECT id FROM {table} WHERE job_id IS NULL ORDER BY received_at DESC LIMIT ?)",
                             (_KEEP_TEXT_ROWS,))

    def sweep_orphans(self) -> int:
        """At start: remove image files no row names (a crash between file and row leaves nothing behind)."""
        with self.db.connection() as conn:
            known = {r[0] for r in conn.execute("SELECT file FROM images")}
        orphans = [p for p in self.image_dir.iterdir() if p.name not in known]
        for path in orphans:
            path.unlink(missing_ok=True)
        return len(orphans)

    # ---- reads (web threads) -------------------------------------------------------------------------

    def image(self, image_id: str) -> ImageView | None:
        with self.db.connection() as conn:
            row = conn.execute("SELECT * FROM images WHERE id=?", (image_id,)).fetchone()
            return None if row is None else self._image_view(conn, row)

    def images(self, room: str, limit: int, before: float | None = None) -> list[ImageView]:
        """Newest first; `before` (a received_at) pages back."""
        with self.db.connection() as conn:
            rows = conn.execute("SELECT * FROM images WHERE room=? AND received_at < ? "
                                "ORDER BY received_at DESC, id LIMIT ?",
                                (room, time.time() + 1 if before is None else before, limit)).fetchall()
            return [self._image_view(conn, r) for r in rows]

    def job_images(self, job_id: str) -> list[ImageView]:
        with self.db.connection() as conn:
            rows = conn.execute("SELECT * FROM images WHERE job_id=? ORDER BY received_at, id", (job_id,)).fetchall()
            return [self._image_view(conn, r) for r in rows]

    def image_file(self, image_id: str) -> Original | None:
        """The file of a stored image. Only a well-formed uuid is looked up, and the path comes from the row."""
        try:
            image_id = str(uuid.UUID(image_id))
        except ValueError:
            return None
        with self.db.connection() as conn:
            row = conn.execute("SELECT file, mime_type, width FROM images WHERE id=?", (image_id,)).fetchone()
        if row is None:
            return None
        path = self.image_dir / Path(row["file"]).name
        return Original(image_id, path, row["mime_type"], row["width"]) if path.is_file() else None

    def transcripts(self, room: str, limit: int) -> list[TranscriptView]:
        with self.db.connection() as conn:
            rows = conn.execute("SELECT * FROM transcripts WHERE room=? AND text != '' "
                                "ORDER BY received_at DESC LIMIT ?", (room, limit)).fetchall()
        return [_transcript_view(r) for r in rows]

    def job_transcripts(self, job_id: str) -> list[TranscriptView]:
        with self.db.connection() as conn:
            rows = conn.execute("SELECT * FROM transcripts WHERE job_id=? ORDER BY sequence", (job_id,)).fetchall()
        return [_transcript_view(r) for r in rows]

    def prompts(self, room: str, limit: int) -> list[PromptView]:
        with self.db.connection() as conn:
            rows = conn.execute("SELECT * FROM prompts WHERE room=? ORDER BY received_at DESC LIMIT ?",
                                (room, limit)).fetchall()
        return [_prompt_view(r) for r in rows]

    def rooms(self) -> dict[str, tuple[int, datetime | None]]:
        """Every room anything was heard or shown in: image count and when the last image arrived."""
        with self.db.connection() as conn:
            rows = conn.execute(
                "SELECT room, SUM(n) AS n, MAX(last) AS last FROM ("
                " SELECT room, COUNT(*) AS n, MAX(received_at) AS last FROM images GROUP BY room"
                " UNION ALL SELECT room, 0, NULL FROM transcripts GROUP BY room"
                " UNION ALL SELECT room, 0, NULL FROM prompts GROUP BY room) GROUP BY room ORDER BY room").fetchall()
        return {r["room"]: (r["n"], None if r["last"] is None else datetime.fromtimestamp(r["last"], UTC))
                for r in rows}

    def totals(self) -> tuple[int, int]:
        """(images, bytes) stored, for the gauges."""
        with self.db.connection() as conn:
            row = conn.execute("SELECT COUNT(*), COALESCE(SUM(bytes), 0) FROM images").fetchone()
        return int(row[0]), int(row[1])

    def _image_view(self, conn: sqlite3.Connection, row: sqlite3.Row) -> ImageView:
        prompt = conn.execute("SELECT transcript_ids FROM prompts WHERE id=?", (row["prompt_id"],)).fetchone()
        ids = json.loads(prompt["transcript_ids"]) if prompt else []
        lines = conn.execute(f"SELECT * FROM transcripts WHERE id IN ({','.join('?' * len(ids))}) "
                             "ORDER BY created_at", ids).fetchall() if ids else []
        return ImageView(
            id=row["id"], url=f"/images/{row['id']}", room=row["room"], source=row["source"], job_id=row["job_id"],
            prompt_id=row["prompt_id"], prompt=row["prompt_text"], keywords=_keywords(row["keywords"]),
            style=row["style"], excerpt=row["excerpt"], transcripts=[_transcript_view(r) for r in lines],
            backend=row["backend"], fallback=bool(row["fallback"]), depicted=json.loads(row["depicted"]),
            width=row["width"], height=row["height"],
            mime_type=row["mime_type"], bytes=row["bytes"], generation_seconds=row["generation_seconds"],
            origin_at=row["origin_at"], created_at=row["created_at"],
            received_at=datetime.fromtimestamp(row["received_at"], UTC),
        )


def _keywords_json(keywords: tuple) -> str:
    return json.dumps([{"text": k.text, "score": k.score} for k in keywords])


def _keywords(raw: str) -> list[KeywordView]:
    return [KeywordView(**k) for k in json.loads(raw)]


def _transcript_view(row: sqlite3.Row) -> TranscriptView:
    return TranscriptView(id=row["id"], room=row["room"], source=row["source"], job_id=row["job_id"],
                          text=row["text"], sequence=row["sequence"], created_at=row["created_at"])


def _prompt_view(row: sqlite3.Row) -> PromptView:
    return PromptView(id=row["id"], room=row["room"], job_id=row["job_id"], text=row["text"],
                      keywords=_keywords(row["keywords"]), style=row["style"], mood=row["mood"],
                      excerpt=row["excerpt"], num_images=row["num_images"],
                      transcript_ids=json.loads(row["transcript_ids"]), created_at=row["created_at"])
