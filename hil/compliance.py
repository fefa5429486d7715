"""devmgr's compliance audit of one camera under test, for the suite's CAMFLEET view and
compliance tests.

The camera is audited exactly as ``devmgr audit`` would (same rules, same evidence) against
the filings and commissioning baselines of ``--hil-registry``; the audit is recorded there
like any other (Art. 11: acceptance records belong in the archive), but covers only the
camera under test, so it never counts other cameras as missing. One audit per camera and
process, shared by the tests that read it.

With a registry, what the suite itself read of each camera is registered in its audit log
too (Art. 15, 16(3)): one entry per camera and process at the end of the run
(:func:`log_requests`), counting every request by operation.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from camfleet.targets import TargetsFile
from devmgr.compliance.audit import AuditOptions, audit
from devmgr.compliance.baseline import Baseline
from devmgr.compliance.commission import camera_keys
from devmgr.compliance.model import CameraAudit
from devmgr.filings import FilingRecord
from devmgr.media.liveness import StreamCheck
from devmgr.registry import AuditTrail, Registry, RegistryError
from hil.camera import Camera
from hil.errors import InfrastructureError

__all__ = ["NotAuditable", "audited", "log_requests"]

_AUDITS: dict[str, CameraAudit] = {}
PURPOSE = "acceptance test before use (regulation Art. 8)"


def _operator() -> str:
    return os.environ.get("CAMFLEET_OPERATOR") or "hil acceptance suite"


def log_requests(url: str, cameras: Iterable[Camera], report_dir: Path | None) -> None:
    """Register in the registry's audit log what the suite read of each camera (one entry
    per camera that was asked anything). Raises RegistryError."""
    asked = [c for c in cameras if c.requests]
    if not asked:
        return
    with Registry.open(url) as registry:
        trail = AuditTrail(registry, _operator(), PURPOSE, None)
        where = (f"acceptance report {report_dir}" if report_dir is not None
                 else "the test outcomes only")
        trail.log(trail.read(
            target_id=c.id, address=c.address,
            how="ONVIF SOAP (WS-UsernameToken, HTTP Digest) and HTTP (hil acceptance suite)",
            what=f"{sum(c.requests.values())} requests, judged for {where}: "
                 + ", ".join(f"{op} x{n}" for op, n in sorted(c.requests.items())))
            for c in asked)


class NotAuditable(Exception):
    """Nothing to audit against: no registry given, or the camera neither filed nor
    commissioned there. The message is the skip reason."""


def audited(camera: Camera, *, need_baseline: bool = False) -> CameraAudit:
    """The camera's audit (run on first use); :class:`NotAuditable` if there is nothing to
    compare it with."""
    url = camera.settings.registry
    if url is None:
        raise NotAuditable(f"{camera.id}: no --hil-registry given (devmgr's registry with the "
                           "filings and commissioning baselines)")
    if camera.id not in _AUDITS:
        _AUDITS[camera.id] = camera.harness.run(_audit(camera, url), timeout_s=300.0)
    result = _AUDITS[camera.id]
    if need_baseline and not result.views:
        raise NotAuditable(f"{camera.id}: no commissioning baseline views in {url}: run "
                           "devmgr commission first")
    return result


async def _audit(camera: Camera, url: str) -> CameraAudit:
    targets = TargetsFile(targets=(camera.target,))
    try:
        with Registry.open(url) as registry:
            filings = registry.filings(FilingRecord)
            key = camera_keys(targets.targets, filings)[camera.id]
            if key not in filings and key not in registry.baselines(Baseline):
                raise NotAuditable(f"{camera.id}: neither filed nor commissioned in "
                                   f"{registry.url}")
            report = await audit(targets, registry, AuditOptions(
                discovery=None, include_unlisted=False,
                operator=_operator(),
                # The suite's stream tests play every profile: not again for the audit.
                streams=StreamCheck(seconds=0),
                parameters={"by": "hil acceptance suite", "target": camera.id}))
    except RegistryError as exc:
        raise InfrastructureError(f"{camera.id}: {exc}") from exc
    return next(c for c in report.cameras if c.target_id == camera.id)
