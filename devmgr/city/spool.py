"""The collector's spool: results kept while the registry is away, shipped when it is back.

What a Zabbix proxy does with its offline buffer. A camera's work reads the registry first
(the sweep, filings, baselines, history), then polls the camera; what it would write (its
observation, audit-log entries, snapshots, its audit result) is kept as a :class:`Result`
by a :class:`Journal` instead, and shipped in one go at the end (:func:`ship`). If the
registry cannot be reached then, the result goes into the :class:`Spool` (a SQLite file on
the collector, committed with an fsync before the task's message is acknowledged) and a
shipper thread (:func:`ship_spool`) ships it when the registry answers again. The camera is
not polled again for it.

Shipping is idempotent: a result whose camera is recorded in the sweep already (another
delivery was first) is dropped, one whose sweep has ended is dropped, and the writes of a
result are applied in order, each one's success stored before the next, so a registry lost
mid-way resumes where it stopped. (A collector killed between a write and the note of it
writes that one again: an audit-log entry or an observation twice, never an audit result,
which the registry records once per camera and sweep.)

Bounded: at most ``max_bytes`` (a result that does not fit is refused with
:class:`SpoolFull`: the task then stays with the broker and is retried), and a result older
than ``max_age_s`` is dropped when met, with an error naming it (its sweep has long ended).
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from camfleet.printable import device_logger
from devmgr.compliance.model import CameraAudit
from devmgr.inventory.model import Inventory
from devmgr.registry import (
    AuditEntry,
    Registry,
    RegistryError,
    Retrieval,
    SweepId,
    SweepStatus,
    snapshot_digest,
)
from devmgr.registry._codec import dump_model, load_model

__all__ = ["DEFAULT_MAX_AGE_S", "DEFAULT_MAX_BYTES", "Journal", "Result", "Spool", "SpoolFull",
           "default_spool_dir", "ship", "ship_all", "ship_spool"]

DEFAULT_MAX_BYTES = 1024 * 1024 * 1024
DEFAULT_MAX_AGE_S = 24 * 3600.0
Shipped = Literal["recorded", "done-already", "sweep-over"]
log = device_logger(__name__)


def default_spool_dir() -> Path:
    """``$XDG_STATE_HOME/camfleet/spool`` (default ``~/.local/state``): the collector's state."""
    state = os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state"
    return Path(state) / "camfleet" / "spool"


class SpoolFull(Exception):
    """The spool has no room for a result (its limit is the collector's ``--spool-max-mb``)."""


@dataclass
class Result:
    """One camera's writes into a sweep, in order, not yet (all) in the registry."""

    kind: Literal["inventory", "audit"]
    sweep_id: int
    camera: str
    target_id: str
    #: ``{"op": name, ...}``: JSON-ready, so that the spool stores them as they are.
    ops: list[dict[str, Any]] = field(default_factory=list)
    #: Ops before this one are in the registry.
    done: int = 0
    created: float = field(default_factory=time.time)
    #: Its row in the spool, once spooled.
    spool_id: int | None = None


class Journal(Registry):
    """The registry as a camera's work sees it: reads go to the registry, result writes are
    kept in :attr:`result` (shipped by :func:`ship`). PTZ leases are not results: they go to
    the registry at once (two runs must not drive one head)."""

    def __init__(self, registry: Registry, result: Result) -> None:
        super().__init__(registry._engine, registry.url, registry.batch_size)
        self.result = result

    def close(self) -> None:
        """Nothing to release: the engine is the registry's."""

    def record_inventories(self, sweep_id: SweepId, invs: Iterable[Inventory], *,
                           batch_size: int | None = None) -> int:
        items = [dump_model(inv) for inv in invs]
        self.result.ops.append({"op": "inventories", "sweep": int(sweep_id), "items": items})
        return len(items)

    def log_retrievals(self, retrievals: Iterable[Retrieval]) -> list[AuditEntry]:
        # Stamped now, when the camera was read, not when the entry reaches the registry.
        now = datetime.now().astimezone()
        items = [dict(asdict(r), at=(r.at or now).isoformat()) for r in retrievals]
        self.result.ops.append({"op": "retrievals", "items": items})
        return []

    def put_snapshot(self, jpeg: bytes) -> str:
        self.result.ops.append({"op": "snapshot", "jpeg": base64.b64encode(jpeg).decode()})
        return snapshot_digest(jpeg)

    def record_audit_results(self, sweep_id: SweepId,
                             results: Iterable[tuple[str, str, BaseModel]]) -> int:
        items = [[camera, status, dump_model(r)] for camera, status, r in results]
        self.result.ops.append({"op": "audit_results", "sweep": int(sweep_id), "items": items})
        return len(items)


def _apply(op: dict[str, Any], registry: Registry) -> None:
    name = op["op"]
    if name == "inventories":
        registry.record_inventories(SweepId(op["sweep"]),
                                    [load_model(Inventory, i) for i in op["items"]])
    elif name == "retrievals":
        registry.log_retrievals(Retrieval(**dict(i, at=datetime.fromisoformat(i["at"])))
                                for i in op["items"])
    elif name == "snapshot":
        registry.put_snapshot(base64.b64decode(op["jpeg"]))
    elif name == "audit_results":
        registry.record_audit_results(SweepId(op["sweep"]), [
            (camera, status, load_model(CameraAudit, r)) for camera, status, r in op["items"]])
    else:
        raise ValueError(f"spool: unknown operation {name!r}")


def ship(result: Result, registry: Registry,
         progress: Callable[[Result], None] | None = None) -> Shipped:
    """Write the result into the registry, from where it stopped; RegistryError if the
    registry is lost meanwhile (``result.done`` says how far it got; ``progress`` is told
    after each write)."""
    sweep_id = SweepId(result.sweep_id)
    if registry.get_sweep(sweep_id).status != SweepStatus.RUNNING:
        return "sweep-over"
    if result.done == 0:
        recorded = (result.camera in registry.audited_cameras(sweep_id)
                    if result.kind == "audit"
                    else bool(registry.observed_targets(sweep_id, result.target_id)))
        if recorded:
            return "done-already"
    while result.done < len(result.ops):
        _apply(result.ops[result.done], registry)
        result.done += 1
        if progress is not None:
            progress(result)
    return "recorded"


def ship_all(results: Sequence[Result], registry: Registry) -> list[Shipped]:
    """Results of one sweep whose writes are alike (the same operations, in the same order,
    each with ``items``: one batch's inventories), shipped together: each operation of all
    of them in one call. What is recorded already is dropped, as :func:`ship` does."""
    if not results:
        return []
    sweep_id = SweepId(results[0].sweep_id)
    if registry.get_sweep(sweep_id).status != SweepStatus.RUNNING:
        return ["sweep-over"] * len(results)
    recorded = registry.observed_targets(sweep_id)
    outcomes: list[Shipped] = ["done-already" if r.done == 0 and r.target_id in recorded
                               else "recorded" for r in results]
    fresh = [r for r, o in zip(results, outcomes, strict=True) if o == "recorded"]
    while fresh and fresh[0].done < len(fresh[0].ops):
        step = fresh[0].done
        ops = [r.ops[step] for r in fresh]
        _apply(dict(ops[0], items=[item for op in ops for item in op["items"]]), registry)
        for result in fresh:
            result.done += 1
    return outcomes


class Spool:
    """Results waiting for the registry, in a SQLite file (safe for threads and processes)."""

    def __init__(self, path: str | Path, *, max_bytes: int = DEFAULT_MAX_BYTES,
                 max_age_s: float = DEFAULT_MAX_AGE_S) -> None:
        self.path = Path(path)
        self.max_bytes, self.max_age_s = max_bytes, max_age_s
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None,
                                   check_same_thread=False)
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA synchronous = FULL")  # a spooled result survives power loss
        self._db.execute("CREATE TABLE IF NOT EXISTS results (id INTEGER PRIMARY KEY, "
                         "kind TEXT, sweep_id INTEGER, camera TEXT, target_id TEXT, "
                         "created REAL, done INTEGER, size INTEGER, ops TEXT)")

    def close(self) -> None:
        self._db.close()

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def put(self, result: Result) -> None:
        """Keep the result (committed to disk on return), or raise :class:`SpoolFull`."""
        ops = json.dumps(result.ops)
        with self._write() as db:
            used = int(db.execute("SELECT coalesce(sum(size), 0) FROM results").fetchone()[0])
            if used + len(ops) > self.max_bytes:
                raise SpoolFull(
                    f"spool {self.path} is full ({used / 2**20:.1f} MiB kept, limit "
                    f"{self.max_bytes / 2**20:.0f} MiB): the result of camera {result.camera} "
                    f"in sweep {result.sweep_id} is not kept; the registry has been away too "
                    "long for this collector (raise --spool-max-mb, or bring the registry "
                    "back); its task stays with the broker")
            result.spool_id = db.execute(
                "INSERT INTO results (kind, sweep_id, camera, target_id, created, done, size, "
                "ops) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (result.kind, result.sweep_id, result.camera, result.target_id,
                 result.created, result.done, len(ops), ops)).lastrowid

    def holds(self, sweep_id: int, camera: str) -> bool:
        """Whether a result of this camera in this sweep waits here (a re-delivered task:
        the camera is not polled again)."""
        with self._lock:
            return self._db.execute("SELECT 1 FROM results WHERE sweep_id = ? AND camera = ?",
                                    (sweep_id, camera)).fetchone() is not None

    def results(self) -> list[Result]:
        """Every waiting result, oldest first."""
        with self._lock:
            rows = self._db.execute("SELECT id, kind, sweep_id, camera, target_id, created, "
                                    "done, ops FROM results ORDER BY id").fetchall()
        return [Result(kind=kind, sweep_id=sweep, camera=camera, target_id=target,
                       ops=json.loads(ops), done=done, created=created, spool_id=row_id)
                for row_id, kind, sweep, camera, target, created, done, ops in rows]

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM results").fetchone()[0])

    def advance(self, result: Result) -> None:
        with self._write() as db:
            db.execute("UPDATE results SET done = ? WHERE id = ?", (result.done, result.spool_id))

    def remove(self, result: Result) -> None:
        with self._write() as db:
            db.execute("DELETE FROM results WHERE id = ?", (result.spool_id,))

    @contextlib.contextmanager
    def shipping(self) -> Iterator[bool]:
        """One shipper at a time per spool file (collectors on one machine may share it):
        yields whether this one may ship now."""
        with (self.path.with_suffix(".ship-lock").open("a") as lock):
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)


def ship_spool(spool: Spool, registry: Registry) -> dict[str, int]:
    """Ship every waiting result, oldest first; outcome -> count. RegistryError (the rest
    waits) if the registry is lost meanwhile."""
    counts: dict[str, int] = {}
    with spool.shipping() as mine:
        if not mine:
            return counts
        for result in spool.results():
            age = time.time() - result.created
            if age > spool.max_age_s:
                log.error("spool %s: the result of camera %s in sweep %s waited %.1f h, more "
                          "than the limit (--spool-max-age-h %.1f); dropped, not shipped",
                          spool.path, result.camera, result.sweep_id, age / 3600,
                          spool.max_age_s / 3600)
                outcome = "too-old"
            else:
                outcome = ship(result, registry, progress=spool.advance)
                log.info("spooled camera %s of sweep %s shipped: %s", result.camera,
                         result.sweep_id, outcome)
            spool.remove(result)
            counts[outcome] = counts.get(outcome, 0) + 1
    return counts


def shipper(spool: Spool, open_registry: Callable[[], Registry], stop: threading.Event,
            every_s: float = 5.0) -> None:
    """The collector's shipper thread: while results wait, tries the registry every
    ``every_s`` and ships them."""
    while not stop.wait(every_s):
        if not len(spool):
            continue
        try:
            with open_registry() as registry:
                ship_spool(spool, registry)
        except RegistryError as exc:
            log.warning("%d results spooled in %s; the registry is still away (%s)",
                        len(spool), spool.path, exc)
