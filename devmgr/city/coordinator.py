"""The coordinator: one sweep fanned out in batches, a queue per district, followed to the end.

    run = Coordinator(app, registry).audit(targets, move=False)
    run.report        # the same AuditReport as a single-machine audit
    run.districts     # per queue: cameras, done, collectors seen, missing

The coordinator begins the sweep, sends the cameras to their district's queue (the
target's ``district``, else a CIDR route, else ``default``) in batches of up to ``batch`` per
task (:data:`DEFAULT_BATCH`: a collector works a batch in one event loop, as the single
process works its sweep; a collector killed mid-batch has the whole batch delivered again,
and what it had recorded is not recorded twice), then follows the sweep *in the registry*,
where the collectors record: the registry is the truth, the broker only carries work. It
ends when every camera is recorded (the sweep is complete), or when what is left can no
longer come: a district with no collector on its queue for ``collector_wait_s``
(reported missing; its tasks expire unread), or the overall ``deadline_s``. A sweep that
lacks cameras ends aborted, so that the audit history counts no half city; what was
recorded stays readable and is reported.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from camfleet.targets import TargetsFile
from devmgr.city.work import CameraJob, Route, queue_of
from devmgr.compliance.model import AuditReport, AuditSettings, CameraAudit
from devmgr.inventory.model import Inventory
from devmgr.registry import Registry, RegistryError, SweepId, SweepStatus, default_operator

__all__ = ["DEFAULT_BATCH", "CityRun", "Coordinator", "District"]

Kind = Literal["inventory", "audit"]
#: Cameras per task. Inventory: many, a camera costs little but an event loop of its own
#: costs as much. Audit: a camera is seconds of CPU and PTZ travel; few, so that a dead
#: collector strands little and the district's collectors share the work evenly.
DEFAULT_BATCH: dict[Kind, int] = {"inventory": 16, "audit": 4}


@dataclass
class District:
    """One queue's share of a sweep, as the coordinator follows it."""

    queue: str
    cameras: set[str]
    done: set[str] = field(default_factory=set)
    #: Collectors seen consuming the queue at the last look (-1: not looked yet).
    collectors: int = -1
    last_seen: float = field(default_factory=time.monotonic)
    missing: bool = False

    @property
    def finished(self) -> bool:
        return self.cameras <= self.done

    def line(self) -> str:
        state = ("no collector" if self.missing else "done" if self.finished
                 else f"{self.collectors} collectors" if self.collectors >= 0 else "sent")
        return f"{self.queue}: {len(self.done & self.cameras)}/{len(self.cameras)} ({state})"


@dataclass
class CityRun:
    kind: Kind
    sweep_id: SweepId
    districts: dict[str, District]
    status: SweepStatus
    report: AuditReport | None = None
    inventories: list[Inventory] = field(default_factory=list)

    @property
    def missing_districts(self) -> list[str]:
        return sorted(q for q, d in self.districts.items() if d.missing)

    @property
    def undone(self) -> list[str]:
        return sorted(c for d in self.districts.values() for c in d.cameras - d.done)


class Coordinator:
    """Fans sweeps out to collectors (Celery workers) and follows them in the registry."""

    def __init__(self, app: Any, registry: Registry, *, routes: Sequence[Route] = (),
                 collector_wait_s: float = 30.0, deadline_s: float = 3600.0,
                 poll_s: float = 0.5, look_every_s: float = 3.0, batch: int | None = None,
                 progress: Callable[[str], None] | None = None) -> None:
        """``batch``: cameras per task (None: :data:`DEFAULT_BATCH` of the kind)."""
        if batch is not None and batch < 1:
            raise ValueError(f"batch must be at least 1, not {batch}")
        self.app, self.registry, self.routes, self.batch = app, registry, tuple(routes), batch
        self.collector_wait_s, self.deadline_s = collector_wait_s, deadline_s
        self.poll_s, self.look_every_s = poll_s, look_every_s
        self.progress = progress

    def audit(self, targets: TargetsFile, *, move: bool = True,
              settings: AuditSettings | None = None, operator: str | None = None,
              check_credentials: bool = True, head_wait_s: float = 120.0,
              call_timeout_s: float = 5.0,
              parameters: dict[str, object] | None = None) -> CityRun:
        from devmgr.compliance.commission import camera_keys  # noqa: PLC0415
        from devmgr.filings.model import FilingRecord  # noqa: PLC0415

        operator = operator or default_operator()
        settings = settings or AuditSettings()
        keys = camera_keys(targets.targets, self.registry.filings(FilingRecord))
        started = datetime.now(UTC)
        run = self._run("audit", targets, keys, dict(parameters or {}, move=move), {
            "move": move, "settings": settings, "operator": operator,
            "check_credentials": check_credentials, "head_wait_s": head_wait_s,
            "call_timeout_s": call_timeout_s})
        results = self.registry.audit_results(run.sweep_id, CameraAudit)
        run.report = AuditReport(
            sweep_id=run.sweep_id, started_at=started, finished_at=datetime.now(UTC),
            operator=operator, settings=settings, registry=self.registry.url,
            targets_digest=str((parameters or {}).get("targets", "")),
            cameras=tuple(sorted(results.values(), key=lambda c: c.camera)))
        return run

    def inventory(self, targets: TargetsFile, *, operator: str | None = None,
                  call_timeout_s: float = 5.0,
                  parameters: dict[str, object] | None = None) -> CityRun:
        keys = {t.id: t.id for t in targets.targets}
        run = self._run("inventory", targets, keys, dict(parameters or {}), {
            "operator": operator or default_operator(), "call_timeout_s": call_timeout_s})
        order = {t.id: n for n, t in enumerate(targets.targets)}
        run.inventories = sorted(self.registry.inventories(run.sweep_id),
                                 key=lambda inv: order.get(inv.target_id, len(order)))
        return run

    # -- the run --------------------------------------------------------------------------

    def _run(self, kind: Kind, targets: TargetsFile, keys: dict[str, str],
             parameters: dict[str, object], options: dict[str, Any]) -> CityRun:
        districts: dict[str, District] = {}
        jobs: list[tuple[str, CameraJob]] = []
        for target in targets.targets:
            queue = queue_of(target, self.routes)
            districts.setdefault(queue, District(queue, set())).cameras.add(keys[target.id])
        parameters = dict(parameters, distributed=True,
                          districts={q: len(d.cameras) for q, d in sorted(districts.items())})
        sweep_id = self.registry.begin_sweep(kind, parameters)
        for target in targets.targets:
            jobs.append((queue_of(target, self.routes), CameraJob.of(
                kind, int(sweep_id), keys[target.id], target, **options)))
        run = CityRun(kind, sweep_id, districts, SweepStatus.RUNNING)
        try:
            self._send(jobs, self.batch or DEFAULT_BATCH[kind])
            self._follow(run)
        except BaseException:
            self.registry.finish_sweep(sweep_id, SweepStatus.ABORTED)
            raise
        run.status = SweepStatus.COMPLETE if not run.undone else SweepStatus.ABORTED
        self.registry.finish_sweep(sweep_id, run.status)
        return run

    def _send(self, jobs: list[tuple[str, CameraJob]], batch: int) -> None:
        # Expiring with the deadline: a collector that comes later does not work for nothing.
        expires = datetime.now(UTC) + timedelta(seconds=self.deadline_s)
        per_queue: dict[str, list[CameraJob]] = {}
        for queue, job in jobs:
            per_queue.setdefault(queue, []).append(job)
        tasks = 0
        with self.app.producer_or_acquire() as producer:
            for queue, mine in per_queue.items():
                for start in range(0, len(mine), batch):
                    self.app.send_task("camfleet.cameras", args=[
                        [job.model_dump(mode="json") for job in mine[start:start + batch]]],
                        queue=queue, expires=expires, producer=producer)
                    tasks += 1
        self._say(f"sent {len(jobs)} cameras to {len(per_queue)} district queues "
                  f"({tasks} tasks of up to {batch})")

    def _follow(self, run: CityRun) -> None:
        deadline = time.monotonic() + self.deadline_s
        next_look = time.monotonic()
        shown = ""
        while True:
            try:
                done = (self.registry.audited_cameras(run.sweep_id) if run.kind == "audit"
                        else self.registry.observed_targets(run.sweep_id))
            except RegistryError as exc:  # away for a while: collectors keep retrying too
                self._say(f"registry unreachable ({exc}); waiting")
                if time.monotonic() >= deadline:
                    raise
                time.sleep(max(self.poll_s, 1.0))
                continue
            for district in run.districts.values():
                recorded = done & district.cameras
                if len(recorded) > len(district.done):  # results come: a collector works
                    district.last_seen = time.monotonic()
                district.done = recorded
            waiting = [d for d in run.districts.values() if not d.finished and not d.missing]
            now = time.monotonic()
            if waiting and now >= next_look:
                self._look_for_collectors(waiting, now)
                next_look = time.monotonic() + self.look_every_s
            line = "; ".join(d.line() for _, d in sorted(run.districts.items()))
            if line != shown:
                self._say(line)
                shown = line
            if not waiting:
                return
            if time.monotonic() >= deadline:
                self._say(f"deadline of {self.deadline_s:g} s passed; "
                          f"{len(run.undone)} cameras without a result")
                return
            time.sleep(self.poll_s)

    def _look_for_collectors(self, waiting: list[District], now: float) -> None:
        from kombu.exceptions import OperationalError  # noqa: PLC0415

        try:
            consumers = self.collectors({d.queue for d in waiting})
        except (OSError, OperationalError) as exc:
            # The broker is away (restarting): nobody can be told missing from that.
            self._say(f"broker unreachable ({exc}); collectors reconnect on their own")
            for district in waiting:
                district.last_seen = now
            return
        for district in waiting:
            district.collectors = consumers.get(district.queue, 0)
            if district.collectors:
                district.last_seen = now
            elif now - district.last_seen >= self.collector_wait_s:
                district.missing = True
                self._say(f"district {district.queue}: no collector consumes its queue "
                          f"(waited {self.collector_wait_s:g} s); start one with "
                          f"`devmgr collector --queue {district.queue}`")

    def collectors(self, queues: Collection[str] | None = None) -> dict[str, int]:
        """queue -> collectors consuming it now. On RabbitMQ, the broker's own count for
        each of ``queues`` (exact, and not fooled by a loaded collector slow to answer);
        otherwise, or for every queue, the workers that answer a broadcast within 1 s."""
        if queues is not None and self.app.conf.broker_url.startswith(("amqp", "pyamqp")):
            return self._amqp_consumers(queues)
        answers = self.app.control.inspect(timeout=1.0).active_queues() or {}
        counts: dict[str, int] = {}
        for consumed in answers.values():
            for queue in consumed or ():
                name = str(queue.get("name", ""))
                counts[name] = counts.get(name, 0) + 1
        return counts

    def _amqp_consumers(self, queues: Collection[str]) -> dict[str, int]:
        from amqp.exceptions import NotFound  # noqa: PLC0415

        counts: dict[str, int] = {}
        with self.app.connection_for_read() as conn:
            for queue in queues:
                channel = conn.channel()  # a passive declare of a missing queue closes it
                try:
                    counts[queue] = int(channel.queue_declare(
                        queue=queue, passive=True).consumer_count)
                except NotFound:
                    counts[queue] = 0
                finally:
                    if channel.is_open:
                        channel.close()
        return counts

    def _say(self, line: str) -> None:
        if self.progress is not None:
            self.progress(line)
