"""The registry's compliance records: filings, snapshots, baselines and audit results.

Kept generic on purpose: the registry stores pydantic models as JSON and hands them back as
the class the caller names, so it does not depend on the compliance package above it.
Everything is append-only like the rest of the registry: a re-imported filing, a new baseline
or a new audit adds rows; "the one in force" is the newest (from a complete sweep).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Protocol, TypeVar

from pydantic import BaseModel
from sqlalchemy import func, insert, select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from devmgr.registry._codec import dump_model, load_model
from devmgr.registry._records import Sweep, SweepId, SweepKind, SweepStatus
from devmgr.registry._schema import (
    AuditResultRow,
    BaselineRow,
    FilingRow,
    SnapshotRow,
    SweepRow,
)

M = TypeVar("M", bound=BaseModel)


class _Store(Protocol):
    url: str

    def _session(self, action: str, *, write: bool = False,
                 ) -> AbstractContextManager[Session]: ...

    def _running_sweep(self, s: Session, sweep_id: SweepId) -> SweepRow: ...


def _now() -> datetime:
    return datetime.now(UTC)


def snapshot_digest(jpeg: bytes) -> str:
    return hashlib.sha256(jpeg).hexdigest()


class ComplianceRecords:
    """Mixed into :class:`~devmgr.registry.Registry`."""

    # -- filings ------------------------------------------------------------------------------

    def put_filings(self: _Store, records: Iterable[tuple[str, BaseModel]], *,
                    source: str) -> int:
        """Store filing records ``(device_id, record)`` in one transaction (all or none).

        A record equal to the version in force is not stored again, so re-importing the same
        file is a no-op; returns how many versions were added.
        """
        items = list(records)
        with self._session("store filings", write=True) as s:
            current = _current_filing_payloads(s, [d for d, _ in items])
            rows = []
            for device_id, record in items:
                payload = dump_model(record)
                if current.get(device_id) != payload:
                    rows.append({"device_id": device_id, "recorded_at": _now(),
                                 "source": source, "withdrawn": False, "payload": payload})
                    current[device_id] = payload
            if rows:
                s.execute(insert(FilingRow), rows)
        return len(rows)

    def withdraw_filing(self: _Store, device_id: str, *, source: str) -> bool:
        """Record that a filing is withdrawn (the unit left service on record)."""
        with self._session("withdraw a filing", write=True) as s:
            current = _current_filing_payloads(s, [device_id])
            if device_id not in current:
                return False
            s.execute(insert(FilingRow).values(device_id=device_id, recorded_at=_now(),
                                               source=source, withdrawn=True,
                                               payload=current[device_id]))
        return True

    def filings(self: _Store, cls: type[M]) -> dict[str, M]:
        """device id -> the filing in force (withdrawn ones left out), by device id."""
        with self._session("read filings") as s:
            payloads = _current_filing_payloads(s, None)
        return {d: load_model(cls, p) for d, p in sorted(payloads.items())}

    # -- snapshots ----------------------------------------------------------------------------

    def put_snapshot(self: _Store, jpeg: bytes) -> str:
        """Store a JPEG (once, whatever the number of callers); returns its SHA-256."""
        digest = snapshot_digest(jpeg)
        with self._session("store a snapshot", write=True) as s:
            if s.get_bind().dialect.name == "sqlite":
                s.execute(sqlite_insert(SnapshotRow).values(
                    sha256=digest, stored_at=_now(), jpeg=jpeg).on_conflict_do_nothing())
            elif s.get(SnapshotRow, digest) is None:  # pragma: no cover (SQLite in tests)
                s.add(SnapshotRow(sha256=digest, stored_at=_now(), jpeg=jpeg))
        return digest

    def snapshot(self: _Store, digest: str) -> bytes | None:
        with self._session("read a snapshot") as s:
            row = s.get(SnapshotRow, digest)
            return bytes(row.jpeg) if row is not None else None

    # -- baselines ----------------------------------------------------------------------------

    def record_baselines(self: _Store, sweep_id: SweepId,
                         baselines: Iterable[tuple[str, str | None, str | None, BaseModel]],
                         ) -> int:
        """Record ``(camera, target_id, serial, baseline)`` into a running commission sweep."""
        rows = [{"sweep_id": sweep_id, "camera": camera, "target_id": target_id,
                 "serial": serial or None, "recorded_at": _now(), "payload": dump_model(b)}
                for camera, target_id, serial, b in baselines]
        with self._session(f"record baselines into sweep {sweep_id}", write=True) as s:
            self._running_sweep(s, sweep_id)
            if rows:
                s.execute(insert(BaselineRow), rows)
        return len(rows)

    def baselines(self: _Store, cls: type[M]) -> dict[str, M]:
        """camera -> its newest baseline from a *complete* commission sweep."""
        newest = (select(BaselineRow.camera, func.max(BaselineRow.id).label("id"))
                  .join(SweepRow, SweepRow.id == BaselineRow.sweep_id)
                  .where(SweepRow.status == SweepStatus.COMPLETE.value,
                         SweepRow.kind == SweepKind.COMMISSION.value)
                  .group_by(BaselineRow.camera).subquery())
        query = (select(BaselineRow.camera, BaselineRow.payload)
                 .join(newest, BaselineRow.id == newest.c.id).order_by(BaselineRow.camera))
        with self._session("read baselines") as s:
            return {row.camera: load_model(cls, row.payload) for row in s.execute(query)}

    # -- audit results ------------------------------------------------------------------------

    def record_audit_results(self: _Store, sweep_id: SweepId,
                             results: Iterable[tuple[str, str, BaseModel]]) -> int:
        """Record ``(camera, status, result)`` into a running audit sweep (one transaction)."""
        rows = [{"sweep_id": sweep_id, "camera": camera, "status": status,
                 "recorded_at": _now(), "payload": dump_model(result)}
                for camera, status, result in results]
        with self._session(f"record audit results into sweep {sweep_id}", write=True) as s:
            self._running_sweep(s, sweep_id)
            if rows:
                s.execute(insert(AuditResultRow), rows)
        return len(rows)

    def audit_results(self: _Store, sweep_id: SweepId, cls: type[M]) -> dict[str, M]:
        query = (select(AuditResultRow.camera, AuditResultRow.payload)
                 .where(AuditResultRow.sweep_id == sweep_id).order_by(AuditResultRow.id))
        with self._session(f"read audit results of sweep {sweep_id}") as s:
            return {row.camera: load_model(cls, row.payload) for row in s.execute(query)}

    def audit_statuses(self: _Store, limit: int) -> list[tuple[Sweep, dict[str, str]]]:
        """The last ``limit`` *complete* audit sweeps, newest first, each with camera ->
        status: what "N consecutive audits" counts over (aborted audits do not count)."""
        from devmgr.registry._store import _to_sweep  # noqa: PLC0415 (cycle)

        sweeps_q = (select(SweepRow).where(SweepRow.kind == SweepKind.AUDIT.value,
                                          SweepRow.status == SweepStatus.COMPLETE.value)
                    .order_by(SweepRow.id.desc()).limit(limit))
        with self._session("read audit history") as s:
            sweeps = list(s.scalars(sweeps_q))
            statuses: dict[int, dict[str, str]] = {row.id: {} for row in sweeps}
            if sweeps:
                for row in s.execute(select(AuditResultRow.sweep_id, AuditResultRow.camera,
                                            AuditResultRow.status)
                                     .where(AuditResultRow.sweep_id.in_(statuses))):
                    statuses[row.sweep_id][row.camera] = row.status
            return [(_to_sweep(row), statuses[row.id]) for row in sweeps]


def _current_filing_payloads(s: Session, device_ids: Sequence[str] | None) -> dict[str, str]:
    newest = select(FilingRow.device_id, func.max(FilingRow.id).label("id"))
    if device_ids is not None:
        newest = newest.where(FilingRow.device_id.in_(set(device_ids)))
    sub = newest.group_by(FilingRow.device_id).subquery()
    query = (select(FilingRow.device_id, FilingRow.payload)
             .join(sub, FilingRow.id == sub.c.id).where(FilingRow.withdrawn.is_(False)))
    return {row.device_id: row.payload for row in s.execute(query)}

