"""A GNSS position is measured, a configured one typed: commissioning and the audit say which
kind they compared. Two domes moved 300 m without anyone re-typing anything: the one with a
GNSS receiver reports its new fix, and its move rests on it; the other still reports what was
typed, and its move rests on the picture alone."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from devmgr.cli import app
from devmgr.compliance.audit import AuditOptions, audit
from devmgr.compliance.commission import commission
from devmgr.compliance.model import CameraAudit
from simulators.spec import CameraSpec
from tests.devmgr.compliance.fleets import Filed, filed_fleet, quick_dome
from tests.tables import unfolded_cells

pytestmark = pytest.mark.timeout(600)


def _gnss(spec: CameraSpec) -> CameraSpec:
    return spec.model_copy(update={"location": spec.location.model_copy(update={"gnss": True})})


@pytest.fixture(scope="module")
def filed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Filed]:
    specs = [_gnss(quick_dome(1, "gnss")), quick_dome(2, "typed")]
    with filed_fleet(specs, tmp_path_factory.mktemp("gnss") / "registry.sqlite") as fleet:
        yield fleet


@pytest.fixture(scope="module")
def audited(filed: Filed) -> dict[str, CameraAudit]:
    done = asyncio.run(commission(filed.manifest, filed.registry, operator="test"))
    assert len(done.baselines) == 2, done.problems
    sources = {b.target_id: b.inventory.geolocation_source for b in done.baselines.values()}
    assert sources == {"gnss": "gnss", "typed": "configured"}
    for name in ("gnss", "typed"):
        filed.fleet.set_faults(name, [{"kind": "moved", "distance_m": 300.0}])
    report = asyncio.run(audit(filed.manifest, filed.registry, AuditOptions(
        operator="test", discovery=None, check_credentials=False)))
    return {c.target_id or c.camera: c for c in report.cameras}


def test_a_gnss_unit_moved_silently_is_moved_on_its_fix(audited: dict[str, CameraAudit]) -> None:
    cam = audited["gnss"]
    [moved] = [f for f in cam.findings if f.rule == "moved"]
    assert "GNSS position" in moved.evidence["rests_on"]
    assert moved.evidence["strength"] == "strong"
    assert "its GNSS fix is 300 m from where it was" in moved.message
    assert moved.evidence["position_compared"] == \
        "its GNSS fix against its GNSS fix at commissioning"


def test_a_typed_position_does_not_follow_a_move_and_is_not_taken_for_evidence(
        audited: dict[str, CameraAudit]) -> None:
    cam = audited["typed"]
    [moved] = [f for f in cam.findings if f.rule == "moved"]
    assert moved.evidence["rests_on"] == ["picture (medium)"]
    assert moved.evidence["position_compared"] == \
        "its configured position against its configured position at commissioning"


def test_commissioning_says_which_kind_of_position_it_recorded(filed: Filed,
                                                               tmp_path: Path) -> None:
    targets = tmp_path / "targets.json"
    filed.manifest.save(targets)
    result = CliRunner().invoke(app, ["commission", "--targets", str(targets), "--no-move",
                                      "--registry", str(tmp_path / "r.sqlite")],
                                env={"CAMFLEET_OPERATOR": "tester"})
    assert result.exit_code == 0, result.output
    cells = unfolded_cells(result.stdout)  # camera, target, position, views, problems
    rows = {cells[i + 1]: cells[i + 2].replace(" ", "") for i in range(0, len(cells), 5)}
    assert rows["gnss"] == "GNSSfix"
    assert rows["typed"] == "configuredposition"
