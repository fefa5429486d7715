"""Extreme and malformed values from one camera: a classified ``protocol`` error of that
camera naming the field, and the rest of the sweep keeps its results (``devmgr inventory``).

The hostile camera is a simulated one with ``hostile_value`` faults (:mod:`simulators.hostile`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from devmgr.cli import app
from devmgr.registry import Registry
from simulators.fleet.fleet import Fleet
from simulators.fleet.generate import FleetMember, generate_fleet
from tests.conftest import free_udp_port

runner = CliRunner()

CLOCK_9999 = [{"ops": ["GetSystemDateAndTime"], "element": name, "value": value}
              for name, value in (("Year", "9999"), ("Month", "12"), ("Day", "31"),
                                  ("Hour", "23"), ("Minute", "59"), ("Second", "59"))]
#: (faults, operation, text the error must hold: the field, and the value)
CASES: dict[str, tuple[list[dict[str, Any]], str, tuple[str, ...]]] = {
    "presets-1e309": ([{"ops": ["GetNodes"], "element": "MaximumNumberOfPresets",
                        "value": "1e309"}], "GetNodes", ("MaximumNumberOfPresets", "1e309")),
    "width-nan": ([{"element": "Width", "value": "NaN"}], "GetProfiles",
                  ("video encoder configuration: width", "NaN")),
    "year-1e20": ([{"ops": ["GetSystemDateAndTime"], "element": "Year",
                    "value": "1" + "0" * 20}], "GetSystemDateAndTime", ("UTCDateTime",)),
    "clock-9999-12-31": (CLOCK_9999, "GetSystemDateAndTime", ("UTCDateTime", "9999-12-31")),
    "latitude-999": ([{"element": "GeoLocation", "attribute": "lat", "value": "999"}],
                     "GetGeoLocation", ("GeoLocation lat", "999")),
    "latitude-nan": ([{"element": "GeoLocation", "attribute": "lat", "value": "NaN"}],
                     "GetGeoLocation", ("GeoLocation lat", "NaN")),
    "retention-P9999999999D": ([{"element": "MaximumRetentionTime", "value": "P9999999999D"}],
                               "GetRecordings", ("MaximumRetentionTime", "P9999999999D")),
    "ptz-timeout-huge": ([{"element": "DefaultPTZTimeout", "value": "PT99999999999999999S"}],
                         "GetConfigurations", ("DefaultPTZTimeout",)),
}


@pytest.fixture(scope="module")
def fleet() -> Iterator[Fleet]:
    with Fleet([FleetMember(s) for s in generate_fleet(3, seed=41)],
               discovery_port=free_udp_port()) as running:
        yield running


@pytest.fixture(scope="module")
def manifest(fleet: Fleet, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("hostile") / "fleet.json"
    fleet.manifest().save(path)
    return path


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_bad_value_is_that_cameras_protocol_error_naming_the_field(
        fleet: Fleet, manifest: Path, tmp_path: Path, case: str) -> None:
    faults, operation, named = CASES[case]
    victim = fleet.camera_ids[0]  # a dome: it has PTZ values to spoil
    fleet.set_faults(victim, [{"kind": "hostile_value", **f} for f in faults])
    registry = tmp_path / "registry.sqlite"
    try:
        result = runner.invoke(app, ["inventory", "--targets", str(manifest), "--json",
                                     "--registry", str(registry)])
    finally:
        fleet.clear_faults(victim)
    assert result.exit_code == 0, result.output
    found = {inv["target_id"]: inv for inv in json.loads(result.stdout)}
    serials = {t.id: t.serial for t in fleet.manifest().targets}
    for healthy in set(serials) - {victim}:
        assert found[healthy].get("errors", []) == []
        assert found[healthy]["device"]["serial"] == serials[healthy]
        assert found[healthy]["profiles"]
    errors = found[victim]["errors"]
    assert [e["kind"] for e in errors] == ["protocol"] * len(errors)
    assert {e["operation"] for e in errors} == {operation}
    assert all(text in errors[0]["message"] for text in named), errors
    with Registry.open(registry) as stored:
        assert set(stored.latest_inventories()) == set(serials)


def test_the_other_fields_of_the_hostile_camera_are_kept(
        fleet: Fleet, manifest: Path, tmp_path: Path) -> None:
    victim = fleet.camera_ids[0]  # a dome: it has PTZ values to spoil
    fleet.set_faults(victim, [{"kind": "hostile_value", "element": "MaximumNumberOfPresets",
                               "value": "-1"}])
    try:
        result = runner.invoke(app, ["inventory", "--targets", str(manifest), "--json",
                                     "--registry", str(tmp_path / "r.sqlite")])
    finally:
        fleet.clear_faults(victim)
    inv = next(i for i in json.loads(result.stdout) if i["target_id"] == victim)
    assert inv["device"]["serial"]
    assert "max_presets" not in inv["ptz"]
    assert inv["ptz"]["presets"]
    assert "outside [0, 100000]" in inv["errors"][0]["message"]
