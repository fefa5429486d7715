"""The devmgr command line, end to end against a small fleet."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from devmgr.cli import app
from devmgr.registry import Registry
from simulators.fleet.fleet import Fleet
from simulators.fleet.generate import FleetMember, generate_fleet
from tests.conftest import free_udp_port
from tests.tables import unfolded_cells

runner = CliRunner()


@pytest.fixture(scope="module")
def fleet() -> Iterator[Fleet]:
    with Fleet([FleetMember(s) for s in generate_fleet(6, seed=31)],
               discovery_port=free_udp_port()) as running:
        yield running


@pytest.fixture
def manifest(fleet: Fleet, tmp_path: Path) -> Path:
    path = tmp_path / "fleet.json"
    fleet.manifest().save(path)
    return path


def test_inventory_json_and_registry(fleet: Fleet, manifest: Path, tmp_path: Path) -> None:
    registry = tmp_path / "registry.sqlite"
    result = runner.invoke(app, ["inventory", "--targets", str(manifest), "--json",
                                 "--registry", str(registry)])
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    expected = {t.id: t.serial for t in fleet.manifest().targets}
    assert {inv["target_id"]: inv["device"]["serial"] for inv in found} == expected
    assert all(inv["snmp"]["serial"] == inv["device"]["serial"] for inv in found)
    with Registry.open(registry) as stored:
        assert set(stored.latest_inventories()) == set(expected)


def test_inventory_table_flags_problems(fleet: Fleet, manifest: Path, tmp_path: Path) -> None:
    victim = fleet.camera_ids[2]
    fleet.add_fault(victim, "auth_failure")
    try:
        result = runner.invoke(app, ["inventory", "--targets", str(manifest),
                                     "--registry", str(tmp_path / "r.sqlite")])
    finally:
        fleet.clear_faults(victim)
    assert result.exit_code == 3  # some cameras could not be inventoried
    cells = unfolded_cells(result.stdout)
    assert victim in cells
    assert any("auth:GetDeviceInformation" in cell.replace(" ", "") for cell in cells), \
        result.stdout


@pytest.mark.parametrize(("content", "message"), [
    (None, "cannot read targets file"),
    ("{not json", "not valid JSON"),
    ('{"targets": [{"id": "a"}]}', "targets.0.address"),
])
def test_bad_targets_files_are_named(tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "targets.json"
    if content is not None:
        path.write_text(content)
    result = runner.invoke(app, ["inventory", "--targets", str(path),
                                 "--registry", str(tmp_path / "r.sqlite")])
    assert result.exit_code == 2
    assert message in result.output
    assert str(path) in result.output


def test_inventory_in_worker_processes_gives_the_same_answers(
        fleet: Fleet, manifest: Path, tmp_path: Path) -> None:
    results = []
    for processes in ("1", "2"):
        result = runner.invoke(app, ["inventory", "--targets", str(manifest), "--json",
                                     "--processes", processes,
                                     "--registry", str(tmp_path / "r.sqlite")])
        assert result.exit_code == 0, result.output
        results.append([(inv["target_id"], inv["device"]["serial"], inv.get("mac"),
                         inv["snmp"]["serial"]) for inv in json.loads(result.stdout)])
    assert results[0] == results[1]
    assert [r[0] for r in results[1]] == fleet.camera_ids  # in target order


def test_inventory_and_discover_log_every_retrieval(fleet: Fleet, manifest: Path,
                                                    tmp_path: Path) -> None:
    """Art. 15, 16(3): who read what, when, how, why and where it went, per camera."""
    registry = tmp_path / "registry.sqlite"
    result = runner.invoke(app, ["inventory", "--targets", str(manifest), "--json",
                                 "--operator", "li.wei", "--registry", str(registry)])
    assert result.exit_code == 0, result.output
    found = runner.invoke(app, ["discover", "--interface", "127.0.0.1", "--port",
                                str(fleet.discovery_port), "--json", "--operator", "li.wei",
                                "--registry", str(registry)])
    assert found.exit_code == 0, found.output
    with Registry.open(registry) as stored:
        entries = stored.audit_entries()
        inventory, discover = stored.sweeps("inventory")[0], stored.sweeps("discover")[0]
        assert stored.verify_audit_log().ok
    reads = [e for e in entries if e.sweep_id == inventory.id]
    assert sorted(e.target_id or "" for e in reads) == sorted(fleet.camera_ids)
    assert {e.who for e in entries} == {"li.wei"}
    assert all(e.purpose.startswith("inventory") and "configuration" in e.what
               and "SNMP" in e.how and f"sweep {inventory.id}" in e.destination
               and "operator" in e.destination for e in reads)
    identities = [e for e in entries if e.sweep_id == discover.id]
    assert len(identities) == len(json.loads(found.stdout)["devices"]) >= len(fleet.camera_ids)
    assert all(e.what.startswith("identity") and e.how.startswith("discovery (wsd-")
               for e in identities)


def test_a_registry_failing_mid_command_is_one_line_and_exit_2(
        fleet: Fleet, manifest: Path, tmp_path: Path) -> None:
    """The registry opens, then refuses to write (read-only): no traceback."""
    registry = tmp_path / "registry.sqlite"
    Registry.open(registry).close()
    read_only = f"sqlite:///file:{registry}?mode=ro&uri=true"
    result = runner.invoke(app, ["inventory", "--targets", str(manifest),
                                 "--registry", read_only])
    assert result.exit_code == 2
    assert "error: registry" in result.output
    assert "readonly database" in result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
