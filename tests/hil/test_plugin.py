"""The plugin, driven with pytester against one simulated camera: measurements, markers, read-only,
outcomes by fault (FAIL vs ERROR), the latch, retries, and the reports that record them."""

from __future__ import annotations

import hashlib
import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from camfleet.targets import TargetsFile
from simulators.fleet.docker_image import IMAGE_ENV
from simulators.fleet.fleet import Fleet
from tests.conftest import free_udp_port

pytest_plugins = ["pytester"]
#: Inner runs: no cache, no asyncio plugin (the plugin is synchronous), no noise about modules
#: the outer run imported first.
QUIET = ("-p", "no:cacheprovider", "-p", "no:asyncio", "-W",
         "ignore::pytest.PytestAssertRewriteWarning")

HEADER = '''
import json
import urllib.request

import pytest

CONTROL = "{control}"


def add_fault(camera_id, fault):
    request = urllib.request.Request(f"{{CONTROL}}/cameras/{{camera_id}}/faults", method="POST",
                                     data=json.dumps(fault).encode(),
                                     headers={{"Content-Type": "application/json"}})
    urllib.request.urlopen(request, timeout=10).close()
'''


@pytest.fixture(scope="module")
def fleet() -> Iterator[Fleet]:
    """One PTZ dome (seed 0, camera 0), with the fleet's control API for faults mid-test."""
    with Fleet.generated(1, seed=0, discovery_port=free_udp_port()) as running:
        yield running


@pytest.fixture
def manifest(fleet: Fleet, tmp_path: Path) -> Iterator[tuple[Path, TargetsFile]]:
    targets = fleet.manifest()
    path = tmp_path / "targets.json"
    targets.save(path)
    yield path, targets
    fleet.clear_faults("cam-0000")


def write_tests(pytester: pytest.Pytester, fleet: Fleet, body: str) -> None:
    pytester.makepyfile(test_inner=HEADER.format(control=fleet.control.url) + body)


def run(pytester: pytest.Pytester, targets: Path, *args: str) -> tuple[pytest.RunResult,
                                                                       dict[str, Any]]:
    report = pytester.path / "report"
    result = pytester.runpytest(*QUIET, "--hil-targets", str(targets),
                                "--hil-report", str(report), "--junitxml",
                                str(report / "junit.xml"), *args)
    record = json.loads((report / "cam-0000.json").read_text()) \
        if (report / "cam-0000.json").exists() else {}
    return result, record


def outcomes_of(record: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["test"]: t for t in record["tests"]}


def junit_cases(pytester: pytest.Pytester, name: str = "junit.xml") -> dict[str, ET.Element]:
    """Test cases by function name: of pytest's ``--junitxml`` file, or another in the report
    directory (``acceptance-junit.xml``, hil's own)."""
    root = ET.parse(pytester.path / "report" / name).getroot()
    return {case.get("name", "").split("[")[0]: case for case in root.iter("testcase")}


def test_measurements_out_of_limits_fail_the_test_after_it_ran(
        pytester: pytest.Pytester, fleet: Fleet, manifest: tuple[Path, TargetsFile]) -> None:
    write_tests(pytester, fleet, '''
def test_inside(camera, measure):
    measure("settle", 0.5, unit="s", high=1.0)

def test_outside(camera, measure):
    measure("settle", 2.5, unit="s", high=1.0)
    measure("clock_offset", camera.clock_offset_s())
''')
    result, record = run(pytester, manifest[0])
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*cam-0000: settle = 2.5 s (limits -inf..1 s): FAIL*"])
    outside = outcomes_of(record)["test_outside"]
    assert outside["outcome"] == "failed"
    assert [(m["name"], m["outcome"]) for m in outside["measurements"]] == [
        ("settle", "fail"), ("clock_offset", "pass")]  # the test ran on after the first
    properties = {p.get("name"): p.get("value")
                  for p in junit_cases(pytester)["test_outside"].iter("property")}
    assert properties["hil_measure_settle"].endswith("FAIL")
    assert properties["hil_camera"] == "cam-0000"
    assert properties["hil_firmware"]
    ours = {p.get("name"): p.get("value")
            for p in junit_cases(pytester, "acceptance-junit.xml")["test_outside"].iter("property")}
    assert {k: v for k, v in ours.items() if k in properties} == properties

    result, _record = run(pytester, manifest[0], "--hil-limit", "settle=:3")
    result.assert_outcomes(passed=2)


def test_capabilities_decide_skips_and_name_camera_and_reason(
        pytester: pytest.Pytester, fleet: Fleet, manifest: tuple[Path, TargetsFile]) -> None:
    path, targets = manifest
    no_snmp = targets.model_copy(update={"targets": tuple(
        t.model_copy(update={"snmp": None}) for t in targets.targets)})
    no_snmp.save(path)
    write_tests(pytester, fleet, '''
@pytest.mark.hil_requires("ptz", "presets")
def test_dome(camera):
    assert "ptz" in camera.capabilities

@pytest.mark.hil_requires("snmp")
def test_snmp(camera):
    raise AssertionError("must not run")
''')
    result, record = run(pytester, path)
    result.assert_outcomes(passed=1, skipped=1)
    message = outcomes_of(record)["test_snmp"]["message"]
    assert message.startswith("cam-0000 (")
    assert "does not advertise snmp" in message

    pytester.makepyfile(test_inner='''
import pytest

@pytest.mark.hil_requires("ptzz")
def test_typo(camera):
    pass
''')
    result, _record = run(pytester, path)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*unknown capabilities ptzz*"])


def test_known_firmware_defects_are_strict_xfails(
        pytester: pytest.Pytester, fleet: Fleet, manifest: tuple[Path, TargetsFile]) -> None:
    write_tests(pytester, fleet, '''
@pytest.mark.hil_known_defect(firmware="*", reason="vendor case 1")
def test_known_and_present(camera):
    raise AssertionError("the defect")

@pytest.mark.hil_known_defect(firmware="*", reason="vendor case 2")
def test_known_but_fixed(camera):
    pass

@pytest.mark.hil_known_defect(firmware="*", reason="vendor case 3")
def test_known_drift(camera, measure):
    measure("drift", 2.0, high=1.0)

@pytest.mark.hil_known_defect(firmware="*", reason="not a camera defect")
def test_known_but_the_network_broke(camera):
    from hil.errors import CameraUnreachable
    raise CameraUnreachable("no route")

@pytest.mark.hil_known_defect(firmware="no-such-firmware", reason="other units")
def test_other_firmware(camera):
    raise AssertionError("a real failure here")

def test_from_expectations(camera):
    raise AssertionError("the defect the expectations file lists")
''')
    expect = pytester.path / "expect.yaml"
    expect.write_text("known_defects:\n  - {test: test_from_exp*, firmware: '*', "
                      "reason: listed}\n", encoding="utf-8")
    result, record = run(pytester, manifest[0], "--hil-expect", str(expect))
    result.assert_outcomes(xfailed=3, failed=2, errors=1)
    tests = outcomes_of(record)
    assert tests["test_known_drift"]["outcome"] == "xfailed"
    assert tests["test_known_but_the_network_broke"]["outcome"] == "error"
    assert tests["test_known_and_present"]["outcome"] == "xfailed"
    assert "vendor case 1" in tests["test_known_and_present"]["message"]
    assert tests["test_known_but_fixed"]["outcome"] == "failed"  # XPASS(strict)
    assert tests["test_other_firmware"]["outcome"] == "failed"
    assert tests["test_from_expectations"]["outcome"] == "xfailed"


def test_a_camera_that_goes_away_is_an_error_and_is_latched(
        pytester: pytest.Pytester, fleet: Fleet, manifest: tuple[Path, TargetsFile]) -> None:
    write_tests(pytester, fleet, '''
def test_1_answers(camera):
    camera.call("device", "GetDeviceInformation")

def test_2_goes_away(camera):
    add_fault(camera.id, {"kind": "removed"})
    camera.call("device", "GetDeviceInformation")

def test_3_afterwards(camera):
    raise AssertionError("must not run")
''')
    result, record = run(pytester, manifest[0])
    result.assert_outcomes(passed=1, errors=1, skipped=1)
    result.stdout.fnmatch_lines(["ERROR test_inner.py::test_2_goes_away*"])
    tests = outcomes_of(record)
    assert (tests["test_2_goes_away"]["outcome"], tests["test_2_goes_away"]["phase"]) == (
        "error", "call")
    assert "cam-0000" in tests["test_2_goes_away"]["message"]
    skipped = tests["test_3_afterwards"]["message"]
    assert "the camera stopped answering earlier (in " in skipped
    assert "test_2_goes_away" in skipped
    assert record["verdict"] == "not testable"
    case = junit_cases(pytester, "acceptance-junit.xml")["test_2_goes_away"]
    assert case.find("failure") is None
    error = case.find("error")
    assert error is not None
    assert error.get("message", "").startswith("infrastructure error during the test")
    # pytest's own file is as pytest makes it: a call that raised is a <failure> there.
    assert junit_cases(pytester)["test_2_goes_away"].find("failure") is not None


def test_a_wrong_answer_to_a_fixture_fails_the_camera_and_the_rig_s_own_error_does_not(
        pytester: pytest.Pytester, fleet: Fleet, manifest: tuple[Path, TargetsFile]) -> None:
    fleet.set_faults("cam-0000", [
        {"kind": "soap_fault", "ops": ["GetProfiles"], "reason": "profiles unavailable"},
        {"kind": "malformed_xml", "ops": ["GetScopes"]}])
    write_tests(pytester, fleet, '''
@pytest.fixture
def profiles(camera):
    return camera.must_call("media", "GetProfiles")

@pytest.fixture
def scopes(camera):
    return camera.must_call("device", "GetScopes")

@pytest.fixture
def rig():
    raise RuntimeError("the rig's power supply is off")

def test_profiles(camera, profiles):
    pass

def test_scopes(camera, scopes):
    pass

def test_rig(camera, rig):
    pass
''')
    result, record = run(pytester, manifest[0])
    result.assert_outcomes(failed=2, errors=1)
    tests = outcomes_of(record)
    for name in ("test_profiles", "test_scopes"):
        assert (tests[name]["outcome"], tests[name]["phase"]) == ("failed", "setup"), name
        assert "cam-0000" in tests[name]["message"]
    assert "profiles unavailable" in tests["test_profiles"]["message"]
    assert (tests["test_rig"]["outcome"], tests["test_rig"]["phase"]) == ("error", "setup")
    assert record["verdict"] == "rejected"
    cases = junit_cases(pytester, "acceptance-junit.xml")
    assert cases["test_profiles"].find("failure") is not None
    assert cases["test_scopes"].find("failure") is not None
    assert cases["test_rig"].find("error") is not None


def test_the_acceptance_junit_file_tells_errors_from_failures_and_skips(
        pytester: pytest.Pytester, fleet: Fleet, manifest: tuple[Path, TargetsFile]) -> None:
    write_tests(pytester, fleet, r'''
@pytest.fixture
def broken_rig():
    raise RuntimeError("the rig's power supply is off")

def test_passes(camera, measure):
    measure("settle", 0.5, unit="s", high=1.0)

def test_fails(camera):
    raise AssertionError('camera said <b>"x" & y</b>\x00\x1b[31m\ud800 end')

def test_skips(camera):
    pytest.skip("no <lens> here")

@pytest.mark.hil_known_defect(firmware="*", reason="vendor case 7")
def test_known(camera):
    raise AssertionError("the defect")

def test_network_broke(camera):
    from hil.errors import CameraUnreachable
    raise CameraUnreachable("no route\x07")

def test_rig_broke(camera, broken_rig):
    pass
''')
    junit = pytester.path / "ci" / "acceptance.xml"
    result = pytester.runpytest(*QUIET, "--hil-targets", str(manifest[0]), "--hil-junit",
                                str(junit))
    result.assert_outcomes(passed=1, failed=1, skipped=1, xfailed=1, errors=2)
    result.stdout.fnmatch_lines([f"acceptance JUnit: {junit}"])
    data = junit.read_bytes()
    assert not {b"\x00", b"\x07", b"\x1b"} & {bytes([c]) for c in data}
    root = ET.fromstring(data)  # well-formed
    assert {k: root.get(k) for k in ("tests", "failures", "errors", "skipped")} == {
        "tests": "6", "failures": "1", "errors": "2", "skipped": "2"}
    suite = root.find("testsuite")
    assert suite is not None
    assert suite.get("name") == "cam-0000"
    suite_properties = [(p.get("name"), p.get("value"))
                        for p in suite.findall("properties/property")]
    assert ("hil_verdict", "rejected") in suite_properties
    assert ("hil_targets_sha256", hashlib.sha256(manifest[0].read_bytes()).hexdigest()) in \
        suite_properties
    assert dict(suite_properties)["hil_firmware"]
    reasons = [v for n, v in suite_properties if n == "hil_verdict_reason"]
    assert len(reasons) == 3
    assert any(r.startswith("test_fails") for r in reasons)
    cases = {case.get("name", "").split("[")[0]: case for case in suite.iter("testcase")}
    outcome_of = {name: [child.tag for child in case if child.tag != "properties"]
                  for name, case in cases.items()}
    assert outcome_of == {"test_passes": [], "test_fails": ["failure"], "test_skips": ["skipped"],
                          "test_known": ["skipped"], "test_network_broke": ["error"],
                          "test_rig_broke": ["error"]}
    failure = cases["test_fails"].find("failure")
    assert failure is not None
    assert failure.get("message", "").startswith('AssertionError: camera said <b>"x" & y</b>')
    assert failure.get("message", "").endswith("\ufffd\ufffd[31m\ufffd end")  # NUL, ESC, \ud800
    known = cases["test_known"].find("skipped")
    assert known is not None
    assert (known.get("type"), "vendor case 7" in known.get("message", "")) == (
        "pytest.xfail", True)
    errors = {name: error.get("message", "") for name in ("test_network_broke", "test_rig_broke")
              if (error := cases[name].find("error")) is not None}
    assert errors["test_network_broke"].startswith("infrastructure error during the test: ")
    assert errors["test_rig_broke"].startswith("error before the test (setup): RuntimeError")
    properties = {p.get("name"): p.get("value") for p in cases["test_passes"].iter("property")}
    assert properties["hil_camera"] == "cam-0000"
    assert properties["hil_measure_settle"].endswith("PASS")


def test_a_slow_read_is_retried_recorded_and_not_a_failure(
        pytester: pytest.Pytester, fleet: Fleet, manifest: tuple[Path, TargetsFile]) -> None:
    write_tests(pytester, fleet, '''
def test_1_slow(camera):
    add_fault(camera.id, {"kind": "latency", "ms": 1500, "ops": ["GetHostname"]})
    camera.call("device", "GetHostname")

def test_2_still_there(camera):
    camera.call("device", "GetDeviceInformation")
''')
    result, record = run(pytester, manifest[0], "--hil-timeout", "0.5", "--hil-retries", "1")
    result.assert_outcomes(errors=1, passed=1)  # the camera answers: no latch
    slow = outcomes_of(record)["test_1_slow"]
    assert slow["outcome"] == "error"
    assert [(r["operation"], r["kind"], r["attempt"]) for r in slow["retries"]] == [
        ("GetHostname", "timeout", 1)]


def test_read_only_runs_skip_what_changes_a_camera(
        pytester: pytest.Pytester, manifest: tuple[Path, TargetsFile]) -> None:
    result, record = run(pytester, manifest[0], "--pyargs", "hil.suite", "--hil-read-only",
                         "-k", "PTZ_4_1_4 or PTZ_4_1_6 or DISCOVERY_1_1_9 or PTZ_1_1_1")
    result.assert_outcomes(passed=1, skipped=3)
    skipped = [t for t in record["tests"] if t["outcome"] == "skipped"]
    assert all("read-only run" in t["message"] for t in skipped)


def test_read_only_touches_no_account_lockout_no_reboot_and_moves_only_if_allowed(
        pytester: pytest.Pytester, manifest: tuple[Path, TargetsFile]) -> None:
    """Under --hil-read-only: refused logins only with --hil-negative-auth and within the
    lockout-safe count; no reboot; head moves (put back) unless --hil-no-move."""
    selection = ("SECURITY_1_1_1 or CAMFLEET_wrong_password or DISCOVERY_1_1_8 or "
                 "PTZ_3_1_1 or CAMFLEET_view")
    _result, record = run(pytester, manifest[0], "--pyargs", "hil.suite", "--hil-read-only",
                          "-k", selection)
    tests = outcomes_of(record)
    for name in ("test_SECURITY_1_1_1_username_token", "test_CAMFLEET_wrong_password_refused"):
        assert tests[name]["outcome"] == "skipped"
        assert "can lock the account out; --hil-negative-auth runs it" in tests[name]["message"]
    assert "reboots the camera" in tests["test_DISCOVERY_1_1_8_bye"]["message"]
    assert tests["test_PTZ_3_1_1_absolute_move"]["outcome"] == "passed"

    _result, record = run(pytester, manifest[0], "--pyargs", "hil.suite", "--hil-read-only",
                          "--hil-negative-auth", "-k", selection)
    tests = outcomes_of(record)
    assert tests["test_SECURITY_1_1_1_username_token"]["outcome"] == "passed"  # 3 refusals
    wrong = tests["test_CAMFLEET_wrong_password_refused"]
    assert wrong["outcome"] == "skipped"
    assert "3 of the 3 allowed (--hil-auth-failures) are spent" in wrong["message"]

    _result, record = run(pytester, manifest[0], "--pyargs", "hil.suite", "--hil-no-move",
                          "-k", "PTZ_3_1_1 or CAMFLEET_view or CAMFLEET_wrong_password")
    tests = outcomes_of(record)
    for name in ("test_PTZ_3_1_1_absolute_move", "test_CAMFLEET_view_matches_baseline"):
        assert tests[name]["outcome"] == "skipped"
        assert "--hil-no-move: this test moves the PTZ head" in tests[name]["message"]
    assert tests["test_CAMFLEET_wrong_password_refused"]["outcome"] == "passed"  # no limit


def test_a_fleet_that_does_not_start_makes_errors_not_passes(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    # No daemon, or a daemon without this image: either way the docker fleet cannot start.
    monkeypatch.setenv(IMAGE_ENV, "camfleet-sim:never-built")
    result = pytester.runpytest(*QUIET, "--pyargs", "hil.suite", "--hil-fleet", "sim:2@docker",
                                "-k", "DEVICE_3_1_9 or DEVICE_4_1_1", "-rs")
    result.assert_outcomes(errors=2, skipped=2)  # per camera: the error, then the latch
    result.stdout.fnmatch_lines(["*FleetNotStarted: fleet sim:2 (seed 0) on the docker backend "
                                 "not started*"])


def test_without_cameras_the_suite_skips_and_says_how(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest(*QUIET, "--pyargs", "hil.suite", "-k",
                                "DEVICE_3_1_9", "-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*no cameras to test: pass --hil-targets FILE or "
                                 "--hil-fleet sim:N*"])


def test_options_that_cannot_work_are_usage_errors(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--hil-fleet", "sim:1", "--hil-targets", "site.yaml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*exclude each other*"])
    result = pytester.runpytest("--hil-targets", "missing.yaml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*missing.yaml: cannot read targets file*"])
