"""``audit``: compare today with the filings and baselines; findings with evidence.

    with Registry.open(path) as registry:
        report = asyncio.run(audit(targets, registry, AuditOptions()))

The run, per camera (filed, baselined, in the targets, or found by discovery):

1. inventory over ONVIF (+ SNMP), as :mod:`devmgr.inventory` collects it;
2. cameras that did not answer where the targets file says are looked for by WS-Discovery
   (multicast; unicast sweeps with ``cidrs``): a filed serial or MAC answering elsewhere is
   the same unit re-addressed (or moved: the rules decide from its position evidence);
3. the views of each baselined camera, compared with the commissioning snapshots;
4. security probes (Art. 17): a short list of factory-default credentials and SNMP
   communities (kept short on purpose: some firmware locks an account after ~5 failures);
5. the rules (:mod:`devmgr.compliance.rules`), then the result is recorded.

Each camera's result is recorded in the registry as soon as it is known, inside one audit
sweep: a killed audit leaves an aborted sweep (ignored by the next audit's "consecutive
misses" count) and whatever it had recorded, nothing half-written.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from camfleet.errors import DeviceError
from camfleet.targets import Target, TargetsFile
from devmgr.compliance.attachment import attach_evidence
from devmgr.compliance.baseline import Baseline
from devmgr.compliance.capture import Capture
from devmgr.compliance.commission import (
    CAPTURE_CONCURRENCY,
    camera_keys,
    capture_for,
    filed_under,
    store_views,
)
from devmgr.compliance.facts import CameraFacts, Judgement
from devmgr.compliance.heads import DEFAULT_HEAD_WAIT_S, HeadKeeper
from devmgr.compliance.lasting import persist, suspected
from devmgr.compliance.lighting import (
    RECENT_AUDITS,
    good_views,
    judge_in_like_light,
    unsteady_between,
)
from devmgr.compliance.model import (
    AuditReport,
    AuditSettings,
    CameraAudit,
    CameraStatus,
    Finding,
    Severity,
    ViewEvidence,
)
from devmgr.compliance.rules import Conclusions, evaluate
from devmgr.compliance.views import compare
from devmgr.discovery.run import DiscoveryOptions, discover
from devmgr.filings.model import FilingRecord
from devmgr.inventory.model import DeviceInfo, DiscoveredDevice, Inventory
from devmgr.inventory.parallel import sweep_with_snmp
from devmgr.media.events import tamper_state
from devmgr.media.liveness import StreamCheck, check_stream
from devmgr.media.model import CameraEvent, tamper_summary
from devmgr.onvif.errors import OnvifError
from devmgr.onvif.session import DEFAULT_TIMEOUTS, OnvifPool, OnvifSession, Timeouts
from devmgr.registry import AuditTrail, Registry, Sweep, SweepId, default_operator
from devmgr.snmp import WELL_KNOWN_COMMUNITIES, SnmpConfig, SnmpSession, snmp_identity

#: Factory defaults tried once each (Art. 17). Short: lockout policies count failures.
DEFAULT_CREDENTIALS: tuple[tuple[str, str], ...] = (
    ("admin", "admin"), ("admin", "12345"), ("root", "pass"))
PURPOSE = "compliance audit (regulation Art. 7, 9, 10, 12, 16, 17, 18)"


@dataclass(frozen=True)
class AuditOptions:
    settings: AuditSettings = field(default_factory=AuditSettings)
    #: Visit home and presets (the head returns where it was); False: current view only.
    move: bool = True
    operator: str | None = None
    #: Look for cameras that did not answer where expected (and for unfiled ones).
    discovery: DiscoveryOptions | None = field(
        default_factory=lambda: DiscoveryOptions(interfaces=("lo",), wait_s=1.5))
    #: Report discovered cameras that are neither filed nor in the targets as unfiled.
    report_unfiled_discoveries: bool = False
    check_credentials: bool = True
    #: Also audit filed or baselined cameras no target names (found by discovery, or missed).
    #: False audits exactly the targets given (the acceptance suite audits one at a time).
    include_unlisted: bool = True
    #: How long to wait for another run to finish with a PTZ head before its views are
    #: skipped (an info finding says so).
    head_wait_s: float = DEFAULT_HEAD_WAIT_S
    #: How the main stream is played (Art. 7: a live picture); ``seconds=0`` skips it.
    streams: StreamCheck = field(default_factory=StreamCheck)
    timeouts: Timeouts = DEFAULT_TIMEOUTS
    today: date | None = None
    parameters: dict[str, object] = field(default_factory=dict)
    #: Read only these cameras' filings, baselines and history (a collector auditing one
    #: camera of a city reads its own, not the city's); None: every camera's.
    cameras: frozenset[str] | None = None
    #: Record into this running audit sweep (a city coordinator's, which begins and finishes
    #: it) instead of a sweep of this run's own.
    sweep_id: SweepId | None = None


async def _accepted_defaults(pool: OnvifPool, target: Target,
                             offset_s: float | None) -> tuple[bool, list[str]]:
    """Whether the camera answers without credentials, and the default logins it accepts."""
    async def works(username: str, password: str | None) -> bool:
        session = OnvifSession(pool, target.device_url, username, password)
        session.clock_offset = timedelta(seconds=offset_s or 0.0)
        try:
            await session.call("device", "GetDeviceInformation")
        except OnvifError:
            return False
        return True

    anonymous = False
    accepted: list[str] = []
    # One deadline over all the probes: each call has its own, but a camera that answers every
    # one slowly must not hold the audit for their sum. What was found by then stands.
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(pool.timeouts.camera):
            anonymous = await works("", None)
            for user, password in DEFAULT_CREDENTIALS:
                if ((user, password) != (target.onvif.username, target.onvif_password())
                        and await works(user, password)):
                    accepted.append(f"{user}/{'*' * len(password)}")
    return anonymous, accepted


async def _default_community(target: Target, session: SnmpSession) -> str | None:
    """The well-known community the camera answers to, if any (``access`` names it)."""
    port = target.snmp.port if target.snmp is not None else 161
    found = await snmp_identity(
        target.address, SnmpConfig(communities=WELL_KNOWN_COMMUNITIES, port=port,
                                   timeout_s=0.5, retries=0), session=session)
    if isinstance(found, DeviceError):
        return None
    community = found.access.removeprefix("v2c:")
    return community if community in WELL_KNOWN_COMMUNITIES else None


def _status(facts: CameraFacts, conclusions: Conclusions) -> CameraStatus:
    presence = conclusions.judgement.presence
    if presence in ("removed", "not-answering", "services-down"):
        return "removed" if presence == "removed" else "not-answering"
    if facts.filing is None:
        return "unfiled"
    serious = [f for f in conclusions.findings if f.severity != Severity.INFO]
    return "findings" if serious else "compliant"


def _differences(facts: CameraFacts, judged: Judgement) -> dict[str, tuple[object, object]]:
    diffs: dict[str, tuple[object, object]] = {}
    base = facts.baseline.inventory if facts.baseline is not None else None
    inv = facts.inventory
    if base is None or inv is None or inv.device is None:
        return diffs
    for name in ("manufacturer", "model", "firmware", "serial"):
        a = getattr(base.device, name, "") if base.device else ""
        b = getattr(inv.device, name, "")
        if a != b:
            diffs[name] = (a, b)
    pairs = (("mac", base.mac, inv.mac), ("address", base.address, facts.found_at or inv.address),
             ("recording_retention_days", base.recording_retention_days,
              inv.recording_retention_days))
    for name, a2, b2 in pairs:
        if a2 != b2:
            diffs[name] = (a2, b2)
    if base.geolocation != inv.geolocation:
        diffs["geolocation"] = (base.geolocation.model_dump() if base.geolocation else None,
                                inv.geolocation.model_dump() if inv.geolocation else None)
    for name, value in judged.ptz_differences.items():
        diffs[f"ptz.{name}"] = ("baseline", value)
    return diffs


def last_audit_start(history: list[tuple[Sweep, dict[str, str]]]) -> datetime | None:
    """When the last complete audit began: the camera's own events since then (stored by
    ``monitor --events``) are its evidence in this one."""
    return history[0][0].started_at if history else None


async def audit(targets: TargetsFile | None, registry: Registry,
                options: AuditOptions = AuditOptions(),
                progress: Callable[[str], None] | None = None) -> AuditReport:
    """Audit every known camera into one audit sweep; see the module docstring."""
    settings = options.settings
    today = options.today or datetime.now(UTC).date()
    filings = registry.filings(FilingRecord, options.cameras)
    baselines = registry.baselines(Baseline, options.cameras)
    history = registry.audit_statuses(settings.removed_after, options.cameras)
    target_list = list(targets.targets) if targets is not None else []
    keys = camera_keys(target_list, filings)
    started = datetime.now(UTC)
    operator = options.operator or default_operator()
    results: list[CameraAudit] = []

    def misses(camera: str) -> int:
        count = 0
        for _sweep, statuses in history:
            if statuses.get(camera) not in ("removed", "not-answering"):
                break
            count += 1
        return count

    def facts_for(key: str, target: Target | None) -> CameraFacts:
        return CameraFacts(camera=key, today=today, settings=settings, target=target,
                           filing=filings.get(key), baseline=baselines.get(key),
                           previous_misses=misses(key))

    joined = contextlib.nullcontext(options.sweep_id) if options.sweep_id is not None else None
    with joined or registry.sweep("audit", dict(options.parameters, move=options.move)) \
            as sweep_id:
        trail = AuditTrail(registry, operator, PURPOSE, sweep_id)
        heads = HeadKeeper(registry, f"audit sweep {sweep_id} by {operator}", sweep_id,
                           wait_s=options.head_wait_s)
        pending = [facts_for(keys[t.id], t) for t in target_list]
        for facts in pending:  # read before the cameras are (a collector's result is whole)
            if facts.target is not None:
                facts.camera_events = registry.camera_events(CameraEvent, facts.target.id,
                                                             since=last_audit_start(history))
        inventories = await sweep_with_snmp(
            target_list, concurrency=64, timeouts=options.timeouts,
            snmp=any(t.snmp for t in target_list), progress=None)
        by_target = {inv.target_id: inv for inv in inventories}
        for facts in pending:
            facts.inventory = by_target.get(facts.target.id if facts.target else "")
        # Filed or baselined cameras that no target names: only discovery can find them.
        named = {f.camera for f in pending}
        if options.include_unlisted:
            pending += [facts_for(key, None)
                        for key in sorted((set(filings) | set(baselines)) - named)]
        missing = [f for f in pending if not f.answered]
        discovered: list[DiscoveredDevice] = []
        if options.discovery is not None and (missing or options.report_unfiled_discoveries):
            if progress:
                progress(f"looking for {len(missing)} cameras by WS-Discovery")
            discovered = (await discover(options.discovery)).devices
            trail.log(trail.identity(d) for d in discovered)
            await _find_elsewhere(missing, discovered, baselines, target_list, options)
        await attach_evidence(targets.switches if targets is not None else (), pending)
        async with OnvifPool(limit=64, timeouts=options.timeouts) as pool, \
                SnmpSession(concurrency=32) as snmp_session:
            semaphore = asyncio.Semaphore(CAPTURE_CONCURRENCY)

            async def one(facts: CameraFacts) -> None:
                async with semaphore:
                    await _observe(facts, pool, snmp_session, options=options,
                                   registry=registry, sweep_id=sweep_id, trail=trail,
                                   heads=heads)
                results.append(_conclude(facts, registry, sweep_id))
                if progress:
                    progress(f"{facts.camera}: {results[-1].status}")

            await asyncio.gather(*(one(f) for f in pending))
        if options.report_unfiled_discoveries:
            for facts in _unfiled(discovered, pending, filings, facts_for):
                results.append(_conclude(facts, registry, sweep_id))
    return AuditReport(sweep_id=sweep_id, started_at=started, finished_at=datetime.now(UTC),
                       operator=operator, settings=settings, registry=registry.url,
                       targets_digest=str(options.parameters.get("targets", "")),
                       cameras=tuple(sorted(results, key=lambda c: c.camera)))


def _unfiled(discovered: list[DiscoveredDevice], known: list[CameraFacts],
             filings: dict[str, FilingRecord],
             facts_for: Callable[[str, Target | None], CameraFacts]) -> list[CameraFacts]:
    """Discovered cameras that are neither filed nor among the audited ones."""
    seen = {f.expected_serial for f in known} | {f.expected_mac for f in known}
    out = []
    for dev in discovered:
        if (dev.serial and dev.serial in seen) or (dev.mac and dev.mac in seen):
            continue
        inv = _as_inventory(dev)
        if filed_under(filings, inv.device.serial if inv.device else None, inv.mac):
            continue
        facts = facts_for(dev.serial or dev.mac or dev.key, None)
        facts.inventory, facts.found_at, facts.identity_only = inv, inv.address, True
        out.append(facts)
    return out


def _as_inventory(dev: DiscoveredDevice) -> Inventory:
    return Inventory(target_id=dev.key, address=dev.addresses[0] if dev.addresses else "",
                     collected_at=datetime.now(UTC), mac=dev.mac, scopes=dev.scopes,
                     device=DeviceInfo(serial=dev.serial, model=dev.model,
                                       manufacturer=dev.vendor))


async def _find_elsewhere(missing: list[CameraFacts], discovered: list[DiscoveredDevice],
                          baselines: dict[str, Baseline], targets: list[Target],
                          options: AuditOptions) -> None:
    """Re-inventory missing cameras where discovery found their serial or MAC.

    Without credentials for one (no target names it), what discovery says is its inventory:
    enough for presence (same unit, where), not for the configuration rules.
    """
    by_serial = {d.serial: d for d in discovered if d.serial}
    by_mac = {d.mac: d for d in discovered if d.mac}
    retry: list[tuple[CameraFacts, Target]] = []
    for facts in missing:
        dev = by_serial.get(facts.expected_serial) or by_mac.get(facts.expected_mac)
        if dev is None:
            continue
        template = facts.target or next(
            (t for t in targets if facts.baseline and t.id == facts.baseline.target_id), None)
        if template is None or not dev.xaddrs:
            facts.inventory = _as_inventory(dev)
            facts.found_at, facts.identity_only = facts.inventory.address, True
            continue
        address = dev.addresses[0] if dev.addresses else template.address
        retry.append((facts, template.model_copy(update={
            "address": address, "device_service": dev.xaddrs[0]})))
    if not retry:
        return
    found = await sweep_with_snmp([t for _, t in retry], concurrency=64,
                                  timeouts=options.timeouts,
                                  snmp=any(t.snmp for _, t in retry), progress=None)
    for (facts, target), inv in zip(retry, found, strict=True):
        if inv.device is not None:
            facts.inventory, facts.target, facts.found_at = inv, target, target.address


async def _observe(facts: CameraFacts, pool: OnvifPool, snmp_session: SnmpSession, *,
                   options: AuditOptions, registry: Registry, sweep_id: SweepId,
                   trail: AuditTrail, heads: HeadKeeper) -> None:
    """Views and security probes of an answering camera; records what was retrieved."""
    inv, target = facts.inventory, facts.target
    if inv is None or target is None:
        return
    registry.record_inventories(sweep_id, [inv])
    if inv.device is None:
        return
    trail.log([trail.configuration(inv)])  # now: a killed audit has still registered it
    # Stream and the camera's own tamper state are other connections: taken while the views are.
    stream = asyncio.ensure_future(_stream_evidence(facts, target, inv, options.streams, trail))
    tamper = asyncio.ensure_future(tamper_state(pool, target, inv.services, camera=facts.camera))
    try:
        if facts.baseline is not None and facts.baseline.views:
            await _view_evidence(facts, facts.baseline, target, inv, pool, move=options.move,
                                 registry=registry, trail=trail, heads=heads)
        await stream
        state = await tamper
    finally:  # a failed view capture leaves nothing running on a pool about to close
        for task in (stream, tamper):
            task.cancel()
    if state:
        facts.camera_events += state
        trail.log([trail.read(target_id=target.id, address=target.address,
                              how="ONVIF events (pull point)", what="the camera's tamper "
                              "events (scene change, blur, dark, bright): kept as evidence")])
    if options.check_credentials:
        facts.anonymous_access, facts.default_credentials = await _accepted_defaults(
            pool, target, inv.clock_offset_s)
        probed = "anonymous and factory-default ONVIF logins (GetDeviceInformation)"
        if target.snmp is not None:
            facts.snmp_default_community = await _default_community(target, snmp_session)
            probed += ", well-known SNMP communities (system group)"
        trail.log([trail.read(target_id=target.id, address=target.address,
                              how="ONVIF SOAP, SNMP v2c", what=f"security probe: {probed}; "
                              "replies judged, not kept")])


async def _stream_evidence(facts: CameraFacts, target: Target, inv: Inventory,
                           check: StreamCheck, trail: AuditTrail) -> None:
    """The main stream, played while the views are taken (it is another connection)."""
    facts.stream = await check_stream(inv, target, check)
    if facts.stream is not None:
        trail.log([trail.read(target_id=target.id, address=target.address,
                              how="RTSP (FFmpeg)", what=f"video: main stream "
                              f"{facts.stream.profile} played {check.seconds:g} s for "
                              "liveness; pictures judged, not kept")])


async def _view_evidence(facts: CameraFacts, baseline: Baseline, target: Target,
                         inv: Inventory, pool: OnvifPool, *, move: bool, registry: Registry,
                         trail: AuditTrail, heads: HeadKeeper) -> None:
    """Today's views, compared with the baseline's (none when another run drove the head)."""
    capture = await capture_for(pool, target, inv, move=move, heads=heads)
    facts.heads_restored, facts.views_skipped = capture.restored, capture.skipped
    if capture.skipped:
        return
    digests = {view.name: digest
               for view, digest in store_views(registry, trail, target, capture)}
    # The registry belongs to this thread: read the baseline snapshots here, compare there.
    references = {v.snapshot: registry.snapshot(v.snapshot) for v in baseline.views}
    compared = await asyncio.to_thread(compare, baseline, capture, references.get,
                                       visited_only=not move)
    compared = await _in_like_light(facts.camera, baseline, capture, compared, registry)
    settings = facts.settings
    latest = {view.name: view.jpeg for view in capture.views}
    for _ in range(settings.obstruction_frames - 1):
        again = suspected(compared)
        if not again:
            break
        await asyncio.sleep(settings.obstruction_spacing_s)
        later = await capture_for(pool, target, inv, move=move, heads=heads, only=again)
        later_digests = {view.name: digest
                         for view, digest in store_views(registry, trail, target, later)}
        recompared = await asyncio.to_thread(compare, baseline, later, references.get,
                                             visited_only=True)
        # Where the frames differ from each other, what is in front changed: passing.
        obstructed = {v.name: latest[v.name] for v in compared
                      if "obstructed" in v.verdicts and v.name in latest}
        changing = await unsteady_between(obstructed, ((v.name, v.jpeg) for v in later.views))
        latest |= {view.name: view.jpeg for view in later.views}
        compared = persist(compared, recompared, later_digests, changing)
    facts.views = [v.model_copy(update={"current_image": digests.get(v.name, "")})
                   for v in compared]


async def _in_like_light(camera: str, baseline: Baseline, capture: Capture,
                         compared: list[ViewEvidence], registry: Registry,
                         ) -> list[ViewEvidence]:
    """Suspected obstructions judged against commissioning's second frames and good views of
    earlier audits too (``lighting``)."""
    suspects = {v.name for v in compared if "obstructed" in v.verdicts}
    if not suspects:
        return compared
    history = registry.recent_audit_results(camera, CameraAudit, since=baseline.taken_at,
                                            limit=RECENT_AUDITS)
    good = {name: views for name, views in good_views(history, baseline.views).items()
            if name in suspects}
    images = {g.image: registry.snapshot(g.image) for views in good.values() for g in views}
    today = {v.name: v.jpeg for v in capture.views}
    return await asyncio.to_thread(judge_in_like_light, compared, today, good, images.get)


def _beside_the_views(facts: CameraFacts, findings: tuple[Finding, ...]) -> tuple[Finding, ...]:
    """The view findings (the audit's own look) with what the camera said of its view."""
    if not facts.camera_events:
        return findings
    says = tamper_summary(facts.camera_events)
    return tuple(f.model_copy(update={"evidence": {**f.evidence, "camera_says": says}})
                 if f.rule.startswith("view-") else f for f in findings)


def _conclude(facts: CameraFacts, registry: Registry, sweep_id: SweepId) -> CameraAudit:
    conclusions = evaluate(facts)
    inv = facts.inventory
    result = CameraAudit(
        camera=facts.camera, name=facts.filing.name if facts.filing else "",
        target_id=facts.target.id if facts.target else None,
        address=(facts.found_at or inv.address) if facts.answered and inv else "",
        filed_address=str(facts.filing.ip_address or "") if facts.filing else "",
        serial=inv.device.serial if inv and inv.device else facts.expected_serial,
        filed_position=facts.filing.position if facts.filing else None,
        observed_position=inv.geolocation if inv else None,
        status=_status(facts, conclusions),
        presence=conclusions.judgement.presence,
        findings=_beside_the_views(facts, conclusions.findings), views=tuple(facts.views),
        differences=_differences(facts, conclusions.judgement),
        missed_audits=facts.previous_misses + 1 if not facts.answered and (
            conclusions.judgement.presence != "unreadable") else 0,
        errors=inv.errors if inv else (),
        stream=facts.stream, camera_events=tuple(facts.camera_events))
    registry.record_audit_results(sweep_id, [(result.camera, result.status, result)])
    return result
