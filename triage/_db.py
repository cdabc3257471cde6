"""The one database mechanism every store uses: an embedded SQLite file or a shared PostgreSQL (contract §8).

A store opens a `Database` on a target — a path (today's embedded file) or a `TRIAGE_DATABASE_URL`
(`sqlite:///PATH`, `postgresql://USER[:PASSWORD]@HOST:PORT/DB`) — and gets one connection, migrated to
the schema in `triage/_schema.py` by the Alembic revisions shipped in `triage/_migrations/` (so an
installed package migrates by itself, at open). The stores keep writing plain SQL with `?` marks that
both dialects read alike; `Database` turns them into SQLAlchemy Core statements.

Crash safety is the same on both: SQLite keeps WAL with `synchronous=FULL` (a commit is on disk when
it returns) and takes the write lock at the start of an explicit transaction (`BEGIN IMMEDIATE`), so
two processes never deadlock upgrading a read; PostgreSQL commits are durable by default. Every
statement outside `transaction()` is its own short transaction.
"""

from __future__ import annotations

import re
import threading
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from triage.errors import DatabaseError

__all__ = ["SQLITE_STAMP", "Database", "Rows", "SQLAlchemyError", "check_url", "database_url", "describe", "reason",
           "redact", "upgrade"]

MIGRATIONS = Path(__file__).with_name("_migrations")
SQLITE_STAMP = 3  # PRAGMA user_version of a migrated SQLite file: earlier releases (0-2) refuse it
_LOCK_KEY = 0x7472696167  # pg_advisory_xact_lock key: one replica migrates at a time ('triag')


def check_url(url: str) -> str:
    """A `TRIAGE_DATABASE_URL` as the contract allows it; ValueError saying what is wrong otherwise."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ValueError(f"not a database URL ({exc}); use sqlite:///PATH or "
                         "postgresql://USER[:PASSWORD]@HOST:PORT/DB") from exc
    if parsed.drivername == "sqlite":
        if not parsed.database:
            raise ValueError("sqlite:///PATH needs a file path (an in-memory database is not shared or durable)")
    elif parsed.drivername in ("postgresql", "postgresql+psycopg"):
        if not parsed.host or not parsed.database:
            raise ValueError("postgresql://USER[:PASSWORD]@HOST:PORT/DB needs a host and a database name")
    else:
        raise ValueError(f"unsupported database {parsed.drivername!r}: use sqlite:///PATH or "
                         "postgresql://USER[:PASSWORD]@HOST:PORT/DB")
    return url


def database_url(target: str | Path) -> str:
    """A store's target as a URL: a plain path is today's embedded SQLite file."""
    value = str(target)
    return value if "://" in value else f"sqlite:///{value}"


def redact(url: str) -> str:
    """The URL for messages and logs: never the password."""
    return make_url(url).render_as_string(hide_password=True)


def describe(target: str | Path) -> str:
    """A store's target for messages: the path as given, or the URL without its password."""
    return redact(str(target)) if "://" in str(target) else str(target)


def _driver_url(url: str) -> URL:
    parsed = make_url(url)
    return parsed.set(drivername="postgresql+psycopg") if parsed.drivername == "postgresql" else parsed


def _engine(url: str) -> Engine:
    parsed = _driver_url(url)
    if parsed.drivername != "sqlite":
        return create_engine(parsed, poolclass=NullPool)  # each store holds its one connection
    Path(parsed.database or "").parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(parsed, poolclass=NullPool, connect_args={"timeout": 30, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi: Any, _record: Any) -> None:
        dbapi.isolation_level = None  # SQLAlchemy, not the driver, says where transactions begin
        dbapi.execute("PRAGMA journal_mode=WAL")
        dbapi.execute("PRAGMA synchronous=FULL")

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.info.get("immediate") else "BEGIN")

    return engine


@lru_cache(maxsize=256)
def _statement(sql: str) -> tuple[Any, int]:
    """`?` marks as `:p0, :p1, ...` for SQLAlchemy; the statements here never hold a literal `?`."""
    count = 0

    def name(_: re.Match[str]) -> str:
        nonlocal count
        count += 1
        return f":p{count - 1}"

    return text(re.sub(r"\?", name, sql)), count


def _params(values: Sequence[Any]) -> dict[str, Any]:
    return {f"p{i}": v for i, v in enumerate(values)}


class Rows(list[Any]):
    """A statement's rows, read at once (so its transaction can end), with the cursor-like calls stores use."""

    rowcount: int = -1

    def fetchone(self) -> Any:
        return self[0] if self else None

    def fetchall(self) -> list[Any]:
        return list(self)


class Database:
    """One migrated connection to a store's database; statements from several threads take turns."""

    def __init__(self, target: str | Path) -> None:
        self.url = database_url(target)
        self.name = describe(target)
        self._lock = threading.RLock()
        self._depth = 0
        try:
            self.engine = _engine(self.url)
            self._conn = self.engine.connect()
        except SQLAlchemyError as exc:
            raise DatabaseError(f"cannot open the database {self.name}: {reason(exc)}") from exc
        try:
            upgrade(self._conn)
        except BaseException:
            self.close()
            raise

    @property
    def dialect(self) -> str:
        return self._conn.dialect.name

    @property
    def in_transaction(self) -> bool:
        return self._depth > 0

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Statements inside are one commit (SQLite: the write lock taken at the start); nested calls join it."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            self._conn.info["immediate"] = True
            try:
                with self._conn.begin():
                    self._depth = 1
                    try:
                        yield
                    finally:
                        self._depth = 0
            finally:
                self._conn.info["immediate"] = False

    def serialize(self, name: str) -> None:
        """Inside `transaction()`: wait for any other process in the same named section (PostgreSQL's advisory
        lock, released at commit); SQLite's BEGIN IMMEDIATE already lets one writer in at a time."""
        if not self._depth:
            raise RuntimeError("serialize() belongs inside transaction()")
        if self.dialect == "postgresql":
            self.execute("SELECT pg_advisory_xact_lock(?)", (_LOCK_KEY + zlib.crc32(name.encode()),))

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Rows:
        statement, _ = _statement(sql)
        with self._lock, self._short():
            result = self._conn.execute(statement, _params(params))
            rows = Rows(result.fetchall() if result.returns_rows else [])
            rows.rowcount = result.rowcount
            return rows

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> int:
        """One statement for many parameter rows; the rows changed (or -1 where the driver cannot tell)."""
        if not rows:
            return 0
        statement, _ = _statement(sql)
        with self._lock, self._short():
            return int(self._conn.execute(statement, [_params(r) for r in rows]).rowcount)

    def stream(self, sql: str, params: Sequence[Any] = (), size: int = 10_000) -> Iterator[list[Any]]:
        """Rows in chunks of `size`, without holding them all (a large history loads in pieces)."""
        statement, _ = _statement(sql)
        with self._lock, self._short():
            result = self._conn.execute(statement, _params(params),  # this statement only: not the connection's
                                        execution_options={"stream_results": True, "yield_per": size})
            while chunk := result.fetchmany(size):
                yield list(chunk)

    @contextmanager
    def _short(self) -> Iterator[None]:
        if self._depth:
            yield
            return
        with self._conn.begin():
            yield

    def close(self) -> None:
        with self._lock:
            conn = getattr(self, "_conn", None)
            if conn is not None:
                conn.close()
            engine = getattr(self, "engine", None)
            if engine is not None:
                engine.dispose()


def reason(exc: SQLAlchemyError) -> str:
    """The driver's own words, without SQLAlchemy's statement dump (it may carry ticket text)."""
    orig = getattr(exc, "orig", None)
    return str(orig if orig is not None else exc).strip().splitlines()[0]


@lru_cache(maxsize=1)
def _scripts() -> Any:
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(MIGRATIONS))


def _check_stamp(conn: Connection) -> None:
    found = int(conn.exec_driver_sql("PRAGMA user_version").scalar() or 0)
    if found > SQLITE_STAMP:
        raise DatabaseError(f"the file carries schema stamp {found}: it was written by a newer triage (this one "
                            f"reads up to {SQLITE_STAMP}); upgrade triage or point it at another file")


def upgrade(conn: Connection) -> str:
    """Bring the database to the newest schema this triage knows (a no-op when it is there); its revision.

    Refuses a database a newer triage migrated, rather than misreading it. Replicas starting together
    on PostgreSQL take turns (an advisory lock); on SQLite the write lock does the same.
    """
    from alembic import command
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext

    scripts = _scripts()
    head = scripts.get_current_head()
    conn.info["immediate"] = True
    try:
        with conn.begin():
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
            else:
                _check_stamp(conn)
            current = MigrationContext.configure(conn).get_current_revision()
            if current == head:
                return head
            if current is not None and current not in {s.revision for s in scripts.walk_revisions()}:
                raise DatabaseError(f"the database is at schema revision {current}, written by a newer triage "
                                    f"(this one knows up to {head}); upgrade triage")
            config = Config()
            config.set_main_option("script_location", str(MIGRATIONS))
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
            if conn.dialect.name == "sqlite":  # releases before this schema refuse the file instead of misreading it
                conn.exec_driver_sql(f"PRAGMA user_version = {SQLITE_STAMP}")
    except SQLAlchemyError as exc:
        raise DatabaseError(f"cannot migrate the database: {reason(exc)}") from exc
    finally:
        conn.info["immediate"] = False
    return str(head)
