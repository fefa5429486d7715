"""The registry's tables (SQLAlchemy 2.0 declarative) and its schema version.

Tables, version 3::

    schema_version  one row per schema version applied (version, applied_at, software_version)
    sweeps          one row per discover/inventory/commission/audit run, kept forever
    devices         one row per physical unit, stable across sweeps (matched by serial, else MAC)
    observations    one row per camera per sweep: the full Inventory / DiscoveredDevice as JSON,
                    plus the columns queries filter on (target, address, serial, MAC, firmware)
    audit_log       (since version 2) one row per snapshot / configuration retrieval camfleet
                    made: who, when, how, purpose, destination (Art. 15, 16(3)); append-only
                    and hash-chained (``_audit``); on SQLite, triggers refuse UPDATE and DELETE

    filings         (since 3) every version of every filing record imported (FilingRecord JSON);
                    the newest version per device id is the filing in force
    snapshots       (since 3) JPEG snapshots, content-addressed by SHA-256 (baselines, audits)
    baselines       (since 3) per camera per commission sweep: the Baseline as JSON
    audit_results   (since 3) per camera per audit sweep: the CameraAudit (findings) as JSON

History: version 1 had the first four tables; version 2 added ``audit_log`` (and its triggers);
version 3 the compliance tables (filings, snapshots, baselines, audit_results).

Adding to the schema (filings, baselines, findings, the hash-chained audit log): declare the
new tables on :class:`Base`, bump :data:`SCHEMA_VERSION`, and add a step to
:data:`MIGRATIONS` that brings a database of the previous version up to the new one (for new
tables: ``Base.metadata.create_all(conn, tables=[...])``). A new database gets every table at
once and is stamped with the current version; an older one runs the steps it lacks.

Deliberately absent: CHECK constraints on ``kind`` and ``status``. SQLite cannot alter a
constraint without rebuilding the table, and a later task may add sweep kinds; the values are
validated in Python instead (``SweepKind``, ``SweepStatus``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy import event as sa_event
from sqlalchemy.engine import Connection
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "AuditLogRow",
    "AuditResultRow",
    "Base",
    "BaselineRow",
    "DeviceRow",
    "FilingRow",
    "ObservationRow",
    "SchemaVersionRow",
    "SnapshotRow",
    "SweepRow",
]

#: The schema this camfleet writes. A database stamped with a higher version is refused.
SCHEMA_VERSION = 3


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on every backend.

    SQLite has no time zone type and SQLAlchemy would hand back naive datetimes; storing naive
    UTC and re-attaching UTC on the way out keeps comparisons with ``datetime.now(UTC)`` and
    with Inventory timestamps working everywhere.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()} given; the registry stores "
                             "aware datetimes only (use datetime.now(UTC))")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None else None


class Base(DeclarativeBase):
    type_annotation_map = {  # noqa: RUF012 (SQLAlchemy reads this class attribute)
        datetime: UtcDateTime,
        dict[str, Any]: JSON,
    }


class SchemaVersionRow(Base):
    """Every schema version applied to this database, so the upgrade path stays visible."""

    __tablename__ = "schema_version"

    version: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    applied_at: Mapped[datetime]
    software_version: Mapped[str] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(String(200))


class SweepRow(Base):
    __tablename__ = "sweeps"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    #: CLI arguments, targets-file digest, ... whatever makes the sweep reproducible.
    parameters: Mapped[dict[str, Any]]
    # Who ran it: for the archive (Art. 11), and so a later open can tell a crashed sweep
    # (owner gone) from one still in progress.
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int]
    process_token: Mapped[str] = mapped_column(String(100))
    os_user: Mapped[str] = mapped_column(String(100))
    software_version: Mapped[str] = mapped_column(String(32))
    # Kept up to date batch by batch, so even an aborted sweep says how far it got.
    observation_count: Mapped[int] = mapped_column(default=0)
    unreachable_count: Mapped[int] = mapped_column(default=0)
    new_device_count: Mapped[int] = mapped_column(default=0)
    #: Why the sweep ended as it did, when it was not the sweep itself that said so.
    note: Mapped[str] = mapped_column(Text, default="")


class DeviceRow(Base):
    """A physical unit. Not unique on serial or MAC by constraint: two vendors may share a
    serial format, MACs get cloned; matching rules live in code (``_store._DeviceMatcher``)."""

    __tablename__ = "devices"

    id: Mapped[int] = mapped_column(primary_key=True)
    serial: Mapped[str | None] = mapped_column(String(128), index=True)
    mac: Mapped[str | None] = mapped_column(String(17), index=True)
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime]


class ObservationRow(Base):
    __tablename__ = "observations"
    __table_args__ = (
        # latest_inventories() and history(): per target, newest sweep first.
        Index("ix_observations_target_sweep", "target_id", "sweep_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sweep_id: Mapped[int] = mapped_column(ForeignKey("sweeps.id"), index=True)
    #: None when the camera gave neither serial nor MAC (unreachable, refused credentials).
    device_id: Mapped[int | None] = mapped_column(ForeignKey("devices.id"), index=True)
    #: "inventory" (payload is an Inventory) or "discovery" (a DiscoveredDevice).
    kind: Mapped[str] = mapped_column(String(16))
    #: The targets-file id; None for discoveries, which precede any targets file.
    target_id: Mapped[str | None] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(255), index=True)
    collected_at: Mapped[datetime]
    reachable: Mapped[bool]
    #: Sorted, comma-separated ErrorKind values ("auth,timeout"); "" when there were none.
    #: A string rather than JSON so ``LIKE '%auth%'`` works on every backend.
    error_kinds: Mapped[str] = mapped_column(String(100), default="")
    serial: Mapped[str | None] = mapped_column(String(128), index=True)
    mac: Mapped[str | None] = mapped_column(String(17), index=True)
    manufacturer: Mapped[str | None] = mapped_column(String(128))
    model: Mapped[str | None] = mapped_column(String(128))
    firmware: Mapped[str | None] = mapped_column(String(128), index=True)
    clock_offset_s: Mapped[float | None]
    #: The full record, pydantic JSON (see ``_codec``). Text, not a JSON column: it is written
    #: and read whole, and text keeps pydantic's exact output on every backend.
    payload: Mapped[str] = mapped_column(Text)


class AuditLogRow(Base):
    """One retrieval of a camera's data (snapshot, configuration), Art. 15 and 16(3).

    Append-only. ``seq`` is assigned by the registry (last + 1, inside the write transaction
    that reads the last ``hash``), not by the database, so the sequence has no gaps and a
    missing number means a deleted row. ``hash`` is SHA-256 over the canonical serialization
    of every other column (``_audit.entry_hash``); ``prev_hash`` is the previous row's
    ``hash`` (64 zeros for seq 1). ``prev_hash`` is unique: the chain cannot fork.
    """

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(index=True)
    who: Mapped[str] = mapped_column(String(200))
    how: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[str] = mapped_column(Text)
    destination: Mapped[str] = mapped_column(Text)
    target_id: Mapped[str | None] = mapped_column(String(200), index=True)
    address: Mapped[str] = mapped_column(String(255))
    what: Mapped[str] = mapped_column(Text)
    sweep_id: Mapped[int | None] = mapped_column(ForeignKey("sweeps.id"))
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64))


# Defence in depth for Art. 20 (2), on SQLite: a plain UPDATE or DELETE of an audit entry is
# refused by the database itself. Whoever owns the file can still DROP these triggers (or
# edit the file); that is why the entries are hash-chained: Registry.verify_audit_log()
# detects an edited, deleted or reordered entry. (On other backends: grant the camfleet role
# INSERT and SELECT only on audit_log.)
AUDIT_TRIGGERS = {
    "audit_log_no_update": "UPDATE",
    "audit_log_no_delete": "DELETE",
}


def _create_audit_triggers(_table: object, conn: Connection, **_kw: Any) -> None:
    if conn.dialect.name != "sqlite":
        return
    for name, op in AUDIT_TRIGGERS.items():
        conn.exec_driver_sql(
            f"CREATE TRIGGER {name} BEFORE {op} ON audit_log BEGIN "
            f"SELECT RAISE(ABORT, 'audit_log is append-only: {op} of an audit entry is "
            "refused (regulation Art. 20 (2): records must not be altered or destroyed)'); "
            "END")


# Runs wherever the table is created: a new database (create_all) and the v1 -> v2 step.
sa_event.listen(AuditLogRow.__table__, "after_create", _create_audit_triggers)


def _add_audit_log(conn: Connection) -> None:
    Base.metadata.create_all(conn, tables=[AuditLogRow.__table__])  # type: ignore[list-item]


class FilingRow(Base):
    """One version of a filing record. Never updated: a re-import appends a version, so the
    archive (Art. 11) shows what was filed when."""

    __tablename__ = "filings"

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[str] = mapped_column(String(20), index=True)
    recorded_at: Mapped[datetime]
    #: The file (or tool) it came from, for the archive.
    source: Mapped[str] = mapped_column(Text)
    #: A withdrawn filing (the unit was decommissioned on record) is kept, not deleted.
    withdrawn: Mapped[bool] = mapped_column(default=False)
    payload: Mapped[str] = mapped_column(Text)


class SnapshotRow(Base):
    """A JPEG, stored once however many baselines and audits refer to it."""

    __tablename__ = "snapshots"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    stored_at: Mapped[datetime]
    jpeg: Mapped[bytes] = mapped_column(LargeBinary)


class BaselineRow(Base):
    """A camera's commissioning baseline; the newest from a complete sweep is in force."""

    __tablename__ = "baselines"

    id: Mapped[int] = mapped_column(primary_key=True)
    sweep_id: Mapped[int] = mapped_column(ForeignKey("sweeps.id"), index=True)
    #: The filing's device id, else the target id: the key audits compare under.
    camera: Mapped[str] = mapped_column(String(200), index=True)
    target_id: Mapped[str | None] = mapped_column(String(200))
    serial: Mapped[str | None] = mapped_column(String(128), index=True)
    recorded_at: Mapped[datetime]
    payload: Mapped[str] = mapped_column(Text)


class AuditResultRow(Base):
    """What one audit found on one camera (status and findings, JSON)."""

    __tablename__ = "audit_results"

    id: Mapped[int] = mapped_column(primary_key=True)
    sweep_id: Mapped[int] = mapped_column(ForeignKey("sweeps.id"), index=True)
    camera: Mapped[str] = mapped_column(String(200), index=True)
    status: Mapped[str] = mapped_column(String(20))
    recorded_at: Mapped[datetime]
    payload: Mapped[str] = mapped_column(Text)


_COMPLIANCE_TABLES = (FilingRow, SnapshotRow, BaselineRow, AuditResultRow)


def _add_compliance_tables(conn: Connection) -> None:
    Base.metadata.create_all(conn, tables=[t.__table__ for t in _COMPLIANCE_TABLES])  # type: ignore[misc]


#: version -> (description, step upgrading a database from version - 1).
Migration = tuple[str, Callable[[Connection], None]]
MIGRATIONS: dict[int, Migration] = {
    2: ("audit log (Art. 15, 16(3)): append-only, hash-chained", _add_audit_log),
    3: ("compliance: filings, snapshots, baselines, audit results", _add_compliance_tables),
}
