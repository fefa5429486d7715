"""Sweeps: one per discover/inventory/commission/audit run, running until finished or aborted.

A sweep whose process died stays "running" until the next open on that host marks it
aborted: the owner's pid, host and start time are stored with it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from devmgr import __version__
from devmgr.registry._database import Database, utc_now
from devmgr.registry._errors import RegistryError
from devmgr.registry._process import ProcessIdentity, is_running
from devmgr.registry._records import Sweep, SweepId, SweepKind, SweepStatus
from devmgr.registry._schema import SweepRow


def file_digest(path: str | Path) -> str:
    """``sha256:<hex>`` of a file, for sweep parameters (which targets file was used)."""
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    return f"sha256:{digest}"



def to_sweep(row: SweepRow) -> Sweep:
    return Sweep(
        id=SweepId(row.id), kind=SweepKind(row.kind), status=SweepStatus(row.status),
        started_at=row.started_at, finished_at=row.finished_at, parameters=dict(row.parameters),
        host=row.host, pid=row.pid, os_user=row.os_user, software_version=row.software_version,
        observation_count=row.observation_count, unreachable_count=row.unreachable_count,
        new_device_count=row.new_device_count, note=row.note)


def kinds_of(kinds: Collection[SweepKind | str]) -> list[str]:
    return [SweepKind(k).value for k in kinds]



class SweepLog(Database):
    """Beginning, finishing and listing sweeps."""

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
        now = utc_now()
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
            row = SweepRow(kind=kind.value, status=SweepStatus.RUNNING.value, started_at=utc_now(),
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
            row.finished_at = utc_now()
            s.flush()
            return to_sweep(row)

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
            return to_sweep(row)

    def sweeps(self, kind: SweepKind | str | None = None, *,
               status: SweepStatus | str | None = None, limit: int | None = 100) -> list[Sweep]:
        """Sweeps, newest first."""
        query = select(SweepRow).order_by(SweepRow.id.desc()).limit(limit)
        if kind is not None:
            query = query.where(SweepRow.kind == SweepKind(kind).value)
        if status is not None:
            query = query.where(SweepRow.status == SweepStatus(status).value)
        with self._session("list sweeps") as s:
            return [to_sweep(row) for row in s.scalars(query)]
