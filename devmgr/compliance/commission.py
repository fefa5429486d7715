"""``commission``: record each camera's baseline, and draft the filings that are missing.

    with Registry.open(path) as registry:
        result = asyncio.run(commission(targets, registry, operator="li.wei"))

Per camera: the full inventory (identity, position evidence, PTZ limits, spaces, presets,
recording, security settings), then the views (home and each preset, each snapshot with the
PTZ position it was taken at; see :mod:`devmgr.compliance.capture`). Read-only on the camera's
configuration; ``move=False`` does not even move the head (only the current view is kept).
Everything lands in one commission sweep, and every configuration read and snapshot is
registered in the audit log (Art. 15, 16(3)). A PTZ head is driven under its lease and put
back where it was; one an earlier run left displaced is put back first
(:mod:`devmgr.compliance.heads`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from camfleet.errors import DeviceError, ErrorKind
from camfleet.targets import Target, TargetsFile
from devmgr.compliance.baseline import Baseline, ReferenceView
from devmgr.compliance.capture import Capture, CapturedView, capture_views
from devmgr.compliance.heads import DEFAULT_HEAD_WAIT_S, HeadBusy, HeadKeeper, head_key
from devmgr.compliance.lighting import unsteady_between
from devmgr.filings.model import FilingRecord
from devmgr.inventory.model import Inventory
from devmgr.inventory.parallel import sweep_with_snmp
from devmgr.onvif.errors import OnvifError
from devmgr.onvif.session import DEFAULT_TIMEOUTS, OnvifPool, OnvifSession, Timeouts
from devmgr.registry import AuditTrail, Registry, SweepId, default_operator
from devmgr.switches import locate, read_switches
from devmgr.vision import baseline_problem, scene_fingerprint

#: When neither the filing nor the option gives the field of view.
DEFAULT_HFOV_DEG = 60.0
#: Cameras whose views are taken at once (each moves its own head).
CAPTURE_CONCURRENCY = 16
#: Seconds between a view's first and second commissioning frame: traffic and people move
#: on in that time; a bus at its stop may not, which the audit's own later looks handle.
SECOND_LOOK_S = 5.0


def camera_keys(targets: Sequence[Target], filings: dict[str, FilingRecord]) -> dict[str, str]:
    """target id -> the key the camera is filed and baselined under.

    The target's ``filing_id`` if it names a filing; else the filing whose serial or MAC is
    the target's; else the target id itself.
    """
    return {t.id: (t.filing_id if t.filing_id in filings else None)
            or filed_under(filings, t.serial, t.mac) or t.id for t in targets}


def filed_under(filings: dict[str, FilingRecord], serial: str | None,
                mac: str | None) -> str | None:
    """The device id of the filing of the unit with this serial, else this MAC."""
    for attribute, value in (("serial", serial), ("mac", mac)):
        if value:
            found = next((d for d, f in filings.items() if getattr(f, attribute) == value),
                         None)
            if found is not None:
                return found
    return None


async def open_session(pool: OnvifPool, target: Target) -> OnvifSession:
    session = OnvifSession(pool, target.device_url, target.onvif.username,
                           target.onvif_password(), allow_basic=target.onvif.allow_basic)
    await session.sync_clock()
    return session


async def capture_for(pool: OnvifPool, target: Target, inv: Inventory, *,
                      move: bool, heads: HeadKeeper | None = None,
                      calibrate: bool = False, only: frozenset[str] | None = None) -> Capture:
    """The views of one reachable camera; connection trouble becomes a capture error.

    With ``heads``, a PTZ camera's head is driven under its lease (a head another run drives
    for too long: ``Capture.skipped``), and a head an earlier run left displaced is put back
    first (``Capture.restored``). ``calibrate``: measure each zoomed view's field of view
    (commissioning).
    """
    try:
        session = await open_session(pool, target)
    except OnvifError as exc:
        return Capture(errors=[exc.as_device_error()])
    if heads is None or inv.ptz is None:
        return await capture_views(session, inv, move=move, calibrate=calibrate, only=only)
    try:
        async with heads.drive(head_key(target, inv), target, session) as head:
            capture = await capture_views(session, inv, move=move, guard=head,
                                          calibrate=calibrate, only=only)
    except HeadBusy as busy:
        return Capture(skipped=str(busy))
    capture.restored = head.restored
    for operation, problem in (("PTZ restore", head.failed),
                               ("PTZ lease", head.lost and f"{head.lost} while driving it")):
        if problem:
            capture.errors.append(DeviceError(kind=ErrorKind.PROTOCOL, operation=operation,
                                              message=problem))
    return capture


def store_views(registry: Registry, trail: AuditTrail, target: Target,
                capture: Capture) -> list[tuple[CapturedView, str]]:
    """Store the snapshots and register each retrieval; returns (view, digest) pairs."""
    stored = [(view, registry.put_snapshot(view.jpeg)) for view in capture.views]
    trail.log(trail.snapshot(target_id=target.id, address=target.address, how=view.how,
                             view=view.name, profile=view.profile, digest=digest,
                             at=view.taken_at) for view, digest in stored)
    return stored


@dataclass
class CommissionResult:
    sweep_id: SweepId
    baselines: dict[str, Baseline] = field(default_factory=dict)
    #: target id -> why it has no baseline, or what went wrong on the way.
    problems: dict[str, list[str]] = field(default_factory=dict)
    drafts: list[FilingRecord] = field(default_factory=list)
    #: Heads put back where an earlier, killed run had left them displaced (sentences).
    restored: list[str] = field(default_factory=list)


async def commission(targets: TargetsFile, registry: Registry, *, move: bool = True,
                     operator: str | None = None, hfov_deg: float | None = None,
                     timeouts: Timeouts = DEFAULT_TIMEOUTS, snmp: bool = True,
                     parameters: dict[str, object] | None = None,
                     head_wait_s: float = DEFAULT_HEAD_WAIT_S,
                     second_look_s: float | None = SECOND_LOOK_S,
                     progress: Callable[[str], None] | None = None) -> CommissionResult:
    """Baseline every target into one commission sweep (see the module docstring).

    Each view is taken twice, ``second_look_s`` apart (the head goes round again; None: once),
    so that what passed in front of the lens in one frame is not taken for the view.

    A camera whose head another run drives for longer than ``head_wait_s`` gets no baseline
    (its problem says who drives it); see :mod:`devmgr.compliance.heads`.
    """
    filings = registry.filings(FilingRecord)
    keys = camera_keys(targets.targets, filings)
    by_id = targets.by_id()
    purpose = "commissioning baseline (regulation Art. 7, 9, 11)"
    with registry.sweep("commission", dict(parameters or {}, move=move)) as sweep_id:
        operator = operator or default_operator()
        trail = AuditTrail(registry, operator, purpose, sweep_id)
        heads = HeadKeeper(registry, f"commission sweep {sweep_id} by {operator}", sweep_id,
                           wait_s=head_wait_s)
        result = CommissionResult(sweep_id=sweep_id)
        inventories = await sweep_with_snmp(
            targets.targets, concurrency=64, timeouts=timeouts,
            snmp=snmp and any(t.snmp for t in targets.targets), progress=None)
        registry.record_inventories(sweep_id, inventories)
        trail.log(trail.configuration(i) for i in inventories if i.device)
        semaphore = asyncio.Semaphore(CAPTURE_CONCURRENCY)
        switches = await read_switches(targets.switches)
        for reading in switches:
            if reading.error is not None:
                result.problems[f"switch {reading.name}"] = [
                    f"{reading.error.operation}: {reading.error.message}"]

        async def one(pool: OnvifPool, inv: Inventory) -> None:
            target = by_id[inv.target_id]
            if inv.device is None:
                result.problems[target.id] = [f"{e.operation}: {e.message}" for e in inv.errors]
                return
            async with semaphore:
                capture = await capture_for(pool, target, inv, move=move, heads=heads,
                                            calibrate=move)
            result.restored += capture.restored
            if capture.skipped:  # no baseline rather than one without views
                result.problems[target.id] = [capture.skipped]
                return
            stored = store_views(registry, trail, target, capture)
            second = await _second_look(pool, target, inv, capture, move=move, heads=heads,
                                        after_s=second_look_s, semaphore=semaphore)
            stored_second = store_views(registry, trail, target, second)
            seconds = {v.name: d for v, d in stored_second}
            unsteady = await unsteady_between({v.name: v.jpeg for v, _ in stored},
                                              ((v.name, v.jpeg) for v, _ in stored_second))
            # A view that can never be judged is said now, with what to do, not at every
            # audit as a major finding; the others get their scene's fingerprint.
            looked = [await asyncio.to_thread(reference_scene, v.jpeg) for v, _ in stored]
            key = keys[target.id]
            filing = filings.get(key)
            baseline = Baseline(
                camera=key, target_id=target.id, taken_at=inv.collected_at, inventory=inv,
                home=capture.home, hfov_deg=hfov_deg or (
                    filing.horizontal_field_angle if filing else None) or DEFAULT_HFOV_DEG,
                views=tuple(ReferenceView(name=v.name, position=v.position, snapshot=d,
                                          second_snapshot=seconds.get(v.name, ""),
                                          unsteady_tiles=unsteady.get(v.name, ()),
                                          taken_at=v.taken_at, hfov_deg=v.hfov_deg,
                                          unjudgeable=why, fingerprint=print_)
                            for (v, d), (why, print_) in zip(stored, looked, strict=True)),
                attachment=locate(inv.mac or target.mac or "", switches))
            registry.record_baselines(sweep_id, [(key, target.id, inv.device.serial,
                                                  baseline)])
            result.baselines[key] = baseline
            # The inventory's errors too: values a camera garbled.
            problems = [f"{e.operation}: {e.message}"
                        for e in (*inv.errors, *capture.errors, *second.errors)]
            problems += [f"view {v.name} cannot be judged by later audits: {v.unjudgeable}; "
                         "re-aim the preset at something with detail, or pick another view"
                         for v in baseline.views if v.unjudgeable]
            if problems:
                result.problems[target.id] = problems
            if filing is None:
                result.drafts.append(filing_draft(inv, index=len(result.drafts) + 1))
            if progress is not None:
                progress(f"{target.id}: {len(stored)} views")

        async with OnvifPool(limit=64, timeouts=timeouts) as pool:
            await asyncio.gather(*(one(pool, inv) for inv in inventories))
    return result


async def _second_look(pool: OnvifPool, target: Target, inv: Inventory, first: Capture, *,
                      move: bool, heads: HeadKeeper, after_s: float | None,
                      semaphore: asyncio.Semaphore) -> Capture:
    """The views of ``first`` taken again ``after_s`` after it (the wait holds no capture
    slot); an empty capture when ``after_s`` is None or nothing was taken."""
    if after_s is None or not first.views:
        return Capture()
    await asyncio.sleep(max(0.0, after_s - (datetime.now(UTC) - first.views[-1].taken_at)
                            .total_seconds()))
    async with semaphore:
        again = await capture_for(pool, target, inv, move=move, heads=heads,
                                  only=frozenset(v.name for v in first.views))
    if again.skipped:
        again.errors.append(DeviceError(kind=ErrorKind.PROTOCOL, operation="second look",
                                        message=again.skipped))
    return again


def reference_scene(jpeg: bytes) -> tuple[str, str]:
    """Why a reference view can never be judged ("" if it can), and its scene's fingerprint
    ("" if it cannot be judged)."""
    problem = baseline_problem(jpeg)
    return problem, "" if problem else scene_fingerprint(jpeg)


def filing_draft(inv: Inventory, *, index: int, centre: str = "00000000",
                 today: date | None = None) -> FilingRecord:
    """A filing record drafted from what the camera says (Art. 9): to be completed and
    corrected by the engineer (device id serial part, site category, civil code).

    The device id is ``centre + 00 (public order) + 132 (IPC) + 5 (public-security network)
    + index``; the site category defaults to ``not-listed`` and the filing date is empty, so
    the Art. 9 deadline check keeps reminding until the filing is made. A camera that reports
    no GeoLocation gets no position (not a 0/0 placeholder): an incomplete filing.
    """
    device = inv.device
    scopes = {s.rsplit("/", 1)[0]: s.rsplit("/", 1)[1] for s in inv.scopes if "/" in s}
    name = scopes.get("onvif://www.onvif.org/name", "") or inv.hostname or inv.target_id
    geo = inv.geolocation
    return FilingRecord.model_validate({
        "device_id": f"{centre[:8]:0>8}001325{index % 1_000_000:06d}", "name": name,
        "manufacturer": device.manufacturer if device else "",
        "model": device.model if device else "",
        "address": scopes.get("onvif://www.onvif.org/location", ""),
        "position": geo,  # None: an incomplete filing until the engineer adds it
        "mac": inv.mac, "ip_address": inv.address if _is_ip(inv.address) else None,
        "serial": device.serial if device else None, "site_category": "not-listed",
        "record_save_days": int(inv.recording_retention_days)
        if inv.recording_retention_days is not None else None,
        "acceptance_date": today or datetime.now(UTC).date()})


def _is_ip(text: str) -> bool:
    import ipaddress  # noqa: PLC0415

    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
