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
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from devmgr.compliance.baseline import Baseline, position_degrees
from devmgr.compliance.capture import Capture
from devmgr.compliance.commission import (
    CAPTURE_CONCURRENCY,
    AuditTrail,
    camera_keys,
    capture_for,
    default_operator,
    filed_under,
    store_views,
)
from devmgr.compliance.facts import CameraFacts
from devmgr.compliance.model import (
    AuditReport,
    AuditSettings,
    CameraAudit,
    Finding,
    Severity,
    ViewEvidence,
)
from devmgr.compliance.rules import evaluate
from devmgr.discovery.run import DiscoveryOptions, discover
from devmgr.filings.model import FilingRecord
from devmgr.inventory.model import DeviceError, DeviceInfo, DiscoveredDevice, Inventory
from devmgr.inventory.parallel import sweep_with_snmp
from devmgr.onvif.session import DEFAULT_TIMEOUTS, OnvifError, OnvifPool, OnvifSession, Timeouts
from devmgr.registry import Registry, SweepId
from devmgr.snmp import WELL_KNOWN_COMMUNITIES, SnmpConfig, SnmpSession, snmp_identity
from devmgr.targets import Target, TargetsFile
from devmgr.vision import GRID_COLS, GRID_ROWS, compare_views

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
    timeouts: Timeouts = DEFAULT_TIMEOUTS
    today: date | None = None
    parameters: dict[str, object] = field(default_factory=dict)


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

    anonymous = await works("", None)
    accepted = [f"{user}/{'*' * len(password)}" for user, password in DEFAULT_CREDENTIALS
                if (user, password) != (target.onvif.username, target.onvif_password())
                and await works(user, password)]
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


def compare(baseline: Baseline, capture: Capture,
            images: Callable[[str], bytes | None]) -> list[ViewEvidence]:
    """Today's views against the baseline's, by name."""
    evidence: list[ViewEvidence] = []
    today = {v.name: v for v in capture.views}
    # Pixels become degrees through the field of view, known only at the widest zoom (the
    # filing's field angle): zoomed views are judged, but their angles are not reported.
    zooms = [v.position.zoom for v in baseline.views if v.position is not None]
    widest = min(zooms, default=0.0) + 1e-3
    for ref in baseline.views:
        now = today.get(ref.name)
        base_jpeg = images(ref.snapshot)
        if now is None or base_jpeg is None:
            evidence.append(ViewEvidence(
                name=ref.name, baseline_position=ref.position, baseline_image=ref.snapshot,
                verdicts=("unusable",), reason="no snapshot of this view today"
                if now is None else "the baseline snapshot is missing from the registry"))
            continue
        elevation = None
        if ref.position is not None:
            deg = position_degrees(ref.position, baseline.inventory.ptz)
            elevation = deg.tilt if deg is not None else None
        try:
            result = compare_views(base_jpeg, now.jpeg, baseline.hfov_deg or 60.0,
                                   elevation_deg=elevation)
        except ValueError as exc:  # an undecodable JPEG from the camera
            evidence.append(ViewEvidence(
                name=ref.name, baseline_position=ref.position, current_position=now.position,
                baseline_image=ref.snapshot, verdicts=("unusable",), reason=str(exc)))
            continue
        measured = ref.position is None or ref.position.zoom <= widest
        evidence.append(ViewEvidence(
            name=ref.name, baseline_position=ref.position, current_position=now.position,
            baseline_image=ref.snapshot,
            pan_deg=_finite(result.pan_deg) if measured else None,
            tilt_deg=_finite(result.tilt_deg) if measured else None,
            obstructed_share=result.obstructed_share,
            obstructed_where=result.where, obstructed_tiles=result.obstructed_tiles,
            grid=(GRID_COLS, GRID_ROWS), blur_ratio=_finite(result.blur_ratio),
            verdicts=tuple(sorted(result.verdicts)), reason=result.reason))
    return evidence


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _status(facts: CameraFacts, findings: Sequence[object]) -> str:
    if facts.presence in ("removed", "not-answering"):
        return facts.presence
    if facts.filing is None:
        return "unfiled"
    serious = [f for f in findings if isinstance(f, Finding) and f.severity != Severity.INFO]
    return "findings" if serious else "compliant"


def _differences(facts: CameraFacts) -> dict[str, tuple[object, object]]:
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
    for name, value in facts.ptz_differences.items():
        diffs[f"ptz.{name}"] = ("baseline", value)
    return diffs


async def audit(targets: TargetsFile | None, registry: Registry,
                options: AuditOptions = AuditOptions(),
                progress: Callable[[str], None] | None = None) -> AuditReport:
    """Audit every known camera into one audit sweep; see the module docstring."""
    settings = options.settings
    today = options.today or datetime.now(UTC).date()
    filings = registry.filings(FilingRecord)
    baselines = registry.baselines(Baseline)
    history = registry.audit_statuses(settings.removed_after)
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

    with registry.sweep("audit", dict(options.parameters, move=options.move)) as sweep_id:
        trail = AuditTrail(registry, operator, PURPOSE, sweep_id)
        inventories = await sweep_with_snmp(
            target_list, concurrency=64, timeouts=options.timeouts,
            snmp=any(t.snmp for t in target_list), progress=None)
        by_target = {inv.target_id: inv for inv in inventories}
        pending = [facts_for(keys[t.id], t) for t in target_list]
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
            await _find_elsewhere(missing, discovered, baselines, target_list, options)
        async with OnvifPool(limit=64, timeouts=options.timeouts) as pool, \
                SnmpSession(concurrency=32) as snmp_session:
            semaphore = asyncio.Semaphore(CAPTURE_CONCURRENCY)

            async def one(facts: CameraFacts) -> None:
                async with semaphore:
                    await _observe(facts, pool, snmp_session, options=options,
                                   registry=registry, trail=trail)
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
                   options: AuditOptions, registry: Registry, trail: AuditTrail) -> None:
    """Views and security probes of an answering camera; records what was retrieved."""
    inv, target = facts.inventory, facts.target
    if inv is None or target is None:
        return
    registry.record_inventories(trail.sweep_id, [inv])
    if inv.device is None:
        return
    registry.log_retrievals([trail.configuration(inv)])
    if facts.baseline is not None and facts.baseline.views:
        capture = await capture_for(pool, target, inv, move=options.move)
        digests = {view.name: digest
                   for view, digest in store_views(registry, trail, target, capture)}
        # The registry belongs to this thread: read the baseline snapshots here, compare there.
        references = {v.snapshot: registry.snapshot(v.snapshot) for v in facts.baseline.views}
        compared = await asyncio.to_thread(compare, facts.baseline, capture, references.get)
        facts.views = [v.model_copy(update={"current_image": digests.get(v.name, "")})
                       for v in compared]
    if options.check_credentials:
        facts.anonymous_access, facts.default_credentials = await _accepted_defaults(
            pool, target, inv.clock_offset_s)
        if target.snmp is not None:
            facts.snmp_default_community = await _default_community(target, snmp_session)


def _conclude(facts: CameraFacts, registry: Registry, sweep_id: SweepId) -> CameraAudit:
    findings = evaluate(facts)
    inv = facts.inventory
    result = CameraAudit(
        camera=facts.camera, name=facts.filing.name if facts.filing else "",
        target_id=facts.target.id if facts.target else None,
        address=(facts.found_at or inv.address) if facts.answered and inv else "",
        filed_address=str(facts.filing.ip_address or "") if facts.filing else "",
        serial=inv.device.serial if inv and inv.device else facts.expected_serial,
        filed_position=facts.filing.position if facts.filing else None,
        observed_position=inv.geolocation if inv else None,
        status=_status(facts, findings),  # type: ignore[arg-type]
        presence=facts.presence,
        findings=tuple(findings), views=tuple(facts.views),
        differences=_differences(facts),
        missed_audits=facts.previous_misses + 1 if not facts.answered else 0)
    registry.record_audit_results(sweep_id, [(result.camera, result.status, result)])
    return result
