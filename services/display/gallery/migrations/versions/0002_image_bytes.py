"""Image bytes move into the database (`image_data`), so displays on any hosts serve one gallery.

A SQLite data dir from before keeps its pictures: each file named by a row is read in, in this transaction; a
row whose file is gone (it could not be served) goes. The folder is removed once this has committed.
"""

import logging
from pathlib import Path

from alembic import op
from sqlalchemy.engine import Connection

revision = "0002"
down_revision = "0001"

_LOGGER = logging.getLogger(__name__)


def upgrade() -> None:
    bind = op.get_bind()
    blob = "BYTEA" if bind.dialect.name == "postgresql" else "BLOB"
    op.execute(f"CREATE TABLE image_data (id TEXT PRIMARY KEY, data {blob} NOT NULL)")
    if bind.dialect.name == "sqlite":
        _import_files(bind)
    op.execute("ALTER TABLE images DROP COLUMN file")


def _import_files(bind: Connection) -> None:
    database_file = next(r[2] for r in bind.exec_driver_sql("PRAGMA database_list") if r[1] == "main")
    folder = Path(database_file).parent / "images"  # where the display kept them, beside its database
    imported, lost = 0, []
    for image_id, name in bind.exec_driver_sql("SELECT id, file FROM images").fetchall():
        path = folder / Path(name).name
        if path.is_file():
            bind.exec_driver_sql("INSERT INTO image_data VALUES (?, ?)", (image_id, path.read_bytes()))
            imported += 1
        else:
            lost.append((image_id,))
    if lost:
        bind.exec_driver_sql("DELETE FROM images WHERE id = ?", lost)
    if imported or lost:
        _LOGGER.info("Imported %d image file(s) from %s into the database (%d row(s) without a file dropped)",
                     imported, folder, len(lost))
