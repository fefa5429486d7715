"""The registry: every sweep camfleet makes, kept, so history shows what changed and when.

Regulation Art. 11 asks for the archive of acceptance and maintenance records; Art. 10 asks
whether a camera moved or was removed. Both need the past, so nothing is overwritten: each
discover/inventory/commission/audit run is a *sweep*, each camera seen in it an *observation*
(the full ``Inventory`` or ``DiscoveredDevice`` as JSON), and each physical unit a *device*
matched across sweeps by serial, else MAC.

SQLite by default (one file, nothing to set up); PostgreSQL for teams and many collectors
(``postgresql+psycopg://user@host/camfleet``; ``pip install 'camfleet[postgresql]'``).

    >>> from datetime import UTC, datetime
    >>> from devmgr.inventory.model import DeviceInfo, Inventory
    >>> from devmgr.registry import Registry
    >>> inv = Inventory(target_id="gate-1", address="192.0.2.10",
    ...                 collected_at=datetime(2025, 1, 6, tzinfo=UTC),
    ...                 device=DeviceInfo(serial="DS1", firmware="V5.7.3"))
    >>> with Registry.open("sqlite://") as registry:   # None: ./camfleet-registry.sqlite
    ...     with registry.sweep("inventory", {"targets": "sha256:..."}) as sweep_id:
    ...         recorded = registry.record_inventories(sweep_id, [inv])
    ...     registry.latest_inventories()["gate-1"] == inv
    True

Guarantees:

* a sweep's observations are committed in batches, but only a *complete* sweep counts for
  :meth:`Registry.latest_inventories`, :meth:`~Registry.history` and
  :meth:`~Registry.changes`; a sweep whose process died stays "running" until the next
  :meth:`Registry.open` on that host marks it "aborted" (the owner's pid, host and start
  time are stored with it);
* SQLite runs in WAL mode with foreign keys on and a busy timeout, so several processes
  can read and write one file; a process killed mid-write leaves the file consistent;
* on PostgreSQL, any number of processes on any number of machines may open, record and
  append at once: schema creation and upgrades run once, under a lock; a snapshot stored
  twice is stored once; one device row per unit (unique indexes, matching under a lock);
  audit-log appends take turns under an advisory lock (``_database.Database._lock``);
* a database written by a newer camfleet is refused (:class:`SchemaVersionError`), and an
  older one is upgraded in place (``_schema.MIGRATIONS``; version 2 added the audit log).

The audit log (regulation Art. 15, 16(3): register who retrieved what, when, how, for what
purpose and where it went; Art. 20 (2): records must not be altered or destroyed): every
snapshot or configuration retrieval is registered with :meth:`Registry.log_retrieval` (or
:meth:`~Registry.log_retrievals`, one transaction); commands describe their retrievals
through an :class:`AuditTrail`. Entries are append-only (no API changes
or removes one; triggers refuse UPDATE and DELETE, on PostgreSQL TRUNCATE too, and there
camfleet should run as a role without those rights: :func:`grant_statements`) and
hash-chained, so
:meth:`Registry.verify_audit_log` detects an entry edited, deleted or reordered behind the
registry's back, e.g. by a database owner who dropped the triggers (see ``_audit``).

    >>> with Registry.open("sqlite://") as registry:
    ...     entry = registry.log_retrieval(
    ...         who="li.wei", how="onvif:GetSnapshotUri+http-digest",
    ...         purpose="compliance audit", destination="reports/2025-01/gate-1.jpg",
    ...         target_id="gate-1", address="192.0.2.10", what="snapshot Profile_1")
    ...     (entry.seq, registry.verify_audit_log().ok)
    (1, True)

PTZ heads (``_heads``): a run that moves a head first takes its lease
(:meth:`Registry.acquire_lease`, renewed while it drives, expiring if its holder dies) and
records where the head was (:meth:`Registry.record_origin`) before the first move, so that
whatever a killed run left displaced, the next run puts back (:meth:`Registry.displaced`).

Importing this package opens nothing; :meth:`Registry.open` does.
"""

from devmgr.registry._audit import (
    GENESIS_HASH,
    AuditEntry,
    AuditProblem,
    AuditVerification,
    Retrieval,
)
from devmgr.registry._changes import TRACKED_FIELDS, Change
from devmgr.registry._compliance import snapshot_digest
from devmgr.registry._errors import RegistryError, SchemaVersionError, mask_url
from devmgr.registry._grants import grant_statements
from devmgr.registry._heads import DEFAULT_LEASE_TTL_S, Lease, LeaseHeld, LeaseLost, Origin
from devmgr.registry._migrate import Moved, move_registry
from devmgr.registry._records import Device, HistoryEntry, Sweep, SweepId, SweepKind, SweepStatus
from devmgr.registry._schema import SCHEMA_VERSION
from devmgr.registry._store import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_BUSY_TIMEOUT_S,
    DEFAULT_FILENAME,
    INVENTORY_KINDS,
    Registry,
    file_digest,
)
from devmgr.registry._trail import AuditTrail, default_operator

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_BUSY_TIMEOUT_S",
    "DEFAULT_FILENAME",
    "DEFAULT_LEASE_TTL_S",
    "GENESIS_HASH",
    "INVENTORY_KINDS",
    "SCHEMA_VERSION",
    "TRACKED_FIELDS",
    "AuditEntry",
    "AuditProblem",
    "AuditTrail",
    "AuditVerification",
    "Change",
    "Device",
    "HistoryEntry",
    "Lease",
    "LeaseHeld",
    "LeaseLost",
    "Moved",
    "Origin",
    "Registry",
    "RegistryError",
    "Retrieval",
    "SchemaVersionError",
    "Sweep",
    "SweepId",
    "SweepKind",
    "SweepStatus",
    "default_operator",
    "file_digest",
    "grant_statements",
    "mask_url",
    "move_registry",
    "snapshot_digest",
]
