"""Art. 10 on the picture alone: units moved without a word and on no switch the audit can
read. One moved across town sees another place in every view: the audit calls it moved and
says the picture is what that rests on. One moved 30 m along its street sees the street
turned aside: a major view finding at least, never silence. A healthy unit: nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from devmgr.compliance.audit import AuditOptions, audit
from devmgr.compliance.commission import commission
from devmgr.compliance.model import CameraAudit
from tests.devmgr.compliance.fleets import filed_fleet, quick_dome

pytestmark = pytest.mark.timeout(600)

FAULTS: dict[str, list[dict[str, Any]]] = {
    "across-town": [{"kind": "moved", "distance_m": 2500.0}],
    "along-street": [{"kind": "moved", "distance_m": 30.0}],
    "healthy": [],
}
MAJOR = {"view-turned", "view-obstructed", "view-blurred", "view-unusable"}


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, CameraAudit]]:
    specs = [quick_dome(n, name) for n, name in enumerate(FAULTS, start=1)]
    with filed_fleet(specs, tmp_path_factory.mktemp("picture") / "registry.sqlite") as filed:
        done = asyncio.run(commission(filed.manifest, filed.registry, operator="test"))
        assert len(done.baselines) == len(specs), done.problems
        for name, faults in FAULTS.items():
            filed.fleet.set_faults(name, faults)
        report = asyncio.run(audit(filed.manifest, filed.registry, AuditOptions(
            operator="test", discovery=None, check_credentials=False)))
        yield {c.target_id or c.camera: c for c in report.cameras}


def _rules(cam: CameraAudit) -> set[str]:
    return {f.rule for f in cam.findings}


def test_a_unit_moved_across_town_is_moved_on_the_picture(
        audited: dict[str, CameraAudit]) -> None:
    cam = audited["across-town"]
    [moved] = [f for f in cam.findings if f.rule == "moved"]
    assert moved.evidence["rests_on"] == ["picture (medium)"], moved
    assert "another place" in moved.message
    assert all(v.verdicts == ("elsewhere",) for v in cam.views), cam.views
    assert cam.presence == "moved"


def test_a_unit_moved_along_its_street_is_not_silent(audited: dict[str, CameraAudit]) -> None:
    rules = _rules(audited["along-street"])
    assert "moved" in rules or rules & MAJOR, audited["along-street"].findings


def test_a_healthy_unit_is_not_moved(audited: dict[str, CameraAudit]) -> None:
    cam = audited["healthy"]
    assert not _rules(cam) & (MAJOR | {"moved"}), cam.findings
    assert all(v.verdicts == ("ok",) for v in cam.views), cam.views
