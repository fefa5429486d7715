"""The registry's tables (SQLAlchemy 2.0 declarative) and its schema version.

Tables, version 1::

    schema_version  one row per schema version applied (version, applied_at, software_version)
    sweeps          one row per discover/inventory/commission/audit run, kept forever
    devices         one row per physical unit, stable across sweeps (matched by serial, else MAC)
    observations    one row per camera per sweep: the full Inventory / DiscoveredDevice as JSON,
                    plus the columns queries filter on (target, address, serial, MAC, firmware)

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
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.engine import Connection
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "Base",
    "DeviceRow",
    "ObservationRow",
    "SchemaVersionRow",
    "SweepRow",
]

#: The schema this camfleet writes. A database stamped with a higher version is refused.
SCHEMA_VERSION = 1


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


#: version -> (description, step upgrading a database from version - 1).
Migration = tuple[str, Callable[[Connection], None]]
MIGRATIONS: dict[int, Migration] = {}
