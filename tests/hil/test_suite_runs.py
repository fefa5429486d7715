"""The acceptance suite end to end, run the way a tester or CI runs it:
``python -m pytest --pyargs hil.suite ...`` in a process of its own, judged by its reports.

Three runs: a healthy simulated fleet started by the plugin (with xdist), a fleet with injected
faults given as a targets file, and a fleet in network namespaces given as a plain targets file
of real cameras (addresses and credentials from the environment, nothing simulator-specific).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from camfleet.targets import TargetsFile
from devmgr.compliance.commission import commission
from devmgr.registry import Registry
from hil.fleet import REBOOT_SECONDS
from scenarios.fleet_filings import filings_for_fleet
from simulators.fleet.fleet import Fleet
from simulators.fleet.generate import FleetMember, generate_fleet
from simulators.fleet.netns import netns_unavailable_reason
from tests.conftest import free_udp_port

SUITE_TIMEOUT_S = 240
#: Each test runs a whole suite in a process of its own: it may take that suite's time limit.
pytestmark = pytest.mark.timeout(SUITE_TIMEOUT_S + 60)


def run_suite(workdir: Path, *args: str,
              env: dict[str, str] | None = None) -> tuple[subprocess.CompletedProcess[str], Path]:
    report = workdir / "report"
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_XDIST")}
    command = [sys.executable, "-m", "pytest", "--pyargs", "hil.suite", "-p", "no:cacheprovider",
               "-q", "--hil-report", str(report), "--junitxml", str(report / "junit.xml"),
               *args]
    result = subprocess.run(command, cwd=workdir, env={**clean, **(env or {})},
                            capture_output=True, text=True, timeout=SUITE_TIMEOUT_S, check=False)
    return result, report


def camera_records(report: Path) -> dict[str, dict[str, Any]]:
    run = json.loads((report / "run.json").read_text())
    return {camera: json.loads((report / entry["file"]).read_text())
            for camera, entry in run["cameras"].items()}


def outcomes(record: dict[str, Any]) -> dict[str, str]:
    return {t["test"]: t["outcome"] for t in record["tests"]}


def pairs(records: dict[str, dict[str, Any]], outcome: str) -> set[tuple[str, str]]:
    return {(camera, t["test"]) for camera, record in records.items()
            for t in record["tests"] if t["outcome"] == outcome}


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def tail(result: subprocess.CompletedProcess[str]) -> str:
    return result.stdout[-4000:] + result.stderr[-2000:]


def test_the_suite_passes_on_a_healthy_fleet_with_xdist(tmp_path: Path) -> None:
    result, report = run_suite(tmp_path, "--hil-fleet", "sim:4", "-n", "4",
                               "--hil-discovery-port", str(free_udp_port()))
    assert result.returncode == 0, tail(result)
    run = json.loads((report / "run.json").read_text())
    records = camera_records(report)
    assert {c: r["verdict"] for c, r in records.items()} == {
        f"cam-000{i}": "accepted" for i in range(4)}
    assert not pairs(records, "failed") | pairs(records, "error")

    # One fleet for the run: every worker tested the cameras of the controller's manifest.
    manifest_sha256 = hashlib.sha256((report / "fleet-manifest.json").read_bytes()).hexdigest()
    assert run["targets_sha256"] == manifest_sha256
    assert {r["targets_sha256"] for r in records.values()} == {manifest_sha256}
    assert not [pid for pid in run["fleet"]["worker_pids"] if alive(pid)], "fleet left behind"

    # Each camera's tests on one worker; every worker busy (the suite mostly waits on the
    # cameras, so four workers on two cores are four times as quick).
    workers = {camera: {t["worker"] for t in r["tests"]} for camera, r in records.items()}
    assert all(len(w) == 1 for w in workers.values()), workers
    assert set().union(*workers.values()) == {"gw0", "gw1", "gw2", "gw3"}

    # The domes were moved and measured; the bullets skipped PTZ with a reason.
    domes = [c for c, r in records.items() if outcomes(r)["test_CAMFLEET_ptz_accuracy"] ==
             "passed"]
    assert domes == ["cam-0000", "cam-0001"]
    bullet = {t["test"]: t for t in records["cam-0002"]["tests"]}
    assert "does not advertise ptz" in bullet["test_PTZ_3_1_1_absolute_move"]["message"]
    # Without devmgr's registry there is nothing to audit against: skipped, saying so.
    view = bullet["test_CAMFLEET_view_matches_baseline"]
    assert (view["outcome"], "no --hil-registry given" in view["message"]) == ("skipped", True)
    accuracy = {t["test"]: t for t in records["cam-0000"]["tests"]}["test_CAMFLEET_ptz_accuracy"]
    assert {m["name"] for m in accuracy["measurements"]} == {"ptz_position_error",
                                                             "ptz_settle_time"}
    # Every camera was rebooted once and timed: a simulated camera is silent REBOOT_SECONDS.
    for camera, record in records.items():
        boot = {t["test"]: t for t in record["tests"]}["test_CAMFLEET_boot_time"]
        [seconds] = [m["value"] for m in boot["measurements"] if m["name"] == "boot_time"]
        assert REBOOT_SECONDS <= seconds < 30.0, (camera, seconds)

    # The acceptance JUnit file: a test suite per camera, with the run's targets and the
    # verdict; pytest's own file keeps each test's properties.
    acceptance = ET.parse(report / "acceptance-junit.xml").getroot()
    suites = {suite.get("name"): suite for suite in acceptance.iter("testsuite")}
    assert set(suites) == set(records)
    for camera, suite in suites.items():
        suite_properties = {p.get("name"): p.get("value")
                            for p in suite.findall("properties/property")}
        assert suite_properties["hil_targets_sha256"] == manifest_sha256
        assert suite_properties["hil_fleet"].startswith("sim:4 (seed 0)")
        assert suite_properties["hil_verdict"] == "accepted"
        assert int(suite.get("tests", "0")) == len(records[camera]["tests"])
    junit = ET.parse(report / "junit.xml").getroot()
    for case in [*junit.iter("testcase"), *acceptance.iter("testcase")]:
        names = {p.get("name") for p in case.iter("property")}
        assert {"hil_camera", "hil_firmware"} <= names, case.get("name")
    page = (report / "acceptance.html").read_text()
    assert page.count('<span class="verdict accepted">ACCEPTED</span>') >= 4


def test_faults_fail_exactly_the_tests_that_find_them(tmp_path: Path) -> None:
    specs = generate_fleet(4, seed=0)
    dome = specs[0]
    assert dome.is_ptz
    assert any(abs(p.position.pan) > 5 for p in dome.ptz.presets), "fleet generator changed"
    with Fleet([FleetMember(s) for s in specs], discovery_port=free_udp_port()) as fleet:
        fleet.set_faults("cam-0000", [{"kind": "ptz_limits_changed",
                                       "pan": {"min": -5.0, "max": 5.0}}])
        fleet.set_faults("cam-0002", [{"kind": "clock_skew", "seconds": 3600}])
        fleet.set_faults("cam-0003", [{"kind": "removed"}])
        manifest = fleet.manifest()
        filings = {"cam-0001": "42010200001320000017",   # an IPC: well formed
                   "cam-0002": "42010200001180000017"}   # type 118 is an NVR, not a camera
        targets = tuple(t.model_copy(update={"filing_id": filings.get(t.id)})
                        for t in manifest.targets)
        path = tmp_path / "site.json"
        TargetsFile(targets=targets, fleet=manifest.fleet).save(path)
        result, report = run_suite(tmp_path, "--hil-targets", str(path), "-n", "4")
    assert result.returncode == 1, tail(result)
    records = camera_records(report)
    assert pairs(records, "failed") == {
        ("cam-0000", "test_CAMFLEET_stored_presets_reachable"),
        ("cam-0000", "test_CAMFLEET_preset_repeatability"),
        ("cam-0000", "test_CAMFLEET_presets_within_limits"),
        ("cam-0002", "test_CAMFLEET_clock_offset"),
        ("cam-0002", "test_CAMFLEET_filing_id_well_formed"),
    }
    messages = {(c, t["test"]): t["message"] for c, r in records.items() for t in r["tests"]}
    reach = messages["cam-0000", "test_CAMFLEET_stored_presets_reachable"]
    assert "cam-0000: GotoPreset" in reach
    assert "outside the limits" in reach
    assert "presets outside the PTZ limits" in messages[
        "cam-0000", "test_CAMFLEET_presets_within_limits"]
    assert "cam-0002: clock_offset = 3" in messages["cam-0002", "test_CAMFLEET_clock_offset"]
    assert "type code 118" in messages["cam-0002", "test_CAMFLEET_filing_id_well_formed"]

    # The removed camera: one ERROR where it was found gone, the rest skipped with that error.
    removed = records["cam-0003"]
    counts = {o: list(outcomes(removed).values()).count(o) for o in ("error", "skipped")}
    assert counts == {"error": 1, "skipped": len(removed["tests"]) - 1}
    error = next(t for t in removed["tests"] if t["outcome"] == "error")
    assert "cam-0003" in error["message"]
    assert "cannot connect" in error["message"]
    assert all("stopped answering earlier" in t["message"] and "cannot connect" in t["message"]
               for t in removed["tests"] if t["outcome"] == "skipped")
    assert {c: r["verdict"] for c, r in records.items()} == {
        "cam-0000": "rejected", "cam-0001": "accepted", "cam-0002": "rejected",
        "cam-0003": "not testable"}
    acceptance = ET.parse(report / "acceptance-junit.xml").getroot()
    removed_cases = [c for c in acceptance.iter("testcase") if "[cam-0003]" in c.get("name", "")]
    assert len(removed_cases) == len(removed["tests"])
    assert sum(c.find("error") is not None for c in removed_cases) == 1
    assert all(c.find("failure") is None for c in removed_cases)
    failures = {(s.get("name"), c.get("name", "").split("[")[0])
                for s in acceptance.iter("testsuite") for c in s.iter("testcase")
                if c.find("failure") is not None}
    assert failures == pairs(records, "failed")


def test_each_stream_fault_fails_exactly_its_stream_test(tmp_path: Path) -> None:
    """FFmpeg plays each camera's streams; each stream fault fails the one test for it, with
    a message that names the camera and what is wrong."""
    faults = {"cam-0000": "stream_down", "cam-0001": "frozen", "cam-0002": "black",
              "cam-0003": {"kind": "low_fps", "fps": 1}, "cam-0004": "wrong_resolution"}
    specs = generate_fleet(6, seed=0)
    with Fleet([FleetMember(s) for s in specs], discovery_port=free_udp_port()) as fleet:
        for camera, fault in faults.items():
            fleet.set_faults(camera, [fault])
        path = tmp_path / "site.json"
        fleet.manifest().save(path)
        result, report = run_suite(tmp_path, "--hil-targets", str(path), "-n", "2",
                                   "-k", "stream")
    assert result.returncode == 1, tail(result)
    records = camera_records(report)
    assert pairs(records, "failed") == {
        ("cam-0000", "test_CAMFLEET_stream_plays"),
        ("cam-0001", "test_CAMFLEET_stream_is_live"),
        ("cam-0002", "test_CAMFLEET_stream_is_not_black"),
        ("cam-0003", "test_CAMFLEET_stream_frame_rate"),
        ("cam-0004", "test_CAMFLEET_stream_is_what_the_encoder_configuration_says"),
    }
    messages = {(c, t["test"]): t["message"] for c, r in records.items() for t in r["tests"]}
    assert "does not play" in messages["cam-0000", "test_CAMFLEET_stream_plays"]
    assert "frozen" in messages["cam-0001", "test_CAMFLEET_stream_is_live"]
    assert "black" in messages["cam-0002", "test_CAMFLEET_stream_is_not_black"]
    assert "stream_fps_ratio" in messages["cam-0003", "test_CAMFLEET_stream_frame_rate"]
    assert "wrong resolution" in messages[
        "cam-0004", "test_CAMFLEET_stream_is_what_the_encoder_configuration_says"]
    for (camera, _test), message in messages.items():
        if message and (camera, _test) in pairs(records, "failed"):
            assert camera in message
    assert records["cam-0005"]["verdict"] == "accepted"


def test_the_compliance_tests_judge_each_camera_against_its_baseline_and_filing(
        tmp_path: Path) -> None:
    """Filed and commissioned with devmgr; then one camera overgrown, one given a factory
    password: exactly their view and compliance tests fail, with devmgr's messages."""
    registry_path = tmp_path / "registry.sqlite"
    with Fleet([FleetMember(s) for s in generate_fleet(3, seed=4)],
               discovery_port=free_udp_port()) as fleet:
        manifest = fleet.manifest()
        with Registry.open(registry_path) as registry:
            records = filings_for_fleet(fleet, accepted_on=date.today() - timedelta(days=40))
            registry.put_filings([(r.device_id, r) for r in records], source="test")
            asyncio.run(commission(manifest, registry, operator="test"))
        fleet.set_faults("cam-0000", [{"kind": "obstructed"}])
        fleet.set_faults("cam-0001", [{"kind": "default_credentials"}])
        path = tmp_path / "site.json"
        manifest.save(path)
        result, report = run_suite(tmp_path, "--hil-targets", str(path), "--hil-registry",
                                   str(registry_path), "-k", "CAMFLEET_view or "
                                   "CAMFLEET_compliance")
    assert result.returncode == 1, tail(result)
    runs = camera_records(report)
    assert pairs(runs, "failed") == {("cam-0000", "test_CAMFLEET_view_matches_baseline"),
                                     ("cam-0001", "test_CAMFLEET_compliance_rules")}
    assert pairs(runs, "passed") == {("cam-0000", "test_CAMFLEET_compliance_rules"),
                                     ("cam-0001", "test_CAMFLEET_view_matches_baseline"),
                                     ("cam-0002", "test_CAMFLEET_compliance_rules"),
                                     ("cam-0002", "test_CAMFLEET_view_matches_baseline")}
    messages = {(c, t["test"]): t["message"] for c, r in runs.items() for t in r["tests"]}
    assert "[Art. 12 view-obstructed]" in messages["cam-0000",
                                                   "test_CAMFLEET_view_matches_baseline"]
    assert "root/****" in messages["cam-0001", "test_CAMFLEET_compliance_rules"]
    view = next(t for t in runs["cam-0000"]["tests"]
                if t["test"] == "test_CAMFLEET_view_matches_baseline")
    share = {m["name"]: m for m in view["measurements"]}["view_obstructed_share"]
    assert (share["outcome"], share["high"]) == ("fail", 0.05)
    with Registry.open(registry_path) as registry:  # each acceptance audit is on record
        assert len(registry.sweeps("audit")) == 3
        assert registry.verify_audit_log().ok
        suite_reads = [e for e in registry.audit_entries()
                       if e.purpose == "acceptance test before use (regulation Art. 8)"]
    # ... and so is what the suite itself read of each camera (Art. 15, 16(3)).
    assert sorted(e.target_id or "" for e in suite_reads) == ["cam-0000", "cam-0001",
                                                               "cam-0002"]
    assert all("inventory (configuration) x1" in e.what for e in suite_reads)


NETNS = netns_unavailable_reason()


@pytest.mark.skipif(NETNS is not None, reason=f"netns backend: {NETNS}")
def test_the_suite_passes_on_a_netns_fleet_given_as_real_cameras(tmp_path: Path) -> None:
    """Addresses and credentials only, passwords from the environment: a real site's file."""
    with Fleet([FleetMember(s) for s in generate_fleet(2, seed=0)], backend="netns",
               discovery_port=free_udp_port()) as fleet:
        manifest = fleet.manifest()
        env = {f"HIL_{t.id.replace('-', '_').upper()}_PASSWORD": t.onvif_password() or ""
               for t in manifest.targets}
        site = {"targets": [{"id": t.id, "address": t.address,
                             "onvif": {"username": t.onvif.username,
                                       "password_env": f"HIL_{t.id.replace('-', '_').upper()}"
                                                       "_PASSWORD"}}
                            for t in manifest.targets]}
        path = tmp_path / "site.yaml"
        path.write_text(yaml.safe_dump(site), encoding="utf-8")
        result, report = run_suite(tmp_path, "--hil-targets", str(path), "--hil-interface",
                                   fleet.manager_address, "--hil-discovery-port",
                                   str(fleet.discovery_port), "-n", "2", env=env)
    assert result.returncode == 0, tail(result)
    records = camera_records(report)
    assert {c: r["verdict"] for c, r in records.items()} == {"cam-0000": "accepted",
                                                             "cam-0001": "accepted"}
    for record in records.values():
        ran = outcomes(record)
        assert ran["test_DISCOVERY_1_1_2_hello"] == "passed"  # multicast across the bridge
        assert ran["test_PTZ_3_1_1_absolute_move"] == "passed"
        assert not record["address"].startswith("127.")
    assert json.loads((report / "run.json").read_text())["fleet"] is None
