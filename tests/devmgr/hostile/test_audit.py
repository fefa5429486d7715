"""``devmgr audit`` over a small fleet with one hostile camera: that camera is classified with
the field named, and the healthy cameras keep their results (the sweep completes)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from devmgr.cli import app
from devmgr.filings import save
from devmgr.registry import Registry
from scenarios.fleet_filings import filings_for_fleet
from simulators.fleet.fleet import Fleet
from simulators.fleet.generate import FleetMember, generate_fleet
from tests.conftest import free_udp_port

runner = CliRunner()
CASES: dict[str, tuple[list[dict[str, Any]], str]] = {
    "presets-1e309": ([{"element": "MaximumNumberOfPresets", "value": "1e309"}],
                      "MaximumNumberOfPresets"),
    "latitude-nan": ([{"element": "GeoLocation", "attribute": "lat", "value": "NaN"}],
                     "GeoLocation lat"),
    "retention-P9999999999D": ([{"element": "MaximumRetentionTime",
                                 "value": "P9999999999D"}], "MaximumRetentionTime"),
    "clock-year-1e20": ([{"ops": ["GetSystemDateAndTime"], "element": "Year",
                          "value": "1" + "0" * 20}], "UTCDateTime"),
}


def cli(*args: str) -> Any:
    return runner.invoke(app, list(args), env={"CAMFLEET_OPERATOR": "tester"})


@pytest.fixture(scope="module")
def fleet() -> Iterator[Fleet]:
    with Fleet([FleetMember(s) for s in generate_fleet(3, seed=41)],
               discovery_port=free_udp_port()) as running:
        yield running


@pytest.fixture(scope="module")
def commissioned(fleet: Fleet, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The fleet filed and commissioned: (targets file, registry)."""
    where = tmp_path_factory.mktemp("audit")
    targets, filings, registry = where / "t.json", where / "f.csv", where / "r.sqlite"
    fleet.manifest().save(targets)
    save(filings_for_fleet(fleet, accepted_on=datetime.now(UTC).date() - timedelta(days=40)),
         filings)
    assert cli("filings", "import", str(filings), "--registry", str(registry)).exit_code == 0
    done = cli("commission", "--targets", str(targets), "--no-move", "--registry",
               str(registry))
    assert done.exit_code == 0, done.output
    return targets, registry


@pytest.mark.parametrize("case", sorted(CASES))
def test_one_hostile_camera_does_not_cost_the_audit_the_others(
        fleet: Fleet, commissioned: tuple[Path, Path], case: str) -> None:
    targets, registry = commissioned
    faults, field = CASES[case]
    victim = fleet.camera_ids[0]  # a dome
    fleet.set_faults(victim, [{"kind": "hostile_value", **f} for f in faults])
    try:
        result = cli("audit", "--targets", str(targets), "--no-move", "--no-discover",
                     "--json", "--registry", str(registry))
    finally:
        fleet.clear_faults(victim)
    assert result.exit_code in (0, 3), result.output
    cameras = {c["camera"]: c for c in json.loads(result.stdout)["cameras"]}
    assert len(cameras) == 3
    healthy = [c for c in cameras.values() if c["target_id"] != victim]
    assert [c["status"] for c in healthy] == ["compliant", "compliant"]
    hostile = next(c for c in cameras.values() if c["target_id"] == victim)
    errors = [e for e in hostile["errors"] if field in e["message"]]
    assert [e["kind"] for e in errors] == ["protocol"], hostile["errors"]
    with Registry.open(registry) as reg:
        assert reg.sweeps("audit")[0].status == "complete"
        assert reg.verify_audit_log().ok


def test_a_camera_that_answers_only_garbage_is_unreadable_never_removed_by_silence(
        fleet: Fleet, commissioned: tuple[Path, Path]) -> None:
    """Three audits in a row (a removal by silence after three) of a camera whose every
    GetDeviceInformation carries a DTD: each says it answers unreadably, none that it is gone,
    and its failures are not counted as misses."""
    targets, registry = commissioned
    victim = fleet.camera_ids[1]
    fleet.set_faults(victim, [{"kind": "dtd", "ops": ["GetDeviceInformation"]}])
    try:
        runs = [cli("audit", "--targets", str(targets), "--no-move", "--no-discover", "--json",
                    "--registry", str(registry)) for _ in range(3)]
    finally:
        fleet.clear_faults(victim)
    for result in runs:
        assert result.exit_code == 3, result.output  # findings
        camera = next(c for c in json.loads(result.stdout)["cameras"]
                      if c["target_id"] == victim)
        assert (camera["status"], camera["presence"], camera["missed_audits"]) == (
            "findings", "unreadable", 0)
        [finding] = [f for f in camera["findings"] if f["article"] == "Art. 10"]
        assert finding["rule"] == "unreadable"
        assert "reply carries a DTD" in finding["message"]
    healed = cli("audit", "--targets", str(targets), "--no-move", "--no-discover", "--json",
                 "--registry", str(registry))
    camera = next(c for c in json.loads(healed.stdout)["cameras"] if c["target_id"] == victim)
    assert camera["status"] == "compliant"
