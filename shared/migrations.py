"""Schema migrations by alembic: plain SQL through `op.execute`, no models, applied when a service starts.

Each service keeps its own history (a folder with `env.py` and `versions/`) and its own version table, so
services can share one PostgreSQL database. All of one upgrade runs in one transaction: on PostgreSQL under an
advisory lock, so of displays starting at once one migrates and the others then find nothing left to do; on
SQLite under `BEGIN IMMEDIATE`, which does the same for processes sharing a file.
"""

from __future__ import annotations

import logging
import time
import zlib
from pathlib import Path

from shared.database import Database

_LOGGER = logging.getLogger(__name__)


def upgrade(db: Database, directory: Path, version_table: str) -> list[str]:
    """Apply the migrations in `directory` the database lacks; returns the revisions applied, oldest first."""
    import sqlalchemy
    from alembic import command
    from alembic.config import Config
    from sqlalchemy.pool import NullPool

    logging.getLogger("alembic").setLevel(logging.WARNING)  # it narrates each plugin; one line below says it all
    engine = sqlalchemy.create_engine(db.sqlalchemy_url, poolclass=NullPool)
    if not db.postgres:  # pysqlite would defer BEGIN to the first write; DDL belongs in the transaction too
        sqlalchemy.event.listen(engine, "connect", lambda dbapi, _record: setattr(dbapi, "isolation_level", None))
        sqlalchemy.event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
    config = Config()
    config.set_main_option("script_location", str(directory))
    applied: list[str] = []
    config.attributes.update(version_table=version_table, applied=applied)
    started = time.monotonic()
    try:
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
    finally:
        engine.dispose()
    if applied:
        _LOGGER.info("Schema %s: applied migration(s) %s in %.2f s", version_table,
                     ", ".join(applied), time.monotonic() - started)
    return applied


def run_env() -> None:
    """The body of every history's `env.py`: migrate the connection `upgrade` handed over."""
    from alembic import context

    attributes = context.config.attributes
    conn = attributes["connection"]
    version_table = attributes["version_table"]
    context.configure(connection=conn, version_table=version_table, transactional_ddl=True,
                      on_version_apply=lambda *, step, **_: attributes["applied"].append(step.up_revision_id))
    with context.begin_transaction():
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({zlib.crc32(version_table.encode())})")
        context.run_migrations()
