"""Verdicts per camera and the records written for them (JSON, HTML)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from hil.report import OutcomeRecord, RunRecorder, verdict


def outcome(test: str, result: str, message: str = "") -> OutcomeRecord:
    return OutcomeRecord(test, f"t.py::{test}[cam]", outcome=result, message=message)


def test_a_failure_rejects_an_error_makes_not_testable_else_accepted() -> None:
    assert verdict([outcome("a", "passed"), outcome("b", "failed", "clock off")]) == (
        "rejected", ["b: clock off"])
    assert verdict([outcome("a", "passed"), outcome("b", "error", "unreachable"),
                    outcome("c", "skipped")]) == ("not testable", ["b: unreachable"])
    assert verdict([outcome("a", "skipped")]) == ("not testable",
                                                  ["no test ran on this camera"])
    assert verdict([outcome("a", "passed"), outcome("b", "xfailed", "known")]) == (
        "accepted", ["known defect: b: known"])


def report(when: str, result: str, *, camera: str = "cam<1>", nodeid: str = "t.py::test_a[x]",
           message: str = "", **extra: Any) -> SimpleNamespace:
    crash = SimpleNamespace(message=message)
    return SimpleNamespace(
        nodeid=nodeid, when=when, outcome=result, passed=result == "passed",
        failed=result == "failed", skipped=result == "skipped", duration=0.5,
        longrepr=SimpleNamespace(reprcrash=crash) if message else None, hil_camera=camera,
        hil_address="127.0.0.9", hil_identity={"model": "M<x>", "firmware": "1.0"}, **extra)


def test_phases_merge_into_one_outcome_per_test(tmp_path: Path) -> None:
    recorder = RunRecorder({"targets_file": "site.yaml", "targets_sha256": "ab"})
    recorder.add(report("setup", "passed"))
    recorder.add(report("call", "failed", message="AssertionError: clock off"))
    recorder.add(report("teardown", "passed"))
    recorder.add(report("setup", "failed", nodeid="t.py::test_b[x]@x", message="gone"))
    recorder.add(report("setup", "passed", nodeid="t.py::test_c[x]"))
    recorder.add(report("call", "failed", nodeid="t.py::test_c[x]", message="no route",
                        hil_error=True,
                        hil_measurements=[{"name": "m", "value": 1.0, "outcome": "pass"}]))
    written = recorder.write(tmp_path)
    assert {p.name for p in written} == {"cam_1_.json", "run.json", "acceptance.html"}
    record = json.loads((tmp_path / "cam_1_.json").read_text())
    tests = {t["test"]: t for t in record["tests"]}
    assert tests["test_a"]["outcome"] == "failed"
    assert tests["test_a"]["duration_s"] == 1.5
    assert (tests["test_b"]["outcome"], tests["test_b"]["phase"]) == ("error", "setup")
    assert tests["test_b"]["nodeid"] == "t.py::test_b[x]"  # xdist's @group suffix is dropped
    assert (tests["test_c"]["outcome"], tests["test_c"]["phase"]) == ("error", "call")
    assert tests["test_c"]["measurements"][0]["name"] == "m"
    assert record["verdict"] == "rejected"
    assert record["targets_sha256"] == "ab"
    run = json.loads((tmp_path / "run.json").read_text())
    assert run["cameras"]["cam<1>"]["verdict"] == "rejected"
    page = (tmp_path / "acceptance.html").read_text()
    assert "cam&lt;1&gt;" in page
    assert "M&lt;x&gt;" in page
    assert "<x>" not in page  # everything a camera says is escaped
    assert "cam<1>" not in page
    assert "REJECTED" in page
