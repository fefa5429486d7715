"""A camera's recent audits: where the audit finds its good views of earlier days."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from devmgr.compliance.model import CameraAudit, ViewEvidence
from devmgr.registry import Registry


def audited(camera: str, image: str) -> tuple[str, str, CameraAudit]:
    view = ViewEvidence(name="home", verdicts=("ok",), current_image=image)
    return camera, "compliant", CameraAudit(camera=camera, status="compliant", views=(view,))


def test_recent_audits_are_the_complete_ones_since_the_baseline_newest_first(
        registry: Registry) -> None:
    with registry.sweep("audit") as before:
        registry.record_audit_results(before, [audited("cam", "before-baseline")])
    baseline_at = datetime.now(UTC)
    for image in ("day-1", "day-2", "day-3"):
        with registry.sweep("audit") as sweep:
            registry.record_audit_results(sweep, [audited("cam", image),
                                                  audited("other", f"other-{image}")])
    with pytest.raises(RuntimeError, match="died"):
        _die_in_an_audit(registry)
    with registry.sweep("commission") as commission:  # not an audit
        registry.record_audit_results(commission, [audited("cam", "commission")])

    recent = registry.recent_audit_results("cam", CameraAudit, since=baseline_at, limit=10)
    assert [a.views[0].current_image for a in recent] == ["day-3", "day-2", "day-1"]
    newest = registry.recent_audit_results("cam", CameraAudit, since=baseline_at, limit=2)
    assert [a.views[0].current_image for a in newest] == ["day-3", "day-2"]
    assert registry.recent_audit_results("nobody", CameraAudit, since=baseline_at,
                                         limit=10) == []


def _die_in_an_audit(registry: Registry) -> None:
    with registry.sweep("audit") as broken:
        registry.record_audit_results(broken, [audited("cam", "aborted")])
        raise RuntimeError("the run died")
