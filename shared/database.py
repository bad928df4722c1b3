"""A database by URL for state that processes share: a SQLite file by default, PostgreSQL (psycopg 3) when the
URL says `postgresql://…`. Code writes one SQL with `?` marks; a thin adapter gives PostgreSQL its `%s`.

SQLite: a connection per thread, WAL, so page reads never wait on a writer. PostgreSQL: a small pool whose
connections are checked when taken, so a restarted server costs the next statement a reconnect, not an error.
"""

from __future__ import annotations

import contextlib
import functools
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol, cast

_POSTGRES = ("postgresql://", "postgres://")
POOL_SIZE = 10  # the bus thread and the web's worker threads, each holding one only for a statement or two
CONNECT_TIMEOUT_SECONDS = 15.0


def is_postgres(url: str) -> bool:
    return url.startswith(_POSTGRES)


def sqlite_path(url: str, default: Path) -> Path:
    """The file a non-PostgreSQL URL names: `sqlite:///PATH`, a plain path, or `default` when empty."""
    return Path(url.removeprefix("sqlite:///")) if url else default


def connect_sqlite(path: Path, **kwargs: Any) -> sqlite3.Connection:
    """A SQLite connection in WAL mode (the folder is made if missing)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn: sqlite3.Connection = sqlite3.connect(path, timeout=30, **kwargs)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


class Row(tuple[Any, ...]):
    """A PostgreSQL row read by position or by column name, as sqlite3.Row is."""

    names: dict[str, int]

    def __getitem__(self, key: Any) -> Any:
        return tuple.__getitem__(self, self.names[key] if isinstance(key, str) else key)

    def keys(self) -> list[str]:
        return list(self.names)


def _rows(cursor: Any) -> Any:
    """psycopg's row factory: rows that answer to `row["id"]` and `row[0]`."""
    names = {column.name: i for i, column in enumerate(cursor.description or ())}

    def make(values: Sequence[Any]) -> Row:
        row = Row(values)
        row.names = names
        return row

    return make


@functools.lru_cache(maxsize=512)
def _pyformat(sql: str) -> str:
    return sql.replace("%", "%%").replace("?", "%s")


class Cursor(Protocol):
    """What callers use of either backend's cursor; its rows are read by column name and by position."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Connection:
    """One transaction's connection: `execute` and `executemany` with `?` marks on either backend."""

    def __init__(self, raw: Any, postgres: bool) -> None:
        self.raw = raw
        self.postgres = postgres

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        """The cursor (`fetchone`, `fetchall`, `rowcount`, iteration); rows by column name and by position."""
        if not self.postgres:
            return cast(Cursor, self.raw.execute(sql, params))
        # Binary results: a picture's bytea arrives as it is, not as hex text to decode (7x faster at 400 kB)
        return cast(Cursor, self.raw.execute(_pyformat(sql), params, binary=True) if params
                    else self.raw.execute(sql, binary=True))

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> Cursor:
        if not self.postgres:
            return cast(Cursor, self.raw.executemany(sql, rows))
        cursor = self.raw.cursor(binary=True)
        cursor.executemany(_pyformat(sql), list(rows))
        return cast(Cursor, cursor)


class Database:
    """Short transactions: `with db.connection() as conn:` commits at the end of the block, or rolls back."""

    def __init__(self, target: Path | str, pool_size: int = POOL_SIZE) -> None:
        """`target`: a SQLite file, or a URL (`postgresql://…`, `sqlite:///PATH`)."""
        self.url = target if isinstance(target, str) else ""
        self.postgres = is_postgres(self.url)
        self.path = None if self.postgres else sqlite_path(self.url, Path(target))
        self._local = threading.local()
        self._pool: Any = None
        if self.postgres:
            from psycopg.conninfo import conninfo_to_dict  # loaded only where PostgreSQL is used
            from psycopg_pool import ConnectionPool, PoolTimeout

            self._pool = ConnectionPool(self.url, min_size=1, max_size=pool_size, kwargs={"row_factory": _rows},
                                        check=ConnectionPool.check_connection, name="voxframe", open=False)
            try:
                self._pool.open(wait=True, timeout=CONNECT_TIMEOUT_SECONDS)
            except PoolTimeout:  # unreachable at start: say where (not the password) and stop
                self._pool.close()
                where = conninfo_to_dict(self.url)
                raise ConnectionError(f"PostgreSQL at {where.get('host', 'localhost')}:{where.get('port', 5432)}"
                                      f"/{where.get('dbname', '')} did not answer within "
                                      f"{CONNECT_TIMEOUT_SECONDS:.0f} s (VOXFRAME_DATABASE_URL)") from None
        else:
            assert self.path is not None
            connect_sqlite(self.path).close()  # WAL is a property of the file: set once

    @property
    def sqlalchemy_url(self) -> str:
        """The same database as SQLAlchemy (and so alembic) names it."""
        if self.postgres:
            return "postgresql+psycopg://" + self.url.split("://", 1)[1]
        return f"sqlite:///{self.path}"

    @contextlib.contextmanager
    def connection(self) -> Iterator[Connection]:
        """A connection for one transaction: this thread's SQLite one, or one of the PostgreSQL pool."""
        if self._pool is not None:
            with self._pool.connection() as raw:
                yield Connection(raw, True)
            return
        raw = getattr(self._local, "conn", None)
        if raw is None:
            assert self.path is not None
            raw = self._local.conn = connect_sqlite(self.path)
            raw.row_factory = sqlite3.Row
        with raw:
            yield Connection(raw, False)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
