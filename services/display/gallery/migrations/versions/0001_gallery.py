"""The schema as it was before migrations: gallery, frame pairings and upload jobs.

`IF NOT EXISTS` here only, so a data dir from before migrations is adopted as it stands (and a gallery older
still gets its `depicted` column). SQLite reads DOUBLE PRECISION as it read REAL; PostgreSQL's REAL is 4 bytes.
"""

from alembic import op

revision = "0001"
down_revision = None

_TABLES = """
CREATE TABLE IF NOT EXISTS images (
    id TEXT PRIMARY KEY, room TEXT NOT NULL, source TEXT NOT NULL, job_id TEXT, trace_id TEXT NOT NULL,
    prompt_id TEXT NOT NULL, prompt_text TEXT NOT NULL, keywords TEXT NOT NULL, style TEXT NOT NULL,
    excerpt TEXT NOT NULL, backend TEXT NOT NULL, fallback INTEGER NOT NULL, width INTEGER NOT NULL,
    height INTEGER NOT NULL, mime_type TEXT NOT NULL, file TEXT NOT NULL, bytes INTEGER NOT NULL,
    generation_seconds DOUBLE PRECISION NOT NULL, origin_at TEXT NOT NULL, created_at TEXT NOT NULL,
    received_at DOUBLE PRECISION NOT NULL, depicted TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS images_room ON images (room, received_at);
CREATE INDEX IF NOT EXISTS images_job ON images (job_id);
CREATE TABLE IF NOT EXISTS prompts (
    id TEXT PRIMARY KEY, room TEXT NOT NULL, job_id TEXT, text TEXT NOT NULL, keywords TEXT NOT NULL,
    style TEXT NOT NULL, mood TEXT NOT NULL, excerpt TEXT NOT NULL, num_images INTEGER NOT NULL,
    transcript_ids TEXT NOT NULL, created_at TEXT NOT NULL, received_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX IF NOT EXISTS prompts_room ON prompts (room, received_at);
CREATE TABLE IF NOT EXISTS transcripts (
    id TEXT PRIMARY KEY, room TEXT NOT NULL, source TEXT NOT NULL, job_id TEXT, text TEXT NOT NULL,
    sequence INTEGER NOT NULL, created_at TEXT NOT NULL, received_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX IF NOT EXISTS transcripts_room ON transcripts (room, received_at);
CREATE INDEX IF NOT EXISTS transcripts_job ON transcripts (job_id);
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY, room TEXT NOT NULL, filename TEXT NOT NULL, status TEXT NOT NULL,
    segments INTEGER NOT NULL, num_images INTEGER, audio_seconds DOUBLE PRECISION NOT NULL, error TEXT,
    created_at DOUBLE PRECISION NOT NULL, updated_at DOUBLE PRECISION NOT NULL
);
CREATE TABLE IF NOT EXISTS frame_pairings (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, room TEXT NOT NULL, code_hash TEXT UNIQUE,
    code_expires_at DOUBLE PRECISION, key_hash TEXT UNIQUE, created_at DOUBLE PRECISION NOT NULL,
    paired_at DOUBLE PRECISION, seen_at DOUBLE PRECISION
)
"""


def upgrade() -> None:
    for statement in _TABLES.split(";"):
        op.execute(statement)
    bind = op.get_bind()
    if bind.dialect.name == "sqlite" and "depicted" not in {
            r[1] for r in bind.exec_driver_sql("PRAGMA table_info(images)")}:
        op.execute("ALTER TABLE images ADD COLUMN depicted TEXT NOT NULL DEFAULT '[]'")
