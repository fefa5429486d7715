"""The acceptance JUnit file, from the records alone: errors vs failures vs skips per camera,
and everything a camera said escaped or removed so the file always parses."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from types import SimpleNamespace
from typing import Any

from hil.junit import junit_names, render_junit
from hil.report import RunRecorder

RUN = {"targets_file": "site.yaml", "targets_sha256": "ab12", "read_only": True,
       "fleet": {"spec": "sim:2 (seed 0) on the loopback backend"},
       "started_at": "2026-01-02T03:04:05+00:00"}


def report(nodeid: str, when: str, outcome: str, *, camera: str = "cam-1", message: str = "",
           **extra: Any) -> SimpleNamespace:
    crash = SimpleNamespace(message=message)
    return SimpleNamespace(
        nodeid=nodeid, when=when, outcome=outcome, passed=outcome == "passed",
        failed=outcome == "failed", skipped=outcome == "skipped", duration=0.25,
        longrepr=SimpleNamespace(reprcrash=crash) if message else None, hil_camera=camera,
        hil_address="127.0.0.9", user_properties=[("hil_camera", camera)],
        hil_identity={"model": 'M<x>&"y"\x00', "firmware": "1.0\x1b[0m\ud800"}, **extra)


def recorded() -> RunRecorder:
    recorder = RunRecorder(RUN)
    for name, when, outcome, message, extra in [
        ("test_pass", "call", "passed", "", {}),
        ("test_fail", "call", "failed", "AssertionError: off by 3\x07 <deg>\nsecond line", {}),
        ("test_infra", "call", "failed", "CameraUnreachable: no route", {"hil_error": True}),
        ("test_setup", "setup", "failed", "RuntimeError: rig", {}),
        ("test_skip", "setup", "skipped", "no ptz", {}),
        ("test_known", "call", "skipped", "", {"wasxfail": "reason: vendor case 4711"}),
    ]:
        nodeid = f"hil/suite/test_a.py::Test::{name}[cam-1]"
        recorder.add(report(nodeid, when, outcome, message=message, **extra))
    recorder.add(report("hil/suite/test_a.py::test_pass[cam-2]", "call", "passed",
                        camera="cam-2"))
    return recorder


def suites(data: bytes) -> dict[str, ET.Element]:
    root = ET.fromstring(data)
    assert root.tag == "testsuites"
    return {s.get("name", ""): s for s in root.iter("testsuite")}


def test_each_outcome_has_its_element_and_counts() -> None:
    recorder = recorded()
    data = render_junit(recorder.finished_run(), recorder.sorted_cameras())
    root = ET.fromstring(data)
    assert {k: root.get(k) for k in ("tests", "failures", "errors", "skipped")} == {
        "tests": "7", "failures": "1", "errors": "2", "skipped": "2"}
    cam1 = suites(data)["cam-1"]
    assert {k: cam1.get(k) for k in ("tests", "failures", "errors", "skipped")} == {
        "tests": "6", "failures": "1", "errors": "2", "skipped": "2"}
    cases = {c.get("name"): c for c in cam1.iter("testcase")}
    assert {n: [e.tag for e in c if e.tag != "properties"] for n, c in cases.items()} == {
        "test_pass[cam-1]": [], "test_fail[cam-1]": ["failure"], "test_infra[cam-1]": ["error"],
        "test_setup[cam-1]": ["error"], "test_skip[cam-1]": ["skipped"],
        "test_known[cam-1]": ["skipped"]}
    assert {c.get("classname") for c in cases.values()} == {"hil.suite.test_a.Test"}
    infra, setup = cases["test_infra[cam-1]"].find("error"), cases["test_setup[cam-1]"].find(
        "error")
    assert infra is not None
    assert setup is not None
    assert infra.get("message") == ("infrastructure error during the test: CameraUnreachable: "
                                    "no route")
    assert setup.get("message") == "error before the test (setup): RuntimeError: rig"
    known = cases["test_known[cam-1]"].find("skipped")
    assert known is not None
    assert (known.get("type"), known.get("message")) == ("pytest.xfail", "vendor case 4711")
    failure = cases["test_fail[cam-1]"].find("failure")
    assert failure is not None
    assert failure.get("message") == "AssertionError: off by 3\ufffd <deg>"  # line 1, no BEL
    assert failure.text == "AssertionError: off by 3\ufffd <deg>\nsecond line"


def test_suites_carry_the_run_the_camera_and_its_verdict() -> None:
    recorder = recorded()
    found = suites(render_junit(recorder.finished_run(), recorder.sorted_cameras()))
    assert list(found) == ["cam-1", "cam-2"]
    properties = [(p.get("name"), p.get("value"))
                  for p in found["cam-1"].findall("properties/property")]
    named = dict(properties)
    assert (named["hil_targets_file"], named["hil_targets_sha256"]) == ("site.yaml", "ab12")
    assert named["hil_fleet"] == "sim:2 (seed 0) on the loopback backend"
    assert (named["hil_read_only"], named["hil_address"]) == ("true", "127.0.0.9")
    assert named["hil_verdict"] == "rejected"
    assert [v for n, v in properties if n == "hil_verdict_reason"] == [
        "test_fail: AssertionError: off by 3\ufffd <deg>\nsecond line",
        "test_infra: CameraUnreachable: no route", "test_setup: RuntimeError: rig"]
    assert dict((p.get("name"), p.get("value"))
                for p in found["cam-2"].findall("properties/property"))["hil_verdict"] == \
        "accepted"
    case = next(found["cam-2"].iter("testcase"))
    assert [(p.get("name"), p.get("value")) for p in case.iter("property")] == [
        ("hil_camera", "cam-2")]


def test_what_a_camera_says_is_escaped_and_what_xml_cannot_carry_replaced() -> None:
    recorder = recorded()
    data = render_junit(recorder.finished_run(), recorder.sorted_cameras())
    assert b"M&lt;x&gt;&amp;&quot;y&quot;" in data
    assert not {0x00, 0x07, 0x1b} & set(data)
    data.decode("utf-8")  # the lone surrogate is gone too: the file is valid UTF-8
    named = {p.get("name"): p.get("value")
             for p in suites(data)["cam-1"].findall("properties/property")}
    assert (named["hil_model"], named["hil_firmware"]) == ('M<x>&"y"\ufffd', "1.0\ufffd[0m\ufffd")


def test_names_follow_pytest() -> None:
    assert junit_names("hil/suite/test_ptz.py::test_x[cam-0001]") == (
        "hil.suite.test_ptz", "test_x[cam-0001]")
    assert junit_names("t.py::C::test_y[a::b/c.py]") == ("t.C", "test_y[a::b/c.py]")


def test_a_run_without_cameras_is_an_empty_file_that_parses() -> None:
    data = render_junit({}, [])
    assert ET.fromstring(data).get("tests") == "0"
