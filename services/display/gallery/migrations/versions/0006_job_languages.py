"""Languages: `job_lines.language` is what each line of an upload was spoken in (an ISO 639 code; NULL for lines
heard before languages were told apart, read as English, the only language heard then)."""

from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    op.execute("ALTER TABLE job_lines ADD COLUMN language TEXT")
