"""The JUnit report as a CI server reads it: suites per article, failures per (camera, rule)."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from devmgr.compliance.model import Severity
from devmgr.report import write_junit

from .factory import COMPLIANT, MOVED, SILENT, TURNED, UNFILED, Sample


@pytest.fixture(scope="module")
def root(written: dict[str, Path]) -> etree._Element:
    return etree.parse(str(written["junit"])).getroot()


def _case(root: etree._Element, camera: str, rule: str) -> etree._Element:
    (case,) = root.xpath("//testcase[@classname=$c and @name=$r]", c=camera, r=rule)
    return case


def test_failures_are_camera_rule_pairs_with_findings_to_act_on(root: etree._Element,
                                                                sample: Sample) -> None:
    expected = {(f.camera, f.rule) for f in sample.report.findings
                if f.severity is not Severity.INFO}
    failed = {(c.get("classname"), c.get("name")) for c in root.iter("testcase")
              if c.find("failure") is not None}
    assert failed == expected
    assert len(expected) == 9  # two view-turned findings on one camera are one testcase
    assert root.get("failures") == "9"
    assert sum(int(s.get("failures")) for s in root.iter("testsuite")) == 9
    assert int(root.get("tests")) == len(list(root.iter("testcase")))


def test_moved_camera_fails_with_the_findings_message_and_evidence(root: etree._Element) -> None:
    failure = _case(root, MOVED, "moved").find("failure")
    assert failure.get("message") == "observed 300 m from the filed position, no move filing"
    assert failure.get("type") == "critical"
    assert "distance_m: 300.2" in failure.text
    assert failure.getparent().getparent().get("name") == "Art. 10"


def test_findings_of_one_rule_share_a_testcase(root: etree._Element) -> None:
    message = _case(root, TURNED, "view-turned").find("failure").get("message")
    assert message == "preset 1 view turned 3.2° right; preset 2 view turned 2.9° right"


def test_info_passes_and_says_why(root: etree._Element) -> None:
    case = _case(root, SILENT, "not-answering")
    assert case.find("failure") is None
    assert case.findtext("system-out") == "info: did not answer (1 audit in a row)\n"


def test_a_camera_without_findings_still_shows_up(root: etree._Element) -> None:
    case = _case(root, COMPLIANT, "no-findings")
    assert case.getparent().get("name") == "audit"
    assert "status: compliant" in case.findtext("system-out")


def test_suites_are_articles_in_regulation_order_with_the_runs_properties(
        root: etree._Element) -> None:
    names = [s.get("name") for s in root.iter("testsuite")]
    assert names == ["Art. 7", "Art. 9", "Art. 10", "Art. 12", "Art. 16(5)", "Art. 17",
                     "Art. 18", "audit"]
    props = {p.get("name"): p.get("value") for p in root.find("testsuite").iter("property")}
    assert props["sweep_id"] == "42"
    assert props["started_at"] == "2025-03-01T09:00:00+00:00"
    assert props["registry"] == "sqlite:///var/lib/camfleet/registry.sqlite"
    assert props["targets_digest"].startswith("sha256:")
    assert props["settings.position_tolerance_m"] == "25.0"


def test_untrusted_text_cannot_break_the_xml(sample: Sample, tmp_path: Path) -> None:
    # A device name with control characters (lxml refuses them) and a password in the URL.
    cams = tuple(c.model_copy(update={"name": "cam\x00\x1b[31m"}) if c.camera == UNFILED
                 else c for c in sample.report.cameras)
    report = sample.report.model_copy(update={
        "cameras": cams, "registry": "postgresql+psycopg://audit:s3cret@db/camfleet"})
    root = etree.parse(str(write_junit(report, tmp_path / "j.xml"))).getroot()
    text = _case(root, UNFILED, "unfiled").find("failure").text
    assert text.startswith("camera: cam\ufffd\ufffd[31m")
    registry = root.xpath("string(//property[@name='registry']/@value)")
    assert "s3cret" not in registry
