"""``Registry``: sweeps, devices and observations in SQLite or any SQLAlchemy database."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from sqlalchemy import (
    URL,
    ColumnElement,
    Engine,
    String,
    and_,
    create_engine,
    event,
    func,
    insert,
    inspect,
    make_url,
    select,
    text,
    type_coerce,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

from devmgr import __version__
from devmgr.inventory.model import DiscoveredDevice, Inventory
from devmgr.model import normalize_mac
from devmgr.registry._audit import (
    GENESIS_HASH,
    AuditEntry,
    AuditProblem,
    AuditVerification,
    Retrieval,
    entry_hash,
)
from devmgr.registry._changes import Change, changes_between
from devmgr.registry._codec import dump_model, load_model
from devmgr.registry._compliance import ComplianceRecords
from devmgr.registry._errors import RegistryError, SchemaVersionError, mask_url
from devmgr.registry._process import ProcessIdentity, is_running
from devmgr.registry._records import Device, HistoryEntry, Sweep, SweepId, SweepKind, SweepStatus
from devmgr.registry._schema import (
    MIGRATIONS,
    SCHEMA_VERSION,
    AuditLogRow,
    Base,
    DeviceRow,
    ObservationRow,
    SchemaVersionRow,
    SweepRow,
)

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_BUSY_TIMEOUT_S",
    "DEFAULT_FILENAME",
    "INVENTORY_KINDS",
    "Registry",
    "file_digest",
]

#: Where ``Registry.open(None)`` keeps the registry: this file, in the current directory.
DEFAULT_FILENAME = "camfleet-registry.sqlite"
#: Observations per transaction. Large enough that commits are a small share of the cost,
#: small enough that the write lock is held for milliseconds and a crash loses little.
DEFAULT_BATCH_SIZE = 250
#: How long a writer waits for another process's transaction before giving up.
DEFAULT_BUSY_TIMEOUT_S = 30.0
#: Sweep kinds whose inventories count for latest/history/changes unless told otherwise.
INVENTORY_KINDS: tuple[SweepKind, ...] = (SweepKind.INVENTORY,)

_INVENTORY = "inventory"
_DISCOVERY = "discovery"
# Stay under every backend's bound-parameter limit (SQLite's was 999 before 3.32).
_IN_CHUNK = 500

T = TypeVar("T")


def file_digest(path: str | Path) -> str:
    """``sha256:<hex>`` of a file, for sweep parameters (which targets file was used)."""
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    return f"sha256:{digest}"


def _now() -> datetime:
    return datetime.now(UTC)


def _chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    chunk: list[T] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _cause(exc: BaseException) -> str:
    """The underlying reason, without SQLAlchemy's SQL echo and documentation links."""
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        return f"{type(exc.orig).__name__}: {str(exc.orig).strip()}"
    if isinstance(exc, ModuleNotFoundError):
        hint = " (pip install 'psycopg[binary]')" if exc.name == "psycopg" else ""
        return (f"its database driver {exc.name!r} is not installed; install it into this "
                f"Python environment{hint}")
    return f"{type(exc).__name__}: {exc}"


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
        return create_engine(url, pool_pre_ping=True)
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


@dataclass(frozen=True, slots=True)
class _Record:
    """One observation, flattened and serialized before the write transaction begins."""

    kind: str
    target_id: str | None
    address: str
    collected_at: datetime
    reachable: bool
    error_kinds: str
    serial: str | None
    mac: str | None
    manufacturer: str | None
    model: str | None
    firmware: str | None
    clock_offset_s: float | None
    payload: str

    @classmethod
    def of_inventory(cls, inv: Inventory) -> _Record:
        device, snmp = inv.device, inv.snmp
        collected_at = inv.collected_at
        if collected_at.tzinfo is None:
            collected_at = collected_at.replace(tzinfo=UTC)  # the collectors write UTC
        return cls(
            kind=_INVENTORY, target_id=inv.target_id, address=inv.address,
            collected_at=collected_at, reachable=inv.reachable,
            error_kinds=",".join(sorted(inv.error_kinds)),
            serial=((device.serial if device else "") or (snmp.serial if snmp else "")).strip()
            or None,
            mac=inv.mac or (snmp.mac if snmp else None),
            manufacturer=(device.manufacturer if device else "") or (snmp.vendor if snmp else "")
            or None,
            model=(device.model if device else "") or (snmp.model if snmp else "") or None,
            firmware=(device.firmware if device else "") or None,
            clock_offset_s=inv.clock_offset_s, payload=dump_model(inv))

    @classmethod
    def of_discovery(cls, dev: DiscoveredDevice) -> _Record:
        snmp = dev.snmp
        return cls(
            kind=_DISCOVERY, target_id=None, address=dev.addresses[0] if dev.addresses else "",
            collected_at=_now(), reachable=True, error_kinds="",
            serial=(dev.serial or (snmp.serial if snmp else "")).strip() or None,
            mac=dev.mac or (snmp.mac if snmp else None),
            manufacturer=dev.vendor or None, model=dev.model or None, firmware=None,
            clock_offset_s=None, payload=dump_model(dev))


class _DeviceMatcher:
    """Finds the physical unit behind each observation of one batch: by serial, else by MAC.

    A replaced unit at the same address has another serial, hence becomes a new device; a unit
    that moved keeps its serial, hence its device. A unit first seen without a serial
    (WS-Discovery or SNMP gave only its MAC) is given its serial when an inventory finds it,
    rather than becoming a second device.
    """

    def __init__(self, session: Session, known: Iterable[DeviceRow]) -> None:
        self.session = session
        self.by_serial: dict[str, DeviceRow] = {}
        self.by_mac: dict[str, list[DeviceRow]] = {}
        self.created = 0
        for device in known:
            self._index(device)

    @classmethod
    def load(cls, session: Session, records: Sequence[_Record]) -> _DeviceMatcher:
        known: dict[int, DeviceRow] = {}
        for column, values in ((DeviceRow.serial, {r.serial for r in records if r.serial}),
                               (DeviceRow.mac, {r.mac for r in records if r.mac})):
            for chunk in _chunks(sorted(values), _IN_CHUNK):
                for device in session.scalars(select(DeviceRow).where(column.in_(chunk))):
                    known[device.id] = device
        return cls(session, sorted(known.values(), key=lambda d: d.id))

    def _index(self, device: DeviceRow) -> None:
        if device.serial and device.serial not in self.by_serial:
            self.by_serial[device.serial] = device
        if device.mac:
            same_mac = self.by_mac.setdefault(device.mac, [])
            if device not in same_mac:
                same_mac.append(device)

    @staticmethod
    def _latest(devices: Iterable[DeviceRow]) -> DeviceRow | None:
        return max(devices, key=lambda d: (d.last_seen, d.id), default=None)

    def match(self, record: _Record) -> DeviceRow | None:
        serial, mac, seen = record.serial, record.mac, record.collected_at
        if not serial and not mac:
            return None  # nothing identifies the unit (unreachable, refused credentials)
        if serial:
            device = self.by_serial.get(serial)
            if device is None and mac:
                device = self._latest(d for d in self.by_mac.get(mac, ()) if not d.serial)
        else:
            device = self._latest(self.by_mac.get(mac or "", ()))
        if device is None:
            device = DeviceRow(serial=serial, mac=mac, first_seen=seen, last_seen=seen)
            self.session.add(device)
            self.created += 1
        else:
            if serial and not device.serial:
                device.serial = serial
            if mac and device.mac != mac:
                device.mac = mac  # the unit's current MAC; observations keep the old one
            device.first_seen = min(device.first_seen, seen)
            device.last_seen = max(device.last_seen, seen)
        self._index(device)
        return device


def _to_sweep(row: SweepRow) -> Sweep:
    return Sweep(
        id=SweepId(row.id), kind=SweepKind(row.kind), status=SweepStatus(row.status),
        started_at=row.started_at, finished_at=row.finished_at, parameters=dict(row.parameters),
        host=row.host, pid=row.pid, os_user=row.os_user, software_version=row.software_version,
        observation_count=row.observation_count, unreachable_count=row.unreachable_count,
        new_device_count=row.new_device_count, note=row.note)


def _kinds(kinds: Collection[SweepKind | str]) -> list[str]:
    return [SweepKind(k).value for k in kinds]


class Registry(ComplianceRecords):
    """The registry store. Open with :meth:`open`; close with :meth:`close` or ``with``.

    One instance may be used by one thread at a time; several processes may share one SQLite
    file (WAL, busy timeout). Do not carry an open instance across ``fork()``.
    """

    def __init__(self, engine: Engine, url: str, batch_size: int) -> None:
        """Use :meth:`open`, which also prepares the schema."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size}")
        self._engine = engine
        self._writer = engine.execution_options(camfleet_write=True)
        #: The database URL, password masked: safe to print.
        self.url = url
        self.batch_size = batch_size
        self._closed = False

    # -- lifecycle ------------------------------------------------------------------------

    @classmethod
    def open(cls, url: str | Path | None = None, *, batch_size: int = DEFAULT_BATCH_SIZE,
             busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S) -> Registry:
        """Open (creating if needed) the registry at ``url``.

        ``url``: None for ``./camfleet-registry.sqlite`` (:data:`DEFAULT_FILENAME`, resolved
        against the current directory now); a path (``Path`` or a string without ``://``)
        for a SQLite file; or any SQLAlchemy URL (``postgresql+psycopg://user@host/db``;
        ``sqlite://`` is an in-memory database). Creates missing tables, upgrades an older
        schema, and marks as aborted the running sweeps whose process on this host is gone.
        Raises :class:`RegistryError` (message: masked URL and cause) if that fails, and
        :class:`SchemaVersionError` if a newer camfleet wrote the database.
        """
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
            raise RegistryError(f"cannot open registry {shown}: {_cause(exc)}") from exc
        registry = cls(engine, shown, batch_size)
        try:
            registry._prepare_schema()
            registry.abort_stale_sweeps()
        except RegistryError:
            engine.dispose()
            raise
        except (SQLAlchemyError, OSError) as exc:
            engine.dispose()
            raise RegistryError(f"cannot open registry {shown}: {_cause(exc)}") from exc
        return registry

    def close(self) -> None:
        """Release the database connections. Idempotent; the instance is unusable after."""
        if not self._closed:
            self._closed = True
            self._engine.dispose()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Registry({self.url!r})"

    # -- plumbing -------------------------------------------------------------------------

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
            raise RegistryError(f"registry {self.url}: cannot {action}: {_cause(exc)}") from exc

    def _prepare_schema(self) -> None:
        with self._engine.connect() as conn:
            version = self._stored_version(conn)
            conn.rollback()
        if version == SCHEMA_VERSION:
            return  # the common case, and no write lock taken: read-only users can open too
        with self._writer.connect() as conn, conn.begin():
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
            version=version, applied_at=_now(), software_version=__version__,
            description=description))

    @property
    def schema_version(self) -> int:
        """The schema version of the database (equal to ``SCHEMA_VERSION`` once open)."""
        with self._session("read the schema version") as s:
            return int(s.scalar(select(func.max(SchemaVersionRow.version))) or 0)

    # -- sweeps ---------------------------------------------------------------------------

    def abort_stale_sweeps(self) -> list[SweepId]:
        """Mark as aborted the running sweeps begun on this host by processes that are gone.

        Called by :meth:`open`. Sweeps begun on other hosts are left alone: whether their
        process lives cannot be told from here.
        """
        me = ProcessIdentity.current()
        with self._session("look for stale sweeps") as s:
            running = s.execute(select(SweepRow.id, SweepRow.pid, SweepRow.process_token)
                                .where(SweepRow.status == SweepStatus.RUNNING,
                                       SweepRow.host == me.host)).all()
        stale = [(row.id, row.pid) for row in running
                 if not is_running(row.pid, row.process_token)]
        if not stale:
            return []
        now = _now()
        with self._session("mark stale sweeps aborted", write=True) as s:
            for sweep_id, pid in stale:
                s.execute(update(SweepRow)
                          .where(SweepRow.id == sweep_id,
                                 SweepRow.status == SweepStatus.RUNNING)
                          .values(status=SweepStatus.ABORTED, finished_at=now,
                                  note=f"process {pid} on {me.host} was gone when pid "
                                       f"{me.pid} opened the registry at {now.isoformat()}"))
        return [SweepId(sweep_id) for sweep_id, _ in stale]

    def begin_sweep(self, kind: SweepKind | str,
                    parameters: dict[str, Any] | None = None) -> SweepId:
        """Start a sweep; record observations into it, then :meth:`finish_sweep` it.

        ``parameters`` (JSON-serializable) should make the sweep reproducible: CLI arguments,
        :func:`file_digest` of the targets file.
        """
        try:
            kind = SweepKind(kind)
        except ValueError:
            raise ValueError(f"unknown sweep kind {kind!r}; one of "
                             f"{', '.join(k.value for k in SweepKind)}") from None
        params = dict(parameters or {})
        try:
            json.dumps(params)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"sweep parameters must be JSON-serializable: {exc}") from exc
        me = ProcessIdentity.current()
        with self._session("begin a sweep", write=True) as s:
            row = SweepRow(kind=kind.value, status=SweepStatus.RUNNING.value, started_at=_now(),
                           finished_at=None, parameters=params, host=me.host, pid=me.pid,
                           process_token=me.token, os_user=me.user,
                           software_version=__version__, observation_count=0,
                           unreachable_count=0, new_device_count=0, note="")
            s.add(row)
            s.flush()
            return SweepId(row.id)

    def finish_sweep(self, sweep_id: SweepId,
                     status: SweepStatus | str = SweepStatus.COMPLETE) -> Sweep:
        """End a running sweep as complete (its observations become "latest") or aborted."""
        status = SweepStatus(status)
        if status is SweepStatus.RUNNING:
            raise ValueError("finish_sweep takes 'complete' or 'aborted', not 'running'")
        with self._session(f"finish sweep {sweep_id}", write=True) as s:
            row = self._running_sweep(s, sweep_id)
            row.status = status.value
            row.finished_at = _now()
            s.flush()
            return _to_sweep(row)

    @contextmanager
    def sweep(self, kind: SweepKind | str,
              parameters: dict[str, Any] | None = None) -> Iterator[SweepId]:
        """``with registry.sweep("inventory") as sid:`` complete on success, aborted on error."""
        sweep_id = self.begin_sweep(kind, parameters)
        try:
            yield sweep_id
        except BaseException:
            self.finish_sweep(sweep_id, SweepStatus.ABORTED)
            raise
        self.finish_sweep(sweep_id, SweepStatus.COMPLETE)

    def get_sweep(self, sweep_id: SweepId) -> Sweep:
        with self._session(f"read sweep {sweep_id}") as s:
            row = s.get(SweepRow, sweep_id)
            if row is None:
                raise RegistryError(f"registry {self.url} has no sweep {sweep_id}")
            return _to_sweep(row)

    def sweeps(self, kind: SweepKind | str | None = None, *,
               status: SweepStatus | str | None = None, limit: int | None = 100) -> list[Sweep]:
        """Sweeps, newest first."""
        query = select(SweepRow).order_by(SweepRow.id.desc()).limit(limit)
        if kind is not None:
            query = query.where(SweepRow.kind == SweepKind(kind).value)
        if status is not None:
            query = query.where(SweepRow.status == SweepStatus(status).value)
        with self._session("list sweeps") as s:
            return [_to_sweep(row) for row in s.scalars(query)]

    def _running_sweep(self, s: Session, sweep_id: SweepId) -> SweepRow:
        row = s.get(SweepRow, sweep_id)
        if row is None:
            raise RegistryError(f"registry {self.url} has no sweep {sweep_id}")
        if row.status != SweepStatus.RUNNING:
            why = f" ({row.note})" if row.note else ""
            raise RegistryError(f"sweep {sweep_id} is already {row.status}{why}; a finished "
                                "sweep is history and cannot change: begin a new sweep")
        return row

    # -- recording ------------------------------------------------------------------------

    def record_inventory(self, sweep_id: SweepId, inv: Inventory) -> None:
        """Record one inventory (one transaction; prefer :meth:`record_inventories`)."""
        self.record_inventories(sweep_id, [inv])

    def record_inventories(self, sweep_id: SweepId, invs: Iterable[Inventory], *,
                           batch_size: int | None = None) -> int:
        """Record inventories into a running sweep, ``batch_size`` per transaction; returns
        how many. A crash loses at most the batch in flight; the sweep stays running."""
        return self._record(sweep_id, (_Record.of_inventory(i) for i in invs), batch_size)

    def record_discovery(self, sweep_id: SweepId, dev: DiscoveredDevice) -> None:
        self.record_discoveries(sweep_id, [dev])

    def record_discoveries(self, sweep_id: SweepId, devs: Iterable[DiscoveredDevice], *,
                           batch_size: int | None = None) -> int:
        return self._record(sweep_id, (_Record.of_discovery(d) for d in devs), batch_size)

    def _record(self, sweep_id: SweepId, records: Iterable[_Record],
                batch_size: int | None) -> int:
        total = 0
        # Serialization happens as each chunk is built, before its transaction: the write
        # lock is held only for the database work.
        for batch in _chunks(records, batch_size or self.batch_size):
            with self._session(f"record into sweep {sweep_id}", write=True) as s:
                self._write_batch(s, sweep_id, batch)
            total += len(batch)
        return total

    def _write_batch(self, s: Session, sweep_id: SweepId, records: Sequence[_Record]) -> None:
        self._running_sweep(s, sweep_id)
        matcher = _DeviceMatcher.load(s, records)
        devices = [matcher.match(r) for r in records]
        s.flush()  # gives the new devices their ids
        s.execute(insert(ObservationRow), [
            {"sweep_id": sweep_id, "device_id": device.id if device else None,
             "kind": r.kind, "target_id": r.target_id, "address": r.address,
             "collected_at": r.collected_at, "reachable": r.reachable,
             "error_kinds": r.error_kinds, "serial": r.serial, "mac": r.mac,
             "manufacturer": r.manufacturer, "model": r.model, "firmware": r.firmware,
             "clock_offset_s": r.clock_offset_s, "payload": r.payload}
            for r, device in zip(records, devices, strict=True)])
        # Increments in SQL, not read-modify-write: safe even if two processes feed one sweep.
        s.execute(update(SweepRow).where(SweepRow.id == sweep_id).values(
            observation_count=SweepRow.observation_count + len(records),
            unreachable_count=SweepRow.unreachable_count
            + sum(1 for r in records if not r.reachable),
            new_device_count=SweepRow.new_device_count + matcher.created))

    # -- reading --------------------------------------------------------------------------

    def inventories(self, sweep_id: SweepId) -> list[Inventory]:
        """The inventories recorded in one sweep (any status), in recording order."""
        return self._payloads(sweep_id, _INVENTORY, Inventory)

    def discoveries(self, sweep_id: SweepId) -> list[DiscoveredDevice]:
        return self._payloads(sweep_id, _DISCOVERY, DiscoveredDevice)

    def _payloads(self, sweep_id: SweepId, kind: str, cls: type[Any]) -> list[Any]:
        query = (select(ObservationRow.payload)
                 .where(ObservationRow.sweep_id == sweep_id, ObservationRow.kind == kind)
                 .order_by(ObservationRow.id))
        with self._session(f"read sweep {sweep_id}") as s:
            payloads = list(s.scalars(query))
        return [load_model(cls, p) for p in payloads]

    def latest_inventories(self, *, kinds: Collection[SweepKind | str] = INVENTORY_KINDS,
                           ) -> dict[str, Inventory]:
        """target id -> its inventory from the latest *complete* sweep of ``kinds`` that has it.

        Sweeps still running or aborted are never "latest", so a crashed sweep cannot hide the
        last whole picture. "Latest" is the most recently *begun* sweep.
        """
        newest = (select(ObservationRow.target_id,
                         func.max(ObservationRow.sweep_id).label("sweep_id"))
                  .join(SweepRow, SweepRow.id == ObservationRow.sweep_id)
                  .where(SweepRow.status == SweepStatus.COMPLETE,
                         SweepRow.kind.in_(_kinds(kinds)), ObservationRow.kind == _INVENTORY)
                  .group_by(ObservationRow.target_id)
                  .subquery())
        query = (select(ObservationRow.target_id, ObservationRow.payload)
                 .join(newest, and_(ObservationRow.target_id == newest.c.target_id,
                                    ObservationRow.sweep_id == newest.c.sweep_id))
                 .where(ObservationRow.kind == _INVENTORY)
                 # A target recorded twice in one sweep: the later record wins.
                 .order_by(ObservationRow.target_id, ObservationRow.id))
        with self._session("read the latest inventories") as s:
            rows = s.execute(query).all()
        return {row.target_id: load_model(Inventory, row.payload) for row in rows}

    def history(self, target_id: str | None = None, *, serial: str | None = None,
                kinds: Collection[SweepKind | str] = INVENTORY_KINDS,
                include_incomplete: bool = False) -> list[HistoryEntry]:
        """Inventories of one target, or of one physical unit (``serial``, wherever it was),
        oldest first, as ``(sweep, inventory)``. Only complete sweeps unless
        ``include_incomplete``."""
        if (target_id is None) == (serial is None):
            raise ValueError("give either target_id or serial")
        which: ColumnElement[bool]
        if target_id is not None:
            which = ObservationRow.target_id == target_id
        else:
            which = ObservationRow.device_id.in_(
                select(DeviceRow.id).where(DeviceRow.serial == serial))
        query = (select(SweepRow, ObservationRow.payload)
                 .join(ObservationRow, ObservationRow.sweep_id == SweepRow.id)
                 .where(which, ObservationRow.kind == _INVENTORY,
                        SweepRow.kind.in_(_kinds(kinds)))
                 .order_by(SweepRow.id, ObservationRow.id))
        if not include_incomplete:
            query = query.where(SweepRow.status == SweepStatus.COMPLETE)
        with self._session("read history") as s:
            rows = s.execute(query).all()
        sweeps: dict[int, Sweep] = {}
        return [HistoryEntry(sweeps.setdefault(row_sweep.id, _to_sweep(row_sweep)),
                             load_model(Inventory, payload))
                for row_sweep, payload in rows]

    def changes(self, target_id: str | None = None, *, serial: str | None = None,
                kinds: Collection[SweepKind | str] = INVENTORY_KINDS,
                fields: Sequence[str] | None = None) -> list[Change]:
        """What changed between consecutive complete sweeps (see ``TRACKED_FIELDS``), oldest
        first. ``fields`` narrows the comparison to some of the tracked fields."""
        return changes_between(self.history(target_id, serial=serial, kinds=kinds), fields)

    def devices(self, *, serial: str | None = None, mac: str | None = None) -> list[Device]:
        """Physical units known to the registry, oldest first; optionally by serial or MAC."""
        query = select(DeviceRow).order_by(DeviceRow.id)
        if serial is not None:
            query = query.where(DeviceRow.serial == serial)
        if mac is not None:
            query = query.where(DeviceRow.mac == normalize_mac(mac))
        with self._session("list devices") as s:
            return [Device(id=d.id, serial=d.serial, mac=d.mac, first_seen=d.first_seen,
                           last_seen=d.last_seen) for d in s.scalars(query)]

    # -- audit log (Art. 15, 16(3), 20 (2)) ---------------------------------------------------
    # Append-only: there is deliberately no method to change or remove an entry.

    def log_retrieval(self, *, who: str, how: str, purpose: str, destination: str,
                      target_id: str | None, address: str, what: str,
                      sweep_id: int | None = None, at: datetime | None = None) -> AuditEntry:
        """Register one retrieval (a snapshot, a configuration read) and return its entry.

        ``at`` None: now (UTC). One write transaction reads the last entry's hash and appends
        the new entry, so concurrent writers (threads, processes) never fork the chain.
        Raises ValueError for an empty field or a naive ``at``; RegistryError if the database
        refuses (e.g. an unknown ``sweep_id``).
        """
        return self.log_retrievals([Retrieval(
            who=who, how=how, purpose=purpose, destination=destination, target_id=target_id,
            address=address, what=what, sweep_id=sweep_id, at=at)])[0]

    def log_retrievals(self, retrievals: Iterable[Retrieval]) -> list[AuditEntry]:
        """Register several retrievals in one transaction (all or none), in the order given."""
        items = list(retrievals)
        for item in items:
            if not isinstance(item, Retrieval):
                raise TypeError(f"log_retrievals takes Retrieval values, not {item!r}")
        if not items:
            return []
        with self._session("append to the audit log", write=True) as s:
            if s.get_bind().dialect.name == "postgresql":  # pragma: no cover (no PG in tests)
                # SQLite's BEGIN IMMEDIATE already serializes writers; PostgreSQL needs a lock
                # that blocks other appenders (not readers) until this transaction commits.
                s.execute(text("LOCK TABLE audit_log IN SHARE ROW EXCLUSIVE MODE"))
            last = s.execute(select(AuditLogRow.seq, AuditLogRow.hash)
                             .order_by(AuditLogRow.seq.desc()).limit(1)).first()
            seq, prev = (last.seq, last.hash) if last is not None else (0, GENESIS_HASH)
            now = _now()
            entries: list[AuditEntry] = []
            for item in items:
                seq += 1
                at = (item.at or now).astimezone(UTC)
                fields: dict[str, Any] = {
                    "seq": seq, "at": at, "who": item.who, "how": item.how,
                    "purpose": item.purpose, "destination": item.destination,
                    "target_id": item.target_id, "address": item.address, "what": item.what,
                    "sweep_id": item.sweep_id, "prev_hash": prev}
                prev = entry_hash(**fields)
                entries.append(AuditEntry(**fields, hash=prev))
            s.execute(insert(AuditLogRow), [
                {"seq": e.seq, "at": e.at, "who": e.who, "how": e.how, "purpose": e.purpose,
                 "destination": e.destination, "target_id": e.target_id,
                 "address": e.address, "what": e.what, "sweep_id": e.sweep_id,
                 "prev_hash": e.prev_hash, "hash": e.hash} for e in entries])
        return entries

    def audit_entries(self, target_id: str | None = None, *, since: datetime | None = None,
                      limit: int | None = None) -> list[AuditEntry]:
        """Audit entries, oldest first (by seq): of one target, at or after ``since`` (aware);
        ``limit``: only the newest ``limit`` of those."""
        if since is not None and since.tzinfo is None:
            raise ValueError("since must be an aware datetime (use datetime.now(UTC))")
        if limit is not None and limit < 0:
            raise ValueError(f"limit must be at least 0, not {limit}")
        query = select(AuditLogRow).order_by(AuditLogRow.seq.desc()).limit(limit)
        if target_id is not None:
            query = query.where(AuditLogRow.target_id == target_id)
        if since is not None:
            query = query.where(AuditLogRow.at >= since)
        with self._session("read the audit log") as s:
            rows = list(s.scalars(query))
        return [_to_audit_entry(row) for row in reversed(rows)]

    def verify_audit_log(self, *, expected_head: tuple[int, str] | None = None,
                         ) -> AuditVerification:
        """Recompute the whole chain, in one read snapshot; stop at the first problem.

        Finds an edited entry (hash mismatch), a deleted one (gap in seq), a replaced or
        reordered one (broken link). ``expected_head`` ``(seq, hash)``, e.g. from an earlier
        verification kept in a report: that entry must still exist unchanged, which also
        catches deleted *last* entries and a chain rewritten from some point on.
        """
        checked, expected_seq, prev = 0, 1, GENESIS_HASH
        head_hash: dict[int, str] = {}
        query = select(*_AUDIT_COLUMNS).order_by(AuditLogRow.seq)
        with self._session("verify the audit log") as s:
            for row in s.execute(query.execution_options(yield_per=1000)):
                checked += 1
                bad = _check_row(row, expected_seq, prev)
                if bad is not None:
                    seq, problem, detail = bad
                    return AuditVerification(ok=False, entries_checked=checked,
                                             first_bad_seq=seq, problem=problem,
                                             detail=detail, head_seq=expected_seq - 1,
                                             head_hash=prev)
                if expected_head is not None and row.seq == expected_head[0]:
                    head_hash[row.seq] = row.hash
                expected_seq, prev = row.seq + 1, row.hash
        if expected_head is not None:
            want_seq, want_hash = expected_head
            if head_hash.get(want_seq) != want_hash:
                found = (f"has hash {head_hash[want_seq]}" if want_seq in head_hash
                         else f"is missing (the log ends at seq {expected_seq - 1})")
                return AuditVerification(
                    ok=False, entries_checked=checked, first_bad_seq=want_seq,
                    problem=AuditProblem.HEAD_MISMATCH,
                    detail=f"expected entry {want_seq} with hash {want_hash}; it {found}",
                    head_seq=expected_seq - 1, head_hash=prev)
        return AuditVerification(ok=True, entries_checked=checked, head_seq=expected_seq - 1,
                                 head_hash=prev)


# Read raw (the timestamp as the database holds it), so that a row edited into something
# unparseable is reported as altered rather than failing the verification.
_AUDIT_COLUMNS = [c.label(c.name) for c in AuditLogRow.__table__.columns
                  if c.name != "at"] + [type_coerce(AuditLogRow.at, String).label("at")]


def _raw_at(value: object) -> datetime | None:
    """A stored timestamp (SQLite: text; other backends: naive UTC datetime) as aware UTC."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed
    return None


def _check_row(row: Any, expected_seq: int, prev: str,
               ) -> tuple[int, AuditProblem, str] | None:
    if row.seq != expected_seq:
        missing = (f"{expected_seq}" if row.seq == expected_seq + 1
                   else f"{expected_seq}..{row.seq - 1}")
        return (expected_seq, AuditProblem.SEQ_GAP,
                f"seq {missing} missing: entry {row.seq} follows entry {expected_seq - 1} "
                "(deleted entries)")
    at = _raw_at(row.at)
    actual = None if at is None else entry_hash(
        seq=row.seq, at=at, who=row.who, how=row.how, purpose=row.purpose,
        destination=row.destination, target_id=row.target_id, address=row.address,
        what=row.what, sweep_id=row.sweep_id, prev_hash=row.prev_hash)
    if actual != row.hash:
        why = ("its timestamp is unreadable" if at is None
               else f"its fields hash to {actual}, not the stored {row.hash}")
        return (row.seq, AuditProblem.HASH_MISMATCH,
                f"entry {row.seq} was altered after it was written: {why}")
    if row.prev_hash != prev:
        return (row.seq, AuditProblem.BROKEN_LINK,
                f"entry {row.seq} links to {row.prev_hash}, but the entry before it "
                f"({'genesis' if expected_seq == 1 else expected_seq - 1}) has hash {prev} "
                "(an entry replaced, reordered or removed)")
    return None


def _to_audit_entry(row: AuditLogRow) -> AuditEntry:
    return AuditEntry(seq=row.seq, at=row.at, who=row.who, how=row.how, purpose=row.purpose,
                      destination=row.destination, target_id=row.target_id,
                      address=row.address, what=row.what, sweep_id=row.sweep_id,
                      prev_hash=row.prev_hash, hash=row.hash)
