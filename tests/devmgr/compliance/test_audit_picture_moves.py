"""Art. 10 on the picture alone: units moved without a word and on no switch the audit can
read. One moved across town sees another place in every view: the audit calls it moved and
says the picture is what that rests on. One moved 30 m along its street sees the street
turned aside: a major view finding at least, never silence. One knocked round on its bracket
until its home view shows what its other preset used to: turned, not moved (the fingerprints
commissioning recorded tell its own scenes from another place). A healthy unit: nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from camfleet.model import PtzVector
from devmgr.compliance.audit import AuditOptions, audit
from devmgr.compliance.commission import commission
from devmgr.compliance.model import CameraAudit
from devmgr.registry import Registry
from devmgr.vision import FINGERPRINT_FEATURES, SCENE_ELSEWHERE_MAX, scene_match
from simulators.spec import Preset
from tests.devmgr.compliance.fleets import filed_fleet, quick_dome

pytestmark = pytest.mark.timeout(600)

FAULTS: dict[str, list[dict[str, Any]]] = {
    "across-town": [{"kind": "moved", "distance_m": 2500.0}],
    "along-street": [{"kind": "moved", "distance_m": 30.0}],
    "knocked-round": [{"kind": "mount_shifted", "pan_deg": 120.0}],
    "healthy": [],
}
#: The knocked unit's second view, 120 deg round from home (-5 deg tilt, like home).
FAR = Preset(token="9", name="far", position=PtzVector(pan=120.0, tilt=-5.0, zoom=0.0))
MAJOR = {"view-turned", "view-obstructed", "view-blurred", "view-unusable"}


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, CameraAudit]]:
    specs = [quick_dome(n, name, presets=[FAR] if name == "knocked-round" else None)
             for n, name in enumerate(FAULTS, start=1)]
    with filed_fleet(specs, tmp_path_factory.mktemp("picture") / "registry.sqlite") as filed:
        done = asyncio.run(commission(filed.manifest, filed.registry, operator="test"))
        assert len(done.baselines) == len(specs), done.problems
        prints = [v.fingerprint for b in done.baselines.values() for v in b.views]
        # Every view has its scene's fingerprint: a few kilobytes, no picture.
        assert all(prints)
        assert max(map(len, prints)) < 50 * FINGERPRINT_FEATURES
        # ... that finds its own scene whole, and none of the unit's other view.
        [home, far] = done.baselines[filed.keys["knocked-round"]].views
        assert scene_match(home.fingerprint, _jpeg(filed.registry, home.snapshot)) == 1.0
        assert scene_match(home.fingerprint, _jpeg(filed.registry, far.snapshot)) == 0.0
        for name, faults in FAULTS.items():
            filed.fleet.set_faults(name, faults)
        report = asyncio.run(audit(filed.manifest, filed.registry, AuditOptions(
            operator="test", discovery=None, check_credentials=False)))
        yield {c.target_id or c.camera: c for c in report.cameras}


def _jpeg(registry: Registry, digest: str) -> bytes:
    image = registry.snapshot(digest)
    assert image is not None
    return image


def _rules(cam: CameraAudit) -> set[str]:
    return {f.rule for f in cam.findings}


def test_a_unit_moved_across_town_is_moved_on_the_picture(
        audited: dict[str, CameraAudit]) -> None:
    cam = audited["across-town"]
    [moved] = [f for f in cam.findings if f.rule == "moved"]
    assert moved.evidence["rests_on"] == ["picture (medium)"], moved
    assert "another place" in moved.message
    assert all(v.verdicts == ("elsewhere",) for v in cam.views), cam.views
    assert all(v.scene_match is not None and v.scene_match <= SCENE_ELSEWHERE_MAX
               for v in cam.views), cam.views
    assert "scene fingerprints" in moved.message
    assert cam.presence == "moved"


def test_a_unit_moved_along_its_street_is_not_silent(audited: dict[str, CameraAudit]) -> None:
    rules = _rules(audited["along-street"])
    assert "moved" in rules or rules & MAJOR, audited["along-street"].findings


def test_a_healthy_unit_is_not_moved(audited: dict[str, CameraAudit]) -> None:
    cam = audited["healthy"]
    assert not _rules(cam) & (MAJOR | {"moved"}), cam.findings
    assert all(v.verdicts == ("ok",) for v in cam.views), cam.views


def test_a_unit_knocked_round_to_its_other_view_is_turned_not_moved(
        audited: dict[str, CameraAudit]) -> None:
    cam = audited["knocked-round"]
    home = next(v for v in cam.views if v.name == "home")
    assert (home.verdicts, home.shows_view) == (("turned",), "preset:9"), home
    [turned] = [f for f in cam.findings if f.rule == "view-turned"]
    assert "to the scene of its view preset:9" in turned.message
    assert cam.presence == "present"
    assert "moved" not in _rules(cam)
