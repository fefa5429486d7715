"""The compliance commands as a field engineer runs them, in subprocesses: filings import
(all or nothing), commission, audit with reports, and an audit killed half-way."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from devmgr.filings import FilingRecord, save
from devmgr.registry import Registry
from scenarios.fleet_filings import filings_for_fleet
from simulators.fleet.fleet import Fleet
from simulators.fleet.generate import FleetMember, generate_fleet
from tests.conftest import free_udp_port


def devmgr(*args: str, registry: Path, timeout: float = 120.0,
           ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "devmgr.cli", *args, "--registry",
                           str(registry)], capture_output=True, text=True, timeout=timeout,
                          check=False, env={"CAMFLEET_OPERATOR": "tester", "PATH": "/usr/bin"})


@pytest.fixture(scope="module")
def fleet() -> Iterator[Fleet]:
    members = [FleetMember(s) for s in generate_fleet(3, seed=5)]
    with Fleet(members, discovery_port=free_udp_port()) as running:
        yield running


@pytest.fixture
def setup(fleet: Fleet, tmp_path: Path) -> tuple[Path, Path]:
    """A registry with the fleet filed and commissioned, and the targets file."""
    targets = tmp_path / "targets.json"
    fleet.manifest().save(targets)
    filings = tmp_path / "filings.csv"
    save(filings_for_fleet(fleet, accepted_on=datetime.now(UTC).date() - timedelta(days=40)),
         filings)
    registry = tmp_path / "registry.sqlite"
    imported = devmgr("filings", "import", str(filings), registry=registry)
    assert imported.returncode == 0, imported.stderr
    done = devmgr("commission", "--targets", str(targets), registry=registry)
    assert done.returncode == 0, done.stderr + done.stdout
    return targets, registry


def test_a_filing_file_with_a_bad_row_imports_nothing_and_names_the_line(
        fleet: Fleet, tmp_path: Path) -> None:
    filings = tmp_path / "filings.csv"
    save(filings_for_fleet(fleet, accepted_on=datetime(2026, 1, 5, tzinfo=UTC).date()),
         filings)
    lines = filings.read_text(encoding="utf-8").splitlines()
    lines[2] = lines[2].replace(lines[2].split(",")[0], "4201", 1)  # a short device id
    filings.write_text("\n".join(lines) + "\n", encoding="utf-8")
    registry = tmp_path / "registry.sqlite"
    result = devmgr("filings", "import", str(filings), registry=registry)
    assert result.returncode == 2
    assert "filings.csv:3: device_id" in result.stderr  # file, line, field
    assert "nothing imported" in result.stderr
    with Registry.open(registry) as reg:
        assert reg.filings(FilingRecord) == {}


def test_commission_then_audit_of_a_healthy_fleet_is_compliant_with_reports(
        setup: tuple[Path, Path], tmp_path: Path) -> None:
    targets, registry = setup
    report = tmp_path / "report"
    result = devmgr("audit", "--targets", str(targets), "--report", str(report), "--json",
                    registry=registry)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert {c["status"] for c in data["cameras"]} == {"compliant"}
    assert len(data["cameras"]) == 3
    assert {p.name for p in report.iterdir()} >= {"audit.json", "audit-junit.xml",
                                                  "audit.csv", "audit.html"}
    with Registry.open(registry) as reg:
        entries = reg.audit_entries()
        assert reg.verify_audit_log().ok
    # Every configuration read and snapshot, of commissioning and audit, was registered.
    assert {e.who for e in entries} == {"tester"}
    assert any("snapshot" in e.what and "audit" in e.purpose for e in entries)
    assert any("configuration" in e.what and "commissioning" in e.purpose for e in entries)


def test_an_audit_killed_half_way_leaves_a_consistent_registry_and_a_rerun_completes(
        fleet: Fleet, setup: tuple[Path, Path]) -> None:
    targets, registry = setup
    slow = fleet.camera_ids[-1]
    fleet.set_faults(slow, [{"kind": "latency", "ms": 1500, "ops": ["GetStatus"]}])
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "devmgr.cli", "audit", "--targets", str(targets),
             "--registry", str(registry)], stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        recorded = 0
        while time.monotonic() < deadline and proc.poll() is None:
            with sqlite3.connect(registry) as conn:
                recorded = conn.execute(
                    "SELECT count(*) FROM audit_results JOIN sweeps ON sweeps.id = sweep_id "
                    "WHERE sweeps.status = 'running'").fetchone()[0]
            conn.close()
            if recorded:
                break
            time.sleep(0.05)
        assert proc.poll() is None, "the audit finished before it could be killed"
        assert recorded >= 1
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        fleet.clear_faults(slow)
    with Registry.open(registry) as reg:  # opening marks the dead audit aborted
        killed = reg.sweeps("audit")[0]
        assert killed.status == "aborted"
        assert reg.verify_audit_log().ok
        assert reg.audit_statuses(5) == []  # an aborted audit counts for nothing
    rerun = devmgr("audit", "--targets", str(targets), registry=registry)
    assert rerun.returncode == 0, rerun.stderr + rerun.stdout
    with Registry.open(registry) as reg:
        latest = reg.sweeps("audit")[0]
        assert latest.status == "complete"
        statuses = reg.audit_statuses(5)
        assert [s.id for s, _ in statuses] == [latest.id]
        assert set(statuses[0][1].values()) == {"compliant"}


def test_without_a_targets_file_discovery_finds_the_filed_units(
        fleet: Fleet, setup: tuple[Path, Path]) -> None:
    """No credentials: presence only (the unit is there, and where), from WS-Discovery."""
    _targets, registry = setup
    result = devmgr("audit", "--discover", "--interface", "127.0.0.1", "--discovery-port",
                    str(fleet.discovery_port), "--json", registry=registry)
    assert result.returncode == 0, result.stderr
    cameras = json.loads(result.stdout)["cameras"]
    assert [(c["presence"], c["status"]) for c in cameras] == [("present", "compliant")] * 3
    assert {c["address"] for c in cameras} == {t.address for t in fleet.manifest().targets}


def test_an_audit_needs_targets_or_discovery(tmp_path: Path) -> None:
    result = devmgr("audit", "--no-discover", registry=tmp_path / "r.sqlite")
    assert result.returncode == 2
    assert "give --targets FILE, or --discover" in result.stderr
