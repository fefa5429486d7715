"""camfleet's compliance checks at acceptance: the camera as ``devmgr audit`` judges it.

Against the filings and commissioning baselines of ``--hil-registry`` (skipped without one):
the view at home and each preset still matches the commissioning snapshots (Art. 7, Art. 12),
and every other rule of the audit holds (position, PTZ range, retention, security, filing).
``unfiled`` alone does not fail acceptance: Art. 9 allows 30 days after it.

devmgr's audit tours home and every preset for its snapshots (and puts the head back), so both
tests move the head: they are skipped with ``--hil-no-move``.
"""

from __future__ import annotations

import math

import pytest

from devmgr.compliance.model import CameraAudit, Finding, Severity
from hil.camera import Camera
from hil.compliance import NotAuditable, audited
from hil.measure import MeasurementLog

VIEW_RULES = frozenset({"view-turned", "view-obstructed", "view-blurred", "view-unusable"})
#: Not a reason to refuse acceptance: the filing is due within 30 days of it (Art. 9).
NOT_YET_DUE = frozenset({"unfiled"})


def _audit(camera: Camera, *, need_baseline: bool = False) -> CameraAudit:
    try:
        return audited(camera, need_baseline=need_baseline)
    except NotAuditable as exc:
        pytest.skip(str(exc))


def _listed(findings: list[Finding]) -> str:
    return "; ".join(f"[{f.article} {f.rule}] {f.message}" for f in findings)


@pytest.mark.hil_moves_head
def test_CAMFLEET_view_matches_baseline(camera: Camera, measure: MeasurementLog) -> None:
    """Each commissioning view (home, presets) is where it was, unobstructed and sharp."""
    result = _audit(camera, need_baseline=True)
    turns = [math.hypot(v.pan_deg, v.tilt_deg) for v in result.views
             if v.pan_deg is not None and v.tilt_deg is not None]
    if turns:  # the worst view; zoomed views have verdicts but no angle (see devmgr audit)
        measure("view_turn", max(turns))
    measure("view_obstructed_share", max(v.obstructed_share for v in result.views))
    wrong = [f for f in result.findings if f.rule in VIEW_RULES]
    assert not wrong, f"{camera}: {_listed(wrong)}"


@pytest.mark.hil_moves_head
def test_CAMFLEET_compliance_rules(camera: Camera) -> None:
    """No finding above "info" from devmgr's audit rules (the view's are the test above)."""
    result = _audit(camera)
    wrong = [f for f in result.findings if f.rule not in VIEW_RULES | NOT_YET_DUE
             and f.severity is not Severity.INFO]
    assert not wrong, f"{camera}: {_listed(wrong)}"
