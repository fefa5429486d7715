"""The work of one camera, as a collector runs it: routed, sent without secrets, recorded once.

    job = CameraJob(kind="audit", sweep_id=7, camera="42010...", target=without_secrets(t))
    outcome = asyncio.run(run_job(job, registry, secrets={t.id: t}))

A job names the coordinator's sweep; the collector records into it with the library's own
functions (:func:`devmgr.compliance.audit.audit` of one camera, the inventory sweep of one
target), their writes kept by a :class:`~devmgr.city.spool.Journal` and shipped at the end,
or spooled on the collector if the registry is away by then (:mod:`devmgr.city.spool`).
A job whose camera is already recorded in the sweep (a re-delivery after a collector died)
does nothing; one whose sweep has ended (the coordinator gave up) is dropped.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Mapping, Sequence
from typing import Literal

from pydantic import Field

from camfleet.model import Model
from camfleet.printable import device_logger
from camfleet.targets import SnmpCredentials, Target, TargetsError, TargetsFile
from devmgr.city.spool import Journal, Result, Spool, ship, ship_all
from devmgr.compliance.model import AuditSettings
from devmgr.registry import (
    AuditTrail,
    Registry,
    RegistryError,
    SweepId,
    SweepStatus,
    default_operator,
)

__all__ = ["DEFAULT_QUEUE", "CameraJob", "JobOutcome", "deliver", "parse_route", "queue_of",
           "run_job", "run_jobs", "without_secrets"]

#: The queue of targets with neither a district nor a matching route.
DEFAULT_QUEUE = "default"
QUEUE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
Route = tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, str]
log = device_logger(__name__)
JobOutcome = Literal["recorded", "done-already", "sweep-over", "spooled"]


def parse_route(text: str) -> Route:
    """``CIDR=QUEUE`` (``10.1.0.0/16=hongshan``); ValueError naming what is wrong."""
    import re  # noqa: PLC0415

    cidr, sep, queue = text.partition("=")
    if not sep or not re.fullmatch(QUEUE_PATTERN, queue):
        raise ValueError(f"route {text!r}: write CIDR=QUEUE, e.g. 10.1.0.0/16=hongshan "
                         "(queue: letters, digits, '.', '_', '-')")
    try:
        return ipaddress.ip_network(cidr.strip(), strict=False), queue
    except ValueError as exc:
        raise ValueError(f"route {text!r}: {exc}") from exc


def queue_of(target: Target, routes: Sequence[Route] = ()) -> str:
    """The collector queue of a target: its ``district``, else the first route whose CIDR
    holds its address, else :data:`DEFAULT_QUEUE`."""
    if target.district:
        return target.district
    try:
        address = ipaddress.ip_address(target.address)
    except ValueError:  # a host name: only its district can route it
        return DEFAULT_QUEUE
    return next((queue for network, queue in routes if address in network), DEFAULT_QUEUE)


def without_secrets(target: Target) -> Target:
    """The target as it may travel through the broker: inline secrets removed (references
    to environment variables stay: they name, they do not tell)."""
    snmp = target.snmp
    if snmp is not None:
        v3 = snmp.v3.model_copy(update={"auth_key": None, "priv_key": None}) if snmp.v3 else None
        snmp = SnmpCredentials(port=snmp.port, community_env=snmp.community_env, v3=v3,
                               community=None)
    return target.model_copy(update={
        "onvif": target.onvif.model_copy(update={"password": None}), "snmp": snmp})


def _has_inline_secrets(target: Target) -> bool:
    snmp = target.snmp
    return (target.onvif.password is not None
            or (snmp is not None and (snmp.community is not None or (
                snmp.v3 is not None and (snmp.v3.auth_key is not None
                                         or snmp.v3.priv_key is not None)))))


class CameraJob(Model):
    """One camera's work in a coordinator's sweep: what a task message carries."""

    kind: Literal["inventory", "audit"]
    sweep_id: int
    #: The key the camera is filed and baselined under (audits record their result by it).
    camera: str
    target: Target
    #: The target had inline secrets: the collector takes them from its own targets file.
    secrets_inline: bool = False
    move: bool = True
    check_credentials: bool = True
    operator: str | None = None
    head_wait_s: float = Field(default=120.0, ge=0)
    call_timeout_s: float = Field(default=5.0, gt=0)
    settings: AuditSettings = AuditSettings()

    @classmethod
    def of(cls, kind: Literal["inventory", "audit"], sweep_id: int, camera: str,
           target: Target, **options: object) -> CameraJob:
        return cls.model_validate(dict(
            options, kind=kind, sweep_id=sweep_id, camera=camera,
            target=without_secrets(target), secrets_inline=_has_inline_secrets(target)))


def _target_with_secrets(job: CameraJob, secrets: Mapping[str, Target]) -> Target:
    """The job's target with the credentials this collector holds for it."""
    if not job.secrets_inline:
        return job.target
    own = secrets.get(job.target.id)
    if own is None:
        raise TargetsError(f"target {job.target.id}: its credentials are inline in the "
                           "coordinator's targets file, and this collector's targets file "
                           "(devmgr collector --targets) does not name it")
    return job.target.model_copy(update={"onvif": own.onvif, "snmp": own.snmp})


async def run_job(job: CameraJob, registry: Registry, *,
                  secrets: Mapping[str, Target] | None = None,
                  spool: Spool | None = None) -> JobOutcome:
    """Do one camera's work into the job's sweep, unless it is recorded there already (or
    its result waits in this collector's ``spool``). The registry is read first, then the
    camera polled, then the result shipped; if the registry is lost by then, the result is
    kept in ``spool`` (without one, the RegistryError is raised)."""
    if job.kind == "inventory":
        (outcome,) = await _inventories([job], registry, secrets or {}, spool)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome
    ready = _before_polling(job, _Reads(registry), secrets or {}, spool)
    if isinstance(ready, str):
        return ready
    result = Result(kind=job.kind, sweep_id=job.sweep_id, camera=job.camera,
                    target_id=ready.id)
    await _audit(job, ready, Journal(registry, result), SweepId(job.sweep_id))
    return deliver(result, registry, spool)


async def run_jobs(jobs: Sequence[CameraJob], registry: Registry, *,
                   secrets: Mapping[str, Target] | None = None, spool: Spool | None = None,
                   ) -> list[JobOutcome | Exception]:
    """A batch of one district's cameras, at once in one event loop: each one's outcome, or
    the exception that stopped it (the others go on). Inventories are polled as one sweep
    (one connection pool, one SNMP session, as the single process polls), each camera's
    result recorded on its own."""
    async def one(job: CameraJob) -> JobOutcome | Exception:
        try:
            return await run_job(job, registry, secrets=secrets, spool=spool)
        except Exception as exc:  # one camera's: reported for it, the batch goes on
            return exc

    inventories = [job for job in jobs if job.kind == "inventory"]
    audits = [job for job in jobs if job.kind != "inventory"]
    polled, audited = await asyncio.gather(
        _inventories(inventories, registry, secrets or {}, spool),
        asyncio.gather(*(one(j) for j in audits)))
    outcomes: dict[int, JobOutcome | Exception] = dict(
        zip(map(id, inventories), polled, strict=True))
    outcomes.update(zip(map(id, audits), audited, strict=True))
    return [outcomes[id(job)] for job in jobs]


class _Reads:
    """What a batch reads of the registry before polling, read once per sweep."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._running: dict[int, bool] = {}
        self._done: dict[tuple[str, int], set[str]] = {}

    def running(self, sweep_id: int) -> bool:
        if sweep_id not in self._running:
            self._running[sweep_id] = (self.registry.get_sweep(SweepId(sweep_id)).status
                                       == SweepStatus.RUNNING)
        return self._running[sweep_id]

    def done(self, kind: str, sweep_id: int) -> set[str]:
        """The targets observed (inventory) or cameras audited (audit) in the sweep."""
        key = (kind, sweep_id)
        if key not in self._done:
            read = (self.registry.observed_targets if kind == "inventory"
                    else self.registry.audited_cameras)
            self._done[key] = read(SweepId(sweep_id))
        return self._done[key]


def _before_polling(job: CameraJob, reads: _Reads, secrets: Mapping[str, Target],
                    spool: Spool | None) -> JobOutcome | Target:
    """What the registry (and the spool) say before the camera is polled: why not to poll
    it, or the target with this collector's credentials."""
    if spool is not None and spool.holds(job.sweep_id, job.camera):
        return "spooled"  # a re-delivery: its result waits here for the registry
    if not reads.running(job.sweep_id):
        return "sweep-over"
    target = _target_with_secrets(job, secrets)
    target.onvif_password()  # a missing $VAR: the TargetsError names it, before any traffic
    key = target.id if job.kind == "inventory" else job.camera
    return "done-already" if key in reads.done(job.kind, job.sweep_id) else target


async def _inventories(jobs: Sequence[CameraJob], registry: Registry,
                       secrets: Mapping[str, Target], spool: Spool | None,
                       ) -> list[JobOutcome | Exception]:
    """Inventory jobs polled as one sweep; each one's outcome (or exception), in order."""
    from devmgr.inventory.parallel import sweep_with_snmp  # noqa: PLC0415
    from devmgr.inventory.recorded import PURPOSE  # noqa: PLC0415
    from devmgr.onvif.session import Timeouts  # noqa: PLC0415

    outcomes: list[JobOutcome | Exception] = []
    todo: list[tuple[int, CameraJob, Target]] = []
    reads = _Reads(registry)
    for job in jobs:
        ready: JobOutcome | Target | Exception
        try:
            ready = _before_polling(job, reads, secrets, spool)
        except Exception as exc:  # one camera's: reported for it, the batch goes on
            ready = exc
        if isinstance(ready, Target):
            todo.append((len(outcomes), job, ready))
            ready = "recorded"  # its delivery says, below
        outcomes.append(ready)
    if not todo:
        return outcomes
    targets = [target for _, _, target in todo]
    found = await sweep_with_snmp(
        targets, concurrency=len(targets), snmp=any(t.snmp for t in targets),
        timeouts=Timeouts(call=max(job.call_timeout_s for _, job, _ in todo)), progress=None)
    results: list[Result] = []
    for (_, job, target), inv in zip(todo, found, strict=True):
        result = Result(kind="inventory", sweep_id=job.sweep_id, camera=job.camera,
                        target_id=target.id)
        journal = Journal(registry, result)
        journal.record_inventories(SweepId(job.sweep_id), [inv])
        trail = AuditTrail(journal, job.operator or default_operator(), PURPOSE, job.sweep_id)
        trail.log([trail.configuration(inv)] if inv.device is not None else [])
        results.append(result)
    try:
        delivered: list[JobOutcome | Exception] = list(deliver_all(results, registry, spool))
    except Exception as exc:  # the spool refused them (full): the batch is retried
        delivered = [exc] * len(results)
    for (n, _, _), outcome in zip(todo, delivered, strict=True):
        outcomes[n] = outcome
    return outcomes


def deliver_all(results: Sequence[Result], registry: Registry, spool: Spool | None,
                ) -> list[JobOutcome]:
    """Ship results of alike writes (one batch's inventories) together, a transaction per
    kind of write for all of them, or keep them in the spool if the registry is lost."""
    try:
        return list(ship_all(results, registry))
    except RegistryError as exc:
        return _spooled(results, spool, exc)


def deliver(result: Result, registry: Registry, spool: Spool | None) -> JobOutcome:
    """Ship a camera's result, or keep it in the spool if the registry is lost (SpoolFull
    if the spool has no room for it)."""
    try:
        return ship(result, registry)
    except RegistryError as exc:
        return _spooled([result], spool, exc)[0]


def _spooled(results: Sequence[Result], spool: Spool | None,
             exc: RegistryError) -> list[JobOutcome]:
    if spool is None:
        raise exc
    for result in results:
        spool.put(result)
    log.warning("%s of sweep %s: registry unreachable (%s); results spooled in %s "
                "(%d waiting)", ", ".join(r.camera for r in results), results[0].sweep_id, exc,
                spool.path, len(spool))
    return ["spooled"] * len(results)


async def _audit(job: CameraJob, target: Target, registry: Registry,
                 sweep_id: SweepId) -> None:
    from devmgr.compliance.audit import AuditOptions, audit  # noqa: PLC0415
    from devmgr.onvif.session import Timeouts  # noqa: PLC0415

    options = AuditOptions(settings=job.settings, move=job.move, operator=job.operator,
                           discovery=None, include_unlisted=False,
                           check_credentials=job.check_credentials,
                           head_wait_s=job.head_wait_s, sweep_id=sweep_id,
                           cameras=frozenset({job.camera}),
                           timeouts=Timeouts(call=job.call_timeout_s))
    # The result is recorded once per camera and sweep, whatever ran before (the registry).
    await audit(TargetsFile(targets=(target,)), registry, options)
