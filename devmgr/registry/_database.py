"""The database under the registry: URL to engine, SQLite tuning, schema, one session per action.

Every part of the registry (sweeps, observations, audit log, compliance records, heads) is a
:class:`Database`: it reaches the database only through :meth:`Database._session`, which
commits on success and translates SQLAlchemy's errors into :class:`RegistryError` at this
one boundary.

Two backends, each with its concurrency guarantees implemented and tested: SQLite (a file;
writers take the database's write lock up front, ``BEGIN IMMEDIATE``) and PostgreSQL (many
writers at once; where a writer must read before it writes, it first takes a transaction-level
advisory lock on what it is about to decide: :meth:`Database._lock`).
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    URL,
    Engine,
    create_engine,
    event,
    func,
    insert,
    inspect,
    make_url,
    select,
    text,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

from devmgr import __version__
from devmgr.registry._errors import RegistryError, SchemaVersionError, mask_url
from devmgr.registry._records import SweepId, SweepStatus
from devmgr.registry._schema import MIGRATIONS, SCHEMA_VERSION, Base, SchemaVersionRow, SweepRow

#: Where ``Registry.open(None)`` keeps the registry: this file, in the current directory.
DEFAULT_FILENAME = "camfleet-registry.sqlite"
#: Observations per transaction. Large enough that commits are a small share of the cost,
#: small enough that the write lock is held for milliseconds and a crash loses little.
DEFAULT_BATCH_SIZE = 250
#: How long a writer waits for another process's transaction before giving up.
DEFAULT_BUSY_TIMEOUT_S = 30.0
#: The backends whose concurrency guarantees camfleet implements and tests.
SUPPORTED_BACKENDS = ("sqlite", "postgresql")


def utc_now() -> datetime:
    return datetime.now(UTC)


def cause(exc: BaseException) -> str:
    """The underlying reason, without SQLAlchemy's SQL echo and documentation links."""
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        return f"{type(exc.orig).__name__}: {str(exc.orig).strip()}"
    if isinstance(exc, ModuleNotFoundError):
        hint = " (pip install 'psycopg[binary]')" if exc.name == "psycopg" else ""
        return (f"its database driver {exc.name!r} is not installed; install it into this "
                f"Python environment{hint}")
    return f"{type(exc).__name__}: {exc}"


def lock_key(name: str) -> int:
    """A stable signed 32-bit key for ``name`` (PostgreSQL advisory locks take int4 keys)."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=4).digest(), "big",
                          signed=True)


def _to_url(url: str | Path | None) -> URL:
    if url is None:
        url = Path(DEFAULT_FILENAME)
    if isinstance(url, Path) or "://" not in url:
        # A bare path is a SQLite file. Resolved now, so the registry stays the same file
        # if the process changes directory later.
        return URL.create("sqlite", database=str(Path(url).expanduser().resolve()))
    try:
        return make_url(url)
    except (ArgumentError, ValueError) as exc:  # ValueError: a port that is not a number
        raise RegistryError(f"cannot open registry {mask_url(url)}: not a database URL "
                            f"({mask_url(str(exc))}); give a path or a SQLAlchemy URL such as "
                            "postgresql+psycopg://user@host/camfleet") from None


def _is_sqlite_memory(url: URL) -> bool:
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def _ensure_wal(cursor: sqlite3.Cursor, timeout_s: float) -> None:
    """Put the database in WAL mode: readers never block the writer nor see its uncommitted
    batch, and a process killed mid-transaction leaves a WAL tail that the next open discards.

    The mode is stored in the file, so this only switches once. Switching needs a moment of
    exclusive access, and SQLite answers "database is locked" at once, without waiting in its
    busy handler, while another connection holds the file (two processes creating the
    registry together do this); hence the retry here. A file system without WAL support
    (some network mounts) keeps its rollback journal: still atomic, but less concurrent.
    """
    deadline = time.monotonic() + timeout_s
    delay = 0.001
    while True:
        try:
            if str(cursor.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.05)


def _create_engine(url: URL, busy_timeout_s: float) -> Engine:
    if url.get_backend_name() != "sqlite":
        # pre_ping: a team database restarts under a long-lived process now and then.
        # lock_timeout: a writer waiting on another's lock gives up as SQLite's would
        # (added to the URL's own libpq options, e.g. a search_path, not replacing them).
        given = url.query.get("options", "")
        options = " ".join([given] if isinstance(given, str) else given)
        return create_engine(url, pool_pre_ping=True, connect_args={
            "options": f"{options} -c lock_timeout={int(busy_timeout_s * 1000)}".strip()})
    memory = _is_sqlite_memory(url)
    if memory:
        # One connection for everyone: each new connection to :memory: is a new, empty database.
        engine = create_engine(url, poolclass=StaticPool,
                               connect_args={"check_same_thread": False})
    else:
        engine = create_engine(url, connect_args={"timeout": busy_timeout_s})

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take BEGIN away from the sqlite3 module: it emits none before SELECT, so a read of
        # several queries would not see one snapshot. on_begin emits our own.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
            cursor.execute("PRAGMA foreign_keys = ON")
            if not memory:
                _ensure_wal(cursor, busy_timeout_s)
                # FULL: a committed batch survives power loss too, not only a process crash;
                # the archive (Art. 11) is worth an fsync per batch (measured: ~10 ms per 1000).
                cursor.execute("PRAGMA synchronous = FULL")
        finally:
            cursor.close()

    def on_begin(conn: Connection) -> None:
        # Writers take the write lock up front (IMMEDIATE). A deferred transaction that reads
        # first and writes later fails with SQLITE_BUSY at once, busy_timeout or not, when
        # another process wrote in between; IMMEDIATE waits its turn instead.
        write = conn.get_execution_options().get("camfleet_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    event.listen(engine, "connect", on_connect)
    event.listen(engine, "begin", on_begin)
    return engine


def connect(url: str | Path | None, busy_timeout_s: float) -> tuple[Engine, str]:
    """An engine for ``url`` (see ``Registry.open``) and the URL, password masked."""
    sa_url = _to_url(url)
    shown = mask_url(sa_url)
    # (SQLite URI file names, "file:...?uri=true", are left to SQLite to judge.)
    if (sa_url.get_backend_name() == "sqlite" and not _is_sqlite_memory(sa_url)
            and "uri" not in sa_url.query):
        path = Path(sa_url.database or "")
        if not path.parent.is_dir():
            raise RegistryError(f"cannot open registry {shown}: directory {path.parent} "
                                "does not exist (create it first)")
        if path.is_dir():
            raise RegistryError(f"cannot open registry {shown}: it is a directory; give "
                                f"a file name, e.g. {path / DEFAULT_FILENAME}")
    try:
        engine = _create_engine(sa_url, busy_timeout_s)
    except (SQLAlchemyError, ImportError) as exc:
        raise RegistryError(f"cannot open registry {shown}: {cause(exc)}") from exc
    if engine.dialect.name not in SUPPORTED_BACKENDS:
        engine.dispose()
        raise RegistryError(f"cannot open registry {shown}: {engine.dialect.name} is not "
                            "supported; the registry runs on SQLite (a file path) or "
                            "PostgreSQL (postgresql+psycopg://user@host/db)")
    return engine, shown


class Database:
    """An open database: sessions, the schema, and the one check every writer of a sweep needs.

    One instance may be used by one thread at a time; several processes may share one SQLite
    file (WAL, busy timeout). Do not carry an open instance across ``fork()``.
    """

    def __init__(self, engine: Engine, url: str, batch_size: int) -> None:
        """Use ``Registry.open``, which also prepares the schema."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size}")
        self._engine = engine
        self._writer = engine.execution_options(camfleet_write=True)
        #: The database URL, password masked: safe to print.
        self.url = url
        self.batch_size = batch_size
        self._closed = False

    def close(self) -> None:
        """Release the database connections. Idempotent; the instance is unusable after."""
        if not self._closed:
            self._closed = True
            self._engine.dispose()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r})"

    @contextmanager
    def _session(self, action: str, *, write: bool = False) -> Iterator[Session]:
        """A session in one transaction, committed on success; database errors translated."""
        if self._closed:
            raise RegistryError(f"registry {self.url} is closed; cannot {action}")
        try:
            with (Session(self._writer if write else self._engine, expire_on_commit=False)
                  as session, session.begin()):
                yield session
        except SQLAlchemyError as exc:
            raise RegistryError(f"registry {self.url}: cannot {action}: {cause(exc)}") from exc

    def _lock(self, conn: Session | Connection, *names: str) -> bool:
        """Hold ``names`` until this transaction ends: another writer locking any of them
        waits. PostgreSQL: transaction-level advisory locks, which any role may take, keyed
        per schema and taken in one order (no deadlock between two lockers). SQLite: nothing
        to do, the transaction already holds the database's write lock (``BEGIN IMMEDIATE``).
        Returns whether a lock was taken (whether other writers may have written meanwhile).
        """
        if self._engine.dialect.name != "postgresql" or not names:
            return False
        keys = sorted({lock_key(name) for name in names})
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(current_schema()), k) "
                          "FROM unnest(CAST(:keys AS integer[])) AS k"), {"keys": keys})
        return True

    def _prepare_schema(self) -> None:
        with self._engine.connect() as conn:
            version = self._stored_version(conn)
            conn.rollback()
        if version == SCHEMA_VERSION:
            return  # the common case, and no write lock taken: read-only users can open too
        with self._writer.connect() as conn, conn.begin():
            # One migrator: the others wait here, then find the work done.
            self._lock(conn, "schema")
            version = self._stored_version(conn)  # again: another process may have been first
            if version is None:
                Base.metadata.create_all(conn)
                self._stamp(conn, SCHEMA_VERSION, "initial schema")
                return
            for step in range(version + 1, SCHEMA_VERSION + 1):
                description, migrate = MIGRATIONS[step]
                migrate(conn)
                self._stamp(conn, step, description)

    def _stored_version(self, conn: Connection) -> int | None:
        tables = set(inspect(conn).get_table_names())
        if SchemaVersionRow.__tablename__ not in tables:
            ours = sorted(tables & set(Base.metadata.tables))
            if ours:
                raise RegistryError(f"registry {self.url} has the tables {', '.join(ours)} but "
                                    "no schema_version table: it was not created by camfleet")
            return None
        version = conn.scalar(select(func.max(SchemaVersionRow.version)))
        if version is None:
            raise RegistryError(f"registry {self.url}: the schema_version table is empty")
        if version > SCHEMA_VERSION:
            raise SchemaVersionError(
                f"registry {self.url} has schema version {version}, newer than the "
                f"version {SCHEMA_VERSION} this camfleet ({__version__}) understands; "
                "upgrade camfleet to use it")
        return int(version)

    @staticmethod
    def _stamp(conn: Connection, version: int, description: str) -> None:
        conn.execute(insert(SchemaVersionRow).values(
            version=version, applied_at=utc_now(), software_version=__version__,
            description=description))

    @property
    def schema_version(self) -> int:
        """The schema version of the database (equal to ``SCHEMA_VERSION`` once open)."""
        with self._session("read the schema version") as s:
            return int(s.scalar(select(func.max(SchemaVersionRow.version))) or 0)

    def _running_sweep(self, s: Session, sweep_id: SweepId) -> SweepRow:
        row = s.get(SweepRow, sweep_id)
        if row is None:
            raise RegistryError(f"registry {self.url} has no sweep {sweep_id}")
        if row.status != SweepStatus.RUNNING:
            why = f" ({row.note})" if row.note else ""
            raise RegistryError(f"sweep {sweep_id} is already {row.status}{why}; a finished "
                                "sweep is history and cannot change: begin a new sweep")
        return row
