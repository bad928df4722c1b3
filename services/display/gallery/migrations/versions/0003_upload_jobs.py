"""Upload jobs get their own owner: `upload_jobs` (the lifecycle, the remote engine's transcript id and when to
look at it next) and `job_lines` (each segment's or speaker turn's place in the file and what was said).

The old `jobs` table goes: its jobs were followed by one display's memory of the old path and cannot resume.
"""

from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.execute("DROP TABLE IF EXISTS jobs")
    op.execute("""
        CREATE TABLE upload_jobs (
            id TEXT PRIMARY KEY, room TEXT NOT NULL, filename TEXT NOT NULL, status TEXT NOT NULL,
            engine TEXT NOT NULL, segments INTEGER NOT NULL, audio_seconds DOUBLE PRECISION NOT NULL,
            num_images INTEGER,
            prompt_id TEXT, error TEXT, remote_id TEXT, poll_at DOUBLE PRECISION, created_at DOUBLE PRECISION NOT NULL,
            updated_at DOUBLE PRECISION NOT NULL
        )""")
    op.execute("CREATE INDEX upload_jobs_remote ON upload_jobs (remote_id)")
    op.execute("CREATE INDEX upload_jobs_status ON upload_jobs (status, updated_at)")
    op.execute("""
        CREATE TABLE job_lines (
            job_id TEXT NOT NULL, sequence INTEGER NOT NULL, start_seconds DOUBLE PRECISION NOT NULL,
            end_seconds DOUBLE PRECISION NOT NULL, transcript_id TEXT, speaker TEXT, text TEXT, words TEXT,
            PRIMARY KEY (job_id, sequence)
        )""")
