"""The display's database: gallery (with the image bytes), frame pairings and upload jobs, at the newest schema.

SQLite in the data dir by default; PostgreSQL (`VOXFRAME_DATABASE_URL=postgresql://…`) lets any number of
displays on any hosts serve one gallery. Add a schema change as a new file in migrations/versions/.
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path

from shared import database, migrations

_LOGGER = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")
VERSION_TABLE = "display_alembic_version"
FILE_NAME = "gallery.sqlite3"


class Database(database.Database):
    """`shared.database.Database` migrated when opened: `with db.connection() as conn: conn.execute(sql, (…))`."""

    def __init__(self, target: Path | str) -> None:
        """`target`: a SQLite file, or a `VOXFRAME_DATABASE_URL`."""
        super().__init__(target)
        self.applied = migrations.upgrade(self, MIGRATIONS, VERSION_TABLE)
        if "0002" in self.applied and self.path is not None:
            self._remove_imported(self.path.parent / "images")

    def _remove_imported(self, folder: Path) -> None:
        """The files migration 0002 read in (and half-written ones), now that it has committed."""
        if not folder.is_dir():
            return
        with self.connection() as conn:
            stored = {r[0] for r in conn.execute("SELECT id FROM image_data")}
        for path in folder.iterdir():
            if path.is_file() and (path.stem in stored or path.suffix == ".part"):
                path.unlink()
        with contextlib.suppress(OSError):
            folder.rmdir()
        _LOGGER.info("Image files imported from %s removed: the gallery's bytes live in the database now", folder)

    @classmethod
    def open(cls, database_url: str, data_dir: Path) -> Database:
        """The URL's database, or SQLite in the data dir when it is empty."""
        return cls(database_url or data_dir / FILE_NAME)
