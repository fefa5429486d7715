"""``devmgr demo``: the README's main job, on an embedded simulated fleet (nothing to set up).

1. start a fleet of simulated cameras on loopback and file them (``filings.csv``);
2. commission it: a baseline per camera, with reference snapshots at home and each preset;
3. things happen in the field: one camera is knocked on its bracket, one overgrown by
   foliage, one moved down the street, one taken down, one swapped for another unit, one
   re-addressed by DHCP; the rest are left alone;
4. audit twice (a silent camera counts as removed after two consecutive audits here), and
   write the reports, ``audit.html`` first among them.

It lives above both the manager and the simulators: the manager never depends on them.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from camfleet.protocols import wsdiscovery as wsd
from devmgr.compliance.audit import AuditOptions, audit
from devmgr.compliance.commission import commission
from devmgr.compliance.model import AuditReport, AuditSettings
from devmgr.discovery.run import DiscoveryOptions
from devmgr.filings import save
from devmgr.registry import Registry
from devmgr.report import write_reports

#: What happens to the first six cameras (the others stay healthy).
INCIDENTS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("knocked by a truck", {"kind": "mount_shifted", "pan_deg": 4.0, "tilt_deg": -1.0}),
    ("overgrown by a plane tree", {"kind": "obstructed", "region": (0.0, 0.35, 0.45, 1.0)}),
    ("moved to the next junction", {"kind": "moved", "distance_m": 180.0, "bearing_deg": 70.0,
                                   "announce": True}),
    ("taken down", {"kind": "removed"}),
    ("swapped for another unit", {"kind": "replaced"}),
    ("re-addressed by DHCP", {"kind": "readdressed"}),
)


def run_demo(out_dir: Path, *, cameras: int = 8, seed: int = 3,
             say: Callable[[str], None] = print) -> Path:
    """Run the whole story; returns the path of the HTML report."""
    from scenarios.fleet_filings import filings_for_fleet  # noqa: PLC0415
    from simulators.fleet.fleet import Fleet  # noqa: PLC0415

    began = time.monotonic()
    out_dir.mkdir(parents=True, exist_ok=True)
    db = out_dir / "registry.sqlite"
    for stale in out_dir.glob("registry.sqlite*"):
        stale.unlink()  # a fresh story each run
    shutil.rmtree(out_dir / "report", ignore_errors=True)
    today = datetime.now(UTC).date()
    with Fleet.generated(cameras, seed=seed) as fleet, Registry.open(db) as registry:
        manifest = fleet.manifest()
        manifest.save(out_dir / "targets.json")
        records = filings_for_fleet(fleet, accepted_on=today - timedelta(days=60))
        save(records, out_dir / "filings.csv")
        registry.put_filings([(r.device_id, r) for r in records], source="demo filings.csv")
        say(f"fleet of {cameras} cameras up, filed ({time.monotonic() - began:.1f} s)")
        result = asyncio.run(commission(manifest, registry, operator="demo"))
        say(f"commissioned {len(result.baselines)} cameras "
            f"({time.monotonic() - began:.1f} s)")
        fleet_prefix = manifest.targets[0].address.rsplit(".", 2)[0]
        for camera_id, (what, fault) in zip(fleet.camera_ids, INCIDENTS, strict=False):
            extra = {"address": f"{fleet_prefix}.200.1"} if fault["kind"] == "readdressed" else {}
            fleet.set_faults(camera_id, [{**fault, **extra, "note": what}])
            say(f"  {camera_id}: {what}")
        options = AuditOptions(
            settings=AuditSettings(removed_after=2), operator="demo",
            discovery=DiscoveryOptions(interfaces=(manifest.fleet.manager_address,)
                                       if manifest.fleet else ("lo",),
                                       port=manifest.fleet.discovery_port
                                       if manifest.fleet else wsd.PORT, wait_s=1.0))
        report: AuditReport | None = None
        for round_ in (1, 2):
            report = asyncio.run(audit(manifest, registry, options))
            say(f"audit {round_}: {len(report.findings)} findings "
                f"({time.monotonic() - began:.1f} s)")
        assert report is not None
        for camera in report.cameras:
            for finding in camera.findings:
                say(f"  {camera.target_id or camera.camera}: {finding.rule} ({finding.article}, "
                    f"{finding.severity.value})")
        written = write_reports(report, out_dir / "report", images=registry.snapshot)
        if not registry.verify_audit_log().ok:
            raise RuntimeError("the audit log does not verify")
    say(f"done in {time.monotonic() - began:.1f} s; registry {db}")
    return written["html"]
