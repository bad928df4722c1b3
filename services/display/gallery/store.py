"""The gallery: images (their bytes too) and their provenance in the database, pruned to a budget.

Ids are deterministic, so `ON CONFLICT DO NOTHING` on the id stores a redelivered image once. Displays sharing
one database each get every message: a row another display stored is still news to this one's frames, so what
is shown once is tracked per process (`_Seen`), not by the row.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from services.display.gallery import wordless
from services.display.gallery.db import Database
from services.display.views import ImageView, KeywordView, PromptView, TranscriptView
from shared.database import Connection
from shared.messages import GeneratedImage, ImagePrompt, Keyword, Transcript
from shared.messages.image import Layout
from shared.messages.scene import Scene

_LOGGER = logging.getLogger(__name__)

_KEEP_TEXT_ROWS = 5000  # live transcripts and prompts kept for provenance beyond those of kept images
_HOT_BYTES = 64 * 2**20  # the newest images are served from memory: every frame fetches each one at once
_SEEN_IDS = 20_000  # ids this process has passed on, so a redelivery is not shown twice
_IMAGE_COLUMNS = ("id, room, source, job_id, trace_id, prompt_id, prompt_text, keywords, style, excerpt, backend, "
                  "fallback, width, height, mime_type, bytes, generation_seconds, origin_at, created_at, "
                  "received_at, depicted, regions, scene, layout")


class Original(NamedTuple):
    """A stored image as served: its type, width and bytes; its room, and whether words are typeset on it."""

    id: str
    mime_type: str
    width: int
    data: bytes
    room: str = ""
    typeset: bool = False


@dataclass(frozen=True)
class RoomTally:
    """What the gallery knows of a room: how many pictures, and when the last one arrived."""

    images: int
    last_image_at: datetime | None


NOTHING_SEEN = RoomTally(0, None)


class _Seen:
    """The newest ids this process has passed on (thread-safe); `first` says whether an id is new here."""

    def __init__(self, size: int = _SEEN_IDS) -> None:
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def first(self, key: str) -> bool:
        with self._lock:
            if key in self._ids:
                return False
            self._ids[key] = None
            if len(self._ids) > self._size:
                self._ids.popitem(last=False)
            return True


class Gallery:
    """Stores what the display receives; reads return API views."""

    def __init__(self, db: Database, max_images: int, max_bytes: int) -> None:
        self.db = db
        self.max_images = max_images
        self.max_bytes = max_bytes
        self._hot: OrderedDict[str, Original] = OrderedDict()
        self._hot_lock = threading.Lock()
        self._seen = _Seen()

    # ---- writes (bus thread) -------------------------------------------------------------------------

    def add_image(self, msg: GeneratedImage) -> ImageView | None:
        """Store row and bytes in one transaction; None when this process has had this id already."""
        row = (str(msg.id), msg.room, msg.source, msg.job_id, str(msg.trace_id), msg.prompt_id, msg.prompt_text,
               _keywords_json(msg.keywords), msg.style, msg.excerpt, msg.backend, int(msg.fallback), msg.width,
               msg.height, msg.mime_type, len(msg.image), msg.generation_seconds, msg.origin_at.isoformat(),
               msg.created_at.isoformat(), time.time(), json.dumps(list(msg.depicted)),
               json.dumps([list(r) for r in msg.regions]), msg.scene.model_dump_json() if msg.scene else None,
               msg.layout.model_dump_json() if msg.layout else None)
        with self.db.connection() as conn:
            cur = conn.execute(f"INSERT INTO images ({_IMAGE_COLUMNS}) VALUES ({','.join('?' * len(row))}) "
                               "ON CONFLICT DO NOTHING", row)
            if cur.rowcount:  # else another display (or this one, before a restart) stored it
                conn.execute("INSERT INTO image_data (id, data) VALUES (?, ?)", (row[0], msg.image))
        if not self._seen.first(f"image:{msg.id}"):
            return None
        self._keep_hot(Original(str(msg.id), msg.mime_type, msg.width, msg.image, msg.room,
                                wordless.typeset(msg.backend, msg.fallback)))
        return self.image(str(msg.id))

    def add_prompt(self, msg: ImagePrompt) -> PromptView | None:
        row = (str(msg.id), msg.room, msg.job_id, msg.text, _keywords_json(msg.keywords), msg.style, msg.mood,
               msg.excerpt, msg.num_images, json.dumps(list(msg.transcript_ids)), msg.created_at.isoformat(),
               time.time())
        with self.db.connection() as conn:
            conn.execute(f"INSERT INTO prompts VALUES ({','.join('?' * len(row))}) ON CONFLICT DO NOTHING", row)
            stored = conn.execute("SELECT * FROM prompts WHERE id=?", (row[0],)).fetchone()
        return _prompt_view(stored) if self._seen.first(f"prompt:{msg.id}") else None

    def add_transcript(self, msg: Transcript) -> TranscriptView | None:
        row = (str(msg.id), msg.room, msg.source, msg.job_id, msg.text, msg.sequence, msg.created_at.isoformat(),
               time.time())
        with self.db.connection() as conn:
            conn.execute("INSERT INTO transcripts VALUES (?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING", row)
        if not self._seen.first(f"transcript:{msg.id}"):
            return None
        return TranscriptView(id=row[0], room=msg.room, source=msg.source, job_id=msg.job_id, text=msg.text,
                              sequence=msg.sequence, created_at=msg.created_at)

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
            self._hot.move_to_end(original.id)
            while sum(len(o.data) for o in self._hot.values()) > _HOT_BYTES and len(self._hot) > 1:
                self._hot.popitem(last=False)

    def prune(self) -> int:
        """Drop the oldest images past the count or size budget; returns how many."""
        count, total = self.totals()
        if count <= self.max_images and total <= self.max_bytes:
            return 0
        with self.db.connection() as conn:
            rows = conn.execute("SELECT id, bytes FROM images ORDER BY received_at DESC, id").fetchall()
            kept_bytes, doomed = 0, []
            for i, row in enumerate(rows):
                kept_bytes += row["bytes"]
                if i >= self.max_images or kept_bytes > self.max_bytes:
                    doomed.append(row)
            conn.executemany("DELETE FROM image_data WHERE id=?", [(r["id"],) for r in doomed])
            conn.executemany("DELETE FROM images WHERE id=?", [(r["id"],) for r in doomed])
        for row in doomed:
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
        """A stored image with its bytes (kept in memory as recently used); only a well-formed uuid is looked up."""
        try:
            image_id = str(uuid.UUID(image_id))
        except ValueError:
            return None
        if (hot := self.hot_image(image_id)) is not None:
            return hot
        with self.db.connection() as conn:
            row = conn.execute("SELECT i.mime_type, i.width, i.room, i.backend, i.fallback, d.data FROM images i "
                               "JOIN image_data d ON d.id = i.id WHERE i.id=?", (image_id,)).fetchone()
        if row is None:
            return None
        original = Original(image_id, row["mime_type"], row["width"], row["data"], row["room"],
                            wordless.typeset(row["backend"], bool(row["fallback"])))
        self._keep_hot(original)
        return original

    def transcripts(self, room: str, limit: int) -> list[TranscriptView]:
        with self.db.connection() as conn:
            rows = conn.execute("SELECT * FROM transcripts WHERE room=? AND text != '' "
                                "ORDER BY received_at DESC LIMIT ?", (room, limit)).fetchall()
        return [_transcript_view(r) for r in rows]

    def prompts(self, room: str, limit: int) -> list[PromptView]:
        with self.db.connection() as conn:
            rows = conn.execute("SELECT * FROM prompts WHERE room=? ORDER BY received_at DESC LIMIT ?",
                                (room, limit)).fetchall()
        return [_prompt_view(r) for r in rows]

    def rooms(self) -> dict[str, RoomTally]:
        """Every room anything was heard or shown in: image count and when the last image arrived."""
        with self.db.connection() as conn:
            rows = conn.execute(
                "SELECT room, SUM(n) AS n, MAX(last) AS last FROM ("
                " SELECT room, COUNT(*) AS n, MAX(received_at) AS last FROM images GROUP BY room"
                " UNION ALL SELECT room, 0, NULL FROM transcripts GROUP BY room"
                " UNION ALL SELECT room, 0, NULL FROM prompts GROUP BY room) AS heard GROUP BY room ORDER BY room"
            ).fetchall()
        return {str(r["room"]): RoomTally(int(r["n"]), None if r["last"] is None
                                          else datetime.fromtimestamp(r["last"], UTC)) for r in rows}

    def totals(self) -> tuple[int, int]:
        """(images, bytes) stored, for the gauges."""
        with self.db.connection() as conn:
            row = conn.execute("SELECT COUNT(*), COALESCE(SUM(bytes), 0) FROM images").fetchone()
        return int(row[0]), int(row[1])

    def _image_view(self, conn: Connection, row: Any) -> ImageView:
        prompt = conn.execute("SELECT transcript_ids FROM prompts WHERE id=?", (row["prompt_id"],)).fetchone()
        ids = json.loads(prompt["transcript_ids"]) if prompt else []
        lines = conn.execute(f"SELECT * FROM transcripts WHERE id IN ({','.join('?' * len(ids))}) "
                             "ORDER BY created_at", ids).fetchall() if ids else []
        return ImageView(
            id=row["id"], url=f"/images/{row['id']}", room=row["room"], source=row["source"], job_id=row["job_id"],
            prompt_id=row["prompt_id"], prompt=row["prompt_text"], keywords=_keywords(row["keywords"]),
            style=row["style"], excerpt=row["excerpt"], transcripts=[_transcript_view(r) for r in lines],
            backend=row["backend"], fallback=bool(row["fallback"]), depicted=json.loads(row["depicted"]),
            regions=json.loads(row["regions"]), scene=Scene.model_validate_json(row["scene"]) if row["scene"] else None,
            layout=Layout.model_validate_json(row["layout"]) if row["layout"] else None,
            width=row["width"], height=row["height"],
            mime_type=row["mime_type"], bytes=row["bytes"], generation_seconds=row["generation_seconds"],
            origin_at=row["origin_at"], created_at=row["created_at"],
            received_at=datetime.fromtimestamp(row["received_at"], UTC),
        )


def _keywords_json(keywords: tuple[Keyword, ...]) -> str:
    return json.dumps([{"text": k.text, "score": k.score} for k in keywords])


def _keywords(raw: str) -> list[KeywordView]:
    return [KeywordView(**k) for k in json.loads(raw)]


def _transcript_view(row: Any) -> TranscriptView:
    return TranscriptView(id=row["id"], room=row["room"], source=row["source"], job_id=row["job_id"],
                          text=row["text"], sequence=row["sequence"], created_at=row["created_at"])


def _prompt_view(row: Any) -> PromptView:
    return PromptView(id=row["id"], room=row["room"], job_id=row["job_id"], text=row["text"],
                      keywords=_keywords(row["keywords"]), style=row["style"], mood=row["mood"],
                      excerpt=row["excerpt"], num_images=row["num_images"],
                      transcript_ids=json.loads(row["transcript_ids"]), created_at=row["created_at"])
