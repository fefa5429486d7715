"""``commission``: record each camera's baseline, and draft the filings that are missing.

    with Registry.open(path) as registry:
        result = asyncio.run(commission(targets, registry, operator="li.wei"))

Per camera: the full inventory (identity, position evidence, PTZ limits, spaces, presets,
recording, security settings), then the views (home and each preset, each snapshot with the
PTZ position it was taken at; see :mod:`devmgr.compliance.capture`). Read-only on the camera's
configuration; ``move=False`` does not even move the head (only the current view is kept).
Everything lands in one commission sweep, and every configuration read and snapshot is
registered in the audit log (Art. 15, 16(3)).
"""

from __future__ import annotations

import asyncio
import getpass
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from devmgr.compliance.baseline import Baseline, ReferenceView
from devmgr.compliance.capture import Capture, CapturedView, capture_views
from devmgr.filings.model import FilingRecord
from devmgr.inventory.model import Inventory
from devmgr.inventory.parallel import sweep_with_snmp
from devmgr.onvif.session import DEFAULT_TIMEOUTS, OnvifError, OnvifPool, OnvifSession, Timeouts
from devmgr.registry import Registry, Retrieval, SweepId
from devmgr.targets import Target, TargetsFile

#: When neither the filing nor the option gives the field of view.
DEFAULT_HFOV_DEG = 60.0
#: Cameras whose views are taken at once (each moves its own head).
CAPTURE_CONCURRENCY = 16


def default_operator() -> str:
    """Who runs devmgr, for the audit log: ``CAMFLEET_OPERATOR``, else the OS user."""
    return os.environ.get("CAMFLEET_OPERATOR") or getpass.getuser()


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


@dataclass
class AuditTrail:
    """The audit-log entries of one run, written with the data they describe."""

    registry: Registry
    operator: str
    purpose: str
    sweep_id: SweepId

    def configuration(self, inv: Inventory) -> Retrieval:
        return Retrieval(
            who=self.operator, how="ONVIF SOAP (WS-UsernameToken, HTTP Digest fallback)"
            + (" + SNMP" if inv.snmp is not None else ""),
            purpose=self.purpose,
            destination=f"registry {self.registry.url}, sweep {self.sweep_id} observations",
            target_id=inv.target_id, address=inv.address,
            what="configuration: identity, network, media profiles, PTZ, recording",
            sweep_id=self.sweep_id, at=inv.collected_at)

    def snapshot(self, target: Target, view: CapturedView, digest: str) -> Retrieval:
        return Retrieval(
            who=self.operator, how=f"ONVIF GetSnapshotUri + HTTP GET ({view.how})",
            purpose=self.purpose,
            destination=f"registry {self.registry.url}, snapshot {digest}",
            target_id=target.id, address=target.address,
            what=f"snapshot of view {view.name} ({view.profile})", sweep_id=self.sweep_id,
            at=view.taken_at)


async def open_session(pool: OnvifPool, target: Target) -> OnvifSession:
    session = OnvifSession(pool, target.device_url, target.onvif.username,
                           target.onvif_password())
    await session.sync_clock()
    return session


async def capture_for(pool: OnvifPool, target: Target, inv: Inventory, *,
                      move: bool) -> Capture:
    """The views of one reachable camera; connection trouble becomes a capture error."""
    try:
        session = await open_session(pool, target)
    except OnvifError as exc:
        return Capture(errors=[exc.as_device_error()])
    return await capture_views(session, inv, move=move)


def store_views(registry: Registry, trail: AuditTrail, target: Target,
                capture: Capture) -> list[tuple[CapturedView, str]]:
    """Store the snapshots and register each retrieval; returns (view, digest) pairs."""
    stored = [(view, registry.put_snapshot(view.jpeg)) for view in capture.views]
    registry.log_retrievals([trail.snapshot(target, view, digest) for view, digest in stored])
    return stored


@dataclass
class CommissionResult:
    sweep_id: SweepId
    baselines: dict[str, Baseline] = field(default_factory=dict)
    #: target id -> why it has no baseline, or what went wrong on the way.
    problems: dict[str, list[str]] = field(default_factory=dict)
    drafts: list[FilingRecord] = field(default_factory=list)


async def commission(targets: TargetsFile, registry: Registry, *, move: bool = True,
                     operator: str | None = None, hfov_deg: float | None = None,
                     timeouts: Timeouts = DEFAULT_TIMEOUTS, snmp: bool = True,
                     parameters: dict[str, object] | None = None,
                     progress: Callable[[str], None] | None = None) -> CommissionResult:
    """Baseline every target into one commission sweep (see the module docstring)."""
    filings = registry.filings(FilingRecord)
    keys = camera_keys(targets.targets, filings)
    by_id = targets.by_id()
    purpose = "commissioning baseline (regulation Art. 7, 9, 11)"
    with registry.sweep("commission", dict(parameters or {}, move=move)) as sweep_id:
        trail = AuditTrail(registry, operator or default_operator(), purpose, sweep_id)
        result = CommissionResult(sweep_id=sweep_id)
        inventories = await sweep_with_snmp(
            targets.targets, concurrency=64, timeouts=timeouts,
            snmp=snmp and any(t.snmp for t in targets.targets), progress=None)
        registry.record_inventories(sweep_id, inventories)
        registry.log_retrievals([trail.configuration(i) for i in inventories if i.device])
        semaphore = asyncio.Semaphore(CAPTURE_CONCURRENCY)

        async def one(pool: OnvifPool, inv: Inventory) -> None:
            target = by_id[inv.target_id]
            if inv.device is None:
                result.problems[target.id] = [f"{e.operation}: {e.message}" for e in inv.errors]
                return
            async with semaphore:
                capture = await capture_for(pool, target, inv, move=move)
            stored = store_views(registry, trail, target, capture)
            key = keys[target.id]
            filing = filings.get(key)
            baseline = Baseline(
                camera=key, target_id=target.id, taken_at=inv.collected_at, inventory=inv,
                home=capture.home, hfov_deg=hfov_deg or (
                    filing.horizontal_field_angle if filing else None) or DEFAULT_HFOV_DEG,
                views=tuple(ReferenceView(name=v.name, position=v.position, snapshot=d,
                                          taken_at=v.taken_at) for v, d in stored))
            registry.record_baselines(sweep_id, [(key, target.id, inv.device.serial,
                                                  baseline)])
            result.baselines[key] = baseline
            if capture.errors:
                result.problems[target.id] = [f"{e.operation}: {e.message}"
                                              for e in capture.errors]
            if filing is None:
                result.drafts.append(filing_draft(inv, index=len(result.drafts) + 1))
            if progress is not None:
                progress(f"{target.id}: {len(stored)} views")

        async with OnvifPool(limit=64, timeouts=timeouts) as pool:
            await asyncio.gather(*(one(pool, inv) for inv in inventories))
    return result


def filing_draft(inv: Inventory, *, index: int, centre: str = "00000000",
                 today: date | None = None) -> FilingRecord:
    """A filing record drafted from what the camera says (Art. 9): to be completed and
    corrected by the engineer (device id serial part, site category, civil code).

    The device id is ``centre + 00 (public order) + 132 (IPC) + 5 (public-security network)
    + index``; the site category defaults to ``not-listed`` and the filing date is empty, so
    the Art. 9 deadline check keeps reminding until the filing is made.
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
        "position": geo if geo is not None else {"latitude": 0.0, "longitude": 0.0},
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
