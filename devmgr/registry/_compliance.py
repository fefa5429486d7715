"""The registry's compliance records: filings (and the catalog's directory nodes), snapshots,
baselines and audit results.

Kept generic on purpose: the registry stores pydantic models as JSON and hands them back as
the class the caller names, so it does not depend on the compliance package above it.
Everything is append-only like the rest of the registry: a re-imported filing, a new baseline
or a new audit adds rows; "the one in force" is the newest (from a complete sweep).
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable
from datetime import datetime
from typing import TypeVar

from pydantic import BaseModel
from sqlalchemy import func, insert, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from devmgr.registry._codec import dump_model, load_model
from devmgr.registry._database import Database, utc_now
from devmgr.registry._records import Sweep, SweepId, SweepKind, SweepStatus
from devmgr.registry._schema import (
    AuditResultRow,
    BaselineRow,
    CatalogNodeRow,
    FilingRow,
    SnapshotRow,
    SweepRow,
)
from devmgr.registry._sweeps import to_sweep

M = TypeVar("M", bound=BaseModel)


def snapshot_digest(jpeg: bytes) -> str:
    return hashlib.sha256(jpeg).hexdigest()


class ComplianceRecords(Database):
    """Filings, catalog nodes, snapshots, baselines and audit results, stored as the caller's
    models."""

    # -- filings ------------------------------------------------------------------------------

    def put_filings(self, records: Iterable[tuple[str, BaseModel]], *,
                    source: str) -> int:
        """Store filing records ``(device_id, record)`` in one transaction (all or none).

        A record equal to the version in force is not stored again, so re-importing the same
        file is a no-op; returns how many versions were added.
        """
        with self._session("store filings", write=True) as s:
            self._lock(s, "filings")  # two imports at once: each compares with the other's
            return _put_versions(s, FilingRow, records, source)

    def put_catalog_nodes(self, nodes: Iterable[tuple[str, BaseModel]], *,
                          source: str) -> int:
        """Store catalog directory nodes ``(device_id, node)`` like :meth:`put_filings`."""
        with self._session("store catalog nodes", write=True) as s:
            self._lock(s, "catalog_nodes")
            return _put_versions(s, CatalogNodeRow, nodes, source)

    def catalog_nodes(self, cls: type[M]) -> dict[str, M]:
        """device id -> the directory node in force, by device id."""
        with self._session("read catalog nodes") as s:
            payloads = _current_payloads(s, CatalogNodeRow, None)
        return {d: load_model(cls, p) for d, p in sorted(payloads.items())}

    def filings(self, cls: type[M], device_ids: Collection[str] | None = None) -> dict[str, M]:
        """device id -> the filing in force (withdrawn ones left out), by device id; only
        those of ``device_ids`` if given (a collector auditing one camera of a city)."""
        with self._session("read filings") as s:
            payloads = _current_payloads(s, FilingRow, device_ids)
        return {d: load_model(cls, p) for d, p in sorted(payloads.items())}

    # -- snapshots ----------------------------------------------------------------------------

    def put_snapshot(self, jpeg: bytes) -> str:
        """Store a JPEG (once, whatever the number of callers); returns its SHA-256."""
        digest = snapshot_digest(jpeg)
        # One statement, whoever else stores the same JPEG at the same moment: the second
        # insert of a digest does nothing (content-addressed: the bytes are the same).
        dialect_insert = (postgresql_insert if self._engine.dialect.name == "postgresql"
                          else sqlite_insert)
        with self._session("store a snapshot", write=True) as s:
            s.execute(dialect_insert(SnapshotRow)
                      .values(sha256=digest, stored_at=utc_now(), jpeg=jpeg)
                      .on_conflict_do_nothing(index_elements=[SnapshotRow.sha256]))
        return digest

    def snapshot(self, digest: str) -> bytes | None:
        with self._session("read a snapshot") as s:
            row = s.get(SnapshotRow, digest)
            return bytes(row.jpeg) if row is not None else None

    # -- baselines ----------------------------------------------------------------------------

    def record_baselines(self, sweep_id: SweepId,
                         baselines: Iterable[tuple[str, str | None, str | None, BaseModel]],
                         ) -> int:
        """Record ``(camera, target_id, serial, baseline)`` into a running commission sweep."""
        rows = [{"sweep_id": sweep_id, "camera": camera, "target_id": target_id,
                 "serial": serial or None, "recorded_at": utc_now(), "payload": dump_model(b)}
                for camera, target_id, serial, b in baselines]
        with self._session(f"record baselines into sweep {sweep_id}", write=True) as s:
            self._running_sweep(s, sweep_id)
            if rows:
                s.execute(insert(BaselineRow), rows)
        return len(rows)

    def baselines(self, cls: type[M], cameras: Collection[str] | None = None) -> dict[str, M]:
        """camera -> its newest baseline from a *complete* commission sweep (only those of
        ``cameras``, if given)."""
        newest_q = (select(BaselineRow.camera, func.max(BaselineRow.id).label("id"))
                    .join(SweepRow, SweepRow.id == BaselineRow.sweep_id)
                    .where(SweepRow.status == SweepStatus.COMPLETE.value,
                           SweepRow.kind == SweepKind.COMMISSION.value))
        if cameras is not None:
            newest_q = newest_q.where(BaselineRow.camera.in_(set(cameras)))
        newest = newest_q.group_by(BaselineRow.camera).subquery()
        query = (select(BaselineRow.camera, BaselineRow.payload)
                 .join(newest, BaselineRow.id == newest.c.id).order_by(BaselineRow.camera))
        with self._session("read baselines") as s:
            return {row.camera: load_model(cls, row.payload) for row in s.execute(query)}

    # -- audit results ------------------------------------------------------------------------

    def record_audit_results(self, sweep_id: SweepId,
                             results: Iterable[tuple[str, str, BaseModel]]) -> int:
        """Record ``(camera, status, result)`` into a running audit sweep (one transaction);
        returns how many were new.

        Idempotent per camera and sweep: a camera that already has its result in the sweep
        keeps it (a re-delivered collector task records nothing twice). Recorders of one
        sweep take turns for the check (PostgreSQL: an advisory lock; SQLite: the write lock).
        """
        rows = [{"sweep_id": sweep_id, "camera": camera, "status": status,
                 "recorded_at": utc_now(), "payload": dump_model(result)}
                for camera, status, result in results]
        with self._session(f"record audit results into sweep {sweep_id}", write=True) as s:
            self._running_sweep(s, sweep_id)
            if rows:
                self._lock(s, f"audit-results:{sweep_id}")
                there = set(s.scalars(select(AuditResultRow.camera).where(
                    AuditResultRow.sweep_id == sweep_id,
                    AuditResultRow.camera.in_({r["camera"] for r in rows}))))
                rows = [r for r in rows if r["camera"] not in there]
            if rows:
                s.execute(insert(AuditResultRow), rows)
        return len(rows)

    def audited_cameras(self, sweep_id: SweepId) -> set[str]:
        """The cameras that have their result in an audit sweep (any status): a
        coordinator's progress, and a collector's "done already"."""
        with self._session(f"read the cameras audited in sweep {sweep_id}") as s:
            return set(s.scalars(select(AuditResultRow.camera)
                                 .where(AuditResultRow.sweep_id == sweep_id)))

    def audit_results(self, sweep_id: SweepId, cls: type[M]) -> dict[str, M]:
        query = (select(AuditResultRow.camera, AuditResultRow.payload)
                 .where(AuditResultRow.sweep_id == sweep_id).order_by(AuditResultRow.id))
        with self._session(f"read audit results of sweep {sweep_id}") as s:
            return {row.camera: load_model(cls, row.payload) for row in s.execute(query)}

    def recent_audit_results(self, camera: str, cls: type[M], *, since: datetime,
                             limit: int) -> list[M]:
        """One camera's results in the last ``limit`` *complete* audit sweeps that started
        after ``since`` (its baseline), newest first: the views it showed when healthy."""
        query = (select(AuditResultRow.payload)
                 .join(SweepRow, SweepRow.id == AuditResultRow.sweep_id)
                 .where(AuditResultRow.camera == camera,
                        SweepRow.kind == SweepKind.AUDIT.value,
                        SweepRow.status == SweepStatus.COMPLETE.value,
                        SweepRow.started_at > since)
                 .order_by(SweepRow.id.desc()).limit(limit))
        with self._session(f"read the recent audits of {camera}") as s:
            return [load_model(cls, payload) for payload in s.scalars(query)]

    def audit_statuses(self, limit: int, cameras: Collection[str] | None = None,
                       ) -> list[tuple[Sweep, dict[str, str]]]:
        """The last ``limit`` *complete* audit sweeps, newest first, each with camera ->
        status (only ``cameras``', if given): what "N consecutive audits" counts over
        (aborted audits do not count)."""
        sweeps_q = (select(SweepRow).where(SweepRow.kind == SweepKind.AUDIT.value,
                                          SweepRow.status == SweepStatus.COMPLETE.value)
                    .order_by(SweepRow.id.desc()).limit(limit))
        with self._session("read audit history") as s:
            sweeps = list(s.scalars(sweeps_q))
            statuses: dict[int, dict[str, str]] = {row.id: {} for row in sweeps}
            if sweeps:
                query = (select(AuditResultRow.sweep_id, AuditResultRow.camera,
                                AuditResultRow.status)
                         .where(AuditResultRow.sweep_id.in_(statuses)))
                if cameras is not None:
                    query = query.where(AuditResultRow.camera.in_(set(cameras)))
                for row in s.execute(query):
                    statuses[row.sweep_id][row.camera] = row.status
            return [(to_sweep(row), statuses[row.id]) for row in sweeps]


_VersionedTable = type[FilingRow] | type[CatalogNodeRow]


def _put_versions(s: Session, table: _VersionedTable, records: Iterable[tuple[str, BaseModel]],
                  source: str) -> int:
    items = list(records)
    current = _current_payloads(s, table, [d for d, _ in items])
    rows = []
    for device_id, record in items:
        payload = dump_model(record)
        if current.get(device_id) != payload:
            rows.append({"device_id": device_id, "recorded_at": utc_now(),
                         "source": source, "withdrawn": False, "payload": payload})
            current[device_id] = payload
    if rows:
        s.execute(insert(table), rows)
    return len(rows)


def _current_payloads(s: Session, table: _VersionedTable,
                      device_ids: Collection[str] | None) -> dict[str, str]:
    newest = select(table.device_id, func.max(table.id).label("id"))
    if device_ids is not None:
        newest = newest.where(table.device_id.in_(set(device_ids)))
    sub = newest.group_by(table.device_id).subquery()
    query = (select(table.device_id, table.payload)
             .join(sub, table.id == sub.c.id).where(table.withdrawn.is_(False)))
    return {row.device_id: row.payload for row in s.execute(query)}

