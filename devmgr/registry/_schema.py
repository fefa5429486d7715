"""The registry's tables (SQLAlchemy 2.0 declarative) and its schema version.

Tables, version 6::

    schema_version  one row per schema version applied (version, applied_at, software_version)
    sweeps          one row per discover/inventory/commission/audit run, kept forever
    devices         one row per physical unit, stable across sweeps (matched by serial, else MAC;
                    since 5 unique: one row per serial, one serial-less row per MAC)
    observations    one row per camera per sweep: the full Inventory / DiscoveredDevice as JSON,
                    plus the columns queries filter on (target, address, serial, MAC, firmware)
    audit_log       (since version 2) one row per snapshot / configuration retrieval camfleet
                    made: who, when, how, purpose, destination (Art. 15, 16(3)); append-only
                    and hash-chained (``_audit``); triggers refuse UPDATE and DELETE (and on
                    PostgreSQL TRUNCATE), on PostgreSQL since 5

    filings         (since 3) every version of every filing record imported (FilingRecord JSON);
                    the newest version per device id is the filing in force
    catalog_nodes   (since 4) the same for the directory nodes of imported GB/T 28181 catalogs
                    (divisions, business groups, virtual organisations: CatalogNode JSON)
    snapshots       (since 3) JPEG snapshots, content-addressed by SHA-256 (baselines, audits)
    baselines       (since 3) per camera per commission sweep: the Baseline as JSON
    audit_results   (since 3) per camera per audit sweep: the CameraAudit (findings) as JSON
    ptz_leases      (since 5) per PTZ head: the run allowed to drive it, until when (``_heads``)
    ptz_origins     (since 5) where each head was before a run moved it, and whether it was put
                    back: what a later run restores after a run that was killed
    camera_events   (since 6) events cameras raised themselves (tamper), as ``devmgr monitor
                    --events`` received them: the audit's evidence since the last audit

History: version 1 had the first four tables; version 2 added ``audit_log`` (and its triggers);
version 3 the compliance tables (filings, snapshots, baselines, audit_results); version 4
``catalog_nodes``; version 5 unique device identity (duplicates merged), the audit log's
triggers on PostgreSQL, ``ptz_leases`` and ``ptz_origins``; version 6 ``camera_events``.

Migrations run once, by one process: ``Database._prepare_schema`` takes the schema lock (an
advisory lock on PostgreSQL, the write lock on SQLite) and re-reads the version before it
creates or upgrades anything, and PostgreSQL's DDL commits with the version stamp or not at
all. Opening a registry already at this version takes no lock and needs no DDL rights, so the
restricted role of ``_grants`` can open it.

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
    and_,
    delete,
    func,
    select,
    text,
    update,
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
    "CatalogNodeRow",
    "DeviceRow",
    "FilingRow",
    "ObservationRow",
    "PtzLeaseRow",
    "PtzOriginRow",
    "SchemaVersionRow",
    "SnapshotRow",
    "SweepRow",
]

#: The schema this camfleet writes. A database stamped with a higher version is refused.
SCHEMA_VERSION = 6


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
    """A physical unit, matched by serial, else MAC (``_observations._DeviceMatcher``).

    Unique where the matching rule is: one device per serial, and one serial-less device per
    MAC (a MAC may also belong to units with serials: MACs get cloned, and a replacement unit
    may carry its predecessor's). The indexes make a duplicate impossible even if two
    recorders race; the recorders also take per-identity locks so that they never have to
    fail on one (``Observations._write_batch``).
    """

    __tablename__ = "devices"
    __table_args__ = (
        Index("ux_devices_serial", "serial", unique=True,
              sqlite_where=text("serial IS NOT NULL"),
              postgresql_where=text("serial IS NOT NULL")),
        Index("ux_devices_mac_without_serial", "mac", unique=True,
              sqlite_where=text("serial IS NULL AND mac IS NOT NULL"),
              postgresql_where=text("serial IS NULL AND mac IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    serial: Mapped[str | None] = mapped_column(String(128))
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


# Defence in depth for Art. 20 (2): a plain UPDATE or DELETE of an audit entry (and on
# PostgreSQL a TRUNCATE) is refused by the database itself. Whoever owns the database can
# still drop these triggers (or edit the SQLite file); that is why the entries are
# hash-chained: Registry.verify_audit_log() detects an edited, deleted or reordered entry.
# On PostgreSQL, also run camfleet as a role that does not own the tables (``_grants``).
AUDIT_TRIGGERS = {
    "audit_log_no_update": "UPDATE",
    "audit_log_no_delete": "DELETE",
}
_REFUSED = ("audit_log is append-only: {op} of an audit entry is refused (regulation "
            "Art. 20 (2): records must not be altered or destroyed)")
#: PostgreSQL: the trigger function (one per schema, beside the table it guards).
AUDIT_TRIGGER_FUNCTION = "camfleet_audit_log_append_only"


def _create_audit_triggers(_table: object, conn: Connection, **_kw: Any) -> None:
    if conn.dialect.name == "sqlite":
        for name, op in AUDIT_TRIGGERS.items():
            conn.exec_driver_sql(
                f"CREATE TRIGGER {name} BEFORE {op} ON audit_log BEGIN "
                f"SELECT RAISE(ABORT, '{_REFUSED.format(op=op)}'); END")
    elif conn.dialect.name == "postgresql":
        _create_postgresql_audit_triggers(conn)


def _create_postgresql_audit_triggers(conn: Connection) -> None:
    # TG_OP names the operation; USING ERRCODE: insufficient_privilege is what a client
    # (and the restricted role's operator) reads as "not allowed", not as a bug.
    conn.exec_driver_sql(
        f"CREATE OR REPLACE FUNCTION {AUDIT_TRIGGER_FUNCTION}() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION USING MESSAGE = "
        f"replace('{_REFUSED}', '{{op}}', TG_OP), ERRCODE = 'insufficient_privilege'; "
        "END $$")
    for name, op in {**AUDIT_TRIGGERS, "audit_log_no_truncate": "TRUNCATE"}.items():
        each = "STATEMENT" if op == "TRUNCATE" else "ROW"
        # (Again on upgrade: a database that went 1 -> 5 got them with the table in step 2.)
        conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name} ON audit_log")
        conn.exec_driver_sql(
            f"CREATE TRIGGER {name} BEFORE {op} ON audit_log FOR EACH {each} "
            f"EXECUTE FUNCTION {AUDIT_TRIGGER_FUNCTION}()")


# Runs wherever the table is created: a new database (create_all) and the v1 -> v2 step.
sa_event.listen(AuditLogRow.__table__, "after_create", _create_audit_triggers)


def _add_audit_log(conn: Connection) -> None:
    Base.metadata.create_all(conn, tables=[AuditLogRow.__table__])  # type: ignore[list-item]


class _Versioned:
    """Columns of a record kept in versions by GB/T 28181 id: never updated, a re-import
    appends a version, and the newest one not withdrawn is in force."""

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[str] = mapped_column(String(20), index=True)
    recorded_at: Mapped[datetime]
    #: The file (or tool) it came from, for the archive.
    source: Mapped[str] = mapped_column(Text)
    #: A withdrawn record (e.g. the unit was decommissioned on record) is kept, not deleted.
    withdrawn: Mapped[bool] = mapped_column(default=False)
    payload: Mapped[str] = mapped_column(Text)


class FilingRow(_Versioned, Base):
    """One version of a filing record. Never updated: a re-import appends a version, so the
    archive (Art. 11) shows what was filed when."""

    __tablename__ = "filings"


class CatalogNodeRow(_Versioned, Base):
    """One version of a catalog directory node, kept like a filing: the organisation tree an
    exported catalog places the cameras in."""

    __tablename__ = "catalog_nodes"


class CameraEventRow(Base):
    """One event a camera raised itself (the caller's model as JSON), by target and time."""

    __tablename__ = "camera_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    target_id: Mapped[str] = mapped_column(String(200), index=True)
    received_at: Mapped[datetime] = mapped_column(index=True)
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


class PtzLeaseRow(Base):
    """Which run may drive a PTZ head, until when (``_heads``). One row per head, kept: a
    release ends the lease (``released_at``), a new holder takes the row over."""

    __tablename__ = "ptz_leases"

    #: The head: ``serial:<serial>``, else ``onvif:<device service URL>``.
    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    #: New for every acquisition: tells this holding from the holder's earlier ones.
    token: Mapped[str] = mapped_column(String(36))
    purpose: Mapped[str] = mapped_column(Text)
    sweep_id: Mapped[int | None] = mapped_column(ForeignKey("sweeps.id"))
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int]
    process_token: Mapped[str] = mapped_column(String(100))
    os_user: Mapped[str] = mapped_column(String(100))
    acquired_at: Mapped[datetime]
    #: The holder renews (heartbeat) before this; after it, anyone may take the head.
    expires_at: Mapped[datetime]
    released_at: Mapped[datetime | None]


class PtzOriginRow(Base):
    """Where a head was before a run moved it, written (committed) before the first move."""

    __tablename__ = "ptz_origins"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(300), index=True)
    target_id: Mapped[str | None] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(255))
    device_url: Mapped[str] = mapped_column(Text)
    #: The media profile whose PTZ configuration moves the head.
    profile: Mapped[str] = mapped_column(String(200))
    pan: Mapped[float]
    tilt: Mapped[float]
    zoom: Mapped[float]
    recorded_at: Mapped[datetime]
    sweep_id: Mapped[int | None] = mapped_column(ForeignKey("sweeps.id"))
    #: The lease under which the head was moved, and who held it.
    lease_token: Mapped[str] = mapped_column(String(36))
    holder: Mapped[str] = mapped_column(Text)
    #: Set once the head is back here: by the run that moved it, or by a later one.
    restored_at: Mapped[datetime | None] = mapped_column(index=True)
    restored_note: Mapped[str] = mapped_column(Text, default="")


_COMPLIANCE_TABLES = (FilingRow, SnapshotRow, BaselineRow, AuditResultRow)


def _add_compliance_tables(conn: Connection) -> None:
    Base.metadata.create_all(conn, tables=[t.__table__ for t in _COMPLIANCE_TABLES])  # type: ignore[misc]


def _add_catalog_nodes(conn: Connection) -> None:
    Base.metadata.create_all(conn, tables=[CatalogNodeRow.__table__])  # type: ignore[list-item]


def _unique_devices(conn: Connection) -> None:
    """Merge the duplicate device rows concurrent recorders could leave (version 4 had no
    constraint), keeping the oldest row of each identity, then add the unique indexes."""
    identities = ((DeviceRow.serial, DeviceRow.serial.is_not(None)),
                  (DeviceRow.mac, and_(DeviceRow.serial.is_(None), DeviceRow.mac.is_not(None))))
    for column, among in identities:
        groups = conn.execute(
            select(column, func.min(DeviceRow.id), func.min(DeviceRow.first_seen),
                   func.max(DeviceRow.last_seen))
            .where(among).group_by(column).having(func.count() > 1)).all()
        for value, keep, first_seen, last_seen in groups:
            duplicates = and_(among, column == value, DeviceRow.id != keep)
            conn.execute(update(ObservationRow)
                         .where(ObservationRow.device_id.in_(
                             select(DeviceRow.id).where(duplicates).scalar_subquery()))
                         .values(device_id=keep))
            conn.execute(delete(DeviceRow).where(duplicates))
            conn.execute(update(DeviceRow).where(DeviceRow.id == keep)
                         .values(first_seen=first_seen, last_seen=last_seen))
    conn.exec_driver_sql("DROP INDEX IF EXISTS ix_devices_serial")  # the unique one replaces it
    for index in Base.metadata.tables["devices"].indexes:
        if index.unique:
            index.create(conn)


def _version_5(conn: Connection) -> None:
    _unique_devices(conn)
    if conn.dialect.name == "postgresql":
        _create_postgresql_audit_triggers(conn)
    Base.metadata.create_all(conn, tables=[Base.metadata.tables["ptz_leases"],
                                           Base.metadata.tables["ptz_origins"]])


#: version -> (description, step upgrading a database from version - 1).
Migration = tuple[str, Callable[[Connection], None]]
MIGRATIONS: dict[int, Migration] = {
    2: ("audit log (Art. 15, 16(3)): append-only, hash-chained", _add_audit_log),
    3: ("compliance: filings, snapshots, baselines, audit results", _add_compliance_tables),
    4: ("catalog directory nodes", _add_catalog_nodes),
    5: ("unique device identity; audit log triggers on PostgreSQL; PTZ leases and origins",
        _version_5),
    6: ("events cameras raised themselves (tamper)", lambda conn: Base.metadata.create_all(
        conn, tables=[Base.metadata.tables["camera_events"]])),
}
