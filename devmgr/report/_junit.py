"""The audit as JUnit XML, so a CI server shows it like any test run.

One ``<testsuite>`` per article (``Art. 7``, ``Art. 10`` ...), one ``<testcase>`` per
(camera, rule): ``classname`` is the camera key, ``name`` the rule. A critical, major or minor
finding is a ``<failure>`` whose ``message`` is the finding's message (several findings of one
rule on one camera, e.g. two presets turned, are joined with "; ") and whose text is the
evidence, one ``key: value`` line each. Info findings do not fail: their testcase passes and
says what was noticed in ``<system-out>``. Every suite carries the run's properties (sweep id,
start and end, operator, registry, targets digest, tolerances).

The report records findings, not the rules that found nothing, so passing testcases cannot be
one per rule checked without claiming checks that never ran (an unfiled camera has no baseline
to compare its view with). Instead a camera without findings gets one passing ``no-findings``
testcase in the ``audit`` suite, which says its status in ``<system-out>``: every camera shows
up in CI, and the failure count is exactly the (camera, rule) pairs to act on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from camfleet.files import write_atomic
from devmgr.compliance.model import AuditReport, CameraAudit, Finding, Severity, article_key
from devmgr.registry import mask_url
from devmgr.report._text import camera_label, format_value, sorted_findings, xml_safe

__all__ = ["write_junit"]

_AUDIT_SUITE = "audit"
_NO_FINDINGS = "no-findings"


@dataclass
class _Case:
    camera: CameraAudit
    rule: str
    findings: list[Finding] = field(default_factory=list)
    #: Said in ``<system-out>`` when there is no finding to speak for the testcase.
    note: str = ""

    @property
    def failing(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is not Severity.INFO]


def write_junit(report: AuditReport, path: str | Path) -> Path:
    """Write the audit as JUnit XML to ``path``, atomically."""
    root = _render(report)
    data = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return write_atomic(path, data)


def _render(report: AuditReport) -> etree._Element:
    suites = _cases_by_suite(report)
    root = etree.Element("testsuites", name="camfleet compliance audit")
    totals = [0, 0]
    for suite_name in sorted(suites, key=_suite_order):
        cases = suites[suite_name]
        suite = etree.SubElement(root, "testsuite", name=suite_name)
        failures = sum(1 for case in cases if case.failing)
        suite.set("tests", str(len(cases)))
        suite.set("failures", str(failures))
        suite.set("errors", "0")
        suite.set("skipped", "0")
        suite.set("timestamp", report.started_at.isoformat())
        _properties(suite, report)
        for case in cases:
            _testcase(suite, case)
        totals[0] += len(cases)
        totals[1] += failures
    root.set("tests", str(totals[0]))
    root.set("failures", str(totals[1]))
    root.set("errors", "0")
    root.set("time", f"{(report.finished_at - report.started_at).total_seconds():.3f}")
    return root


def _cases_by_suite(report: AuditReport) -> dict[str, list[_Case]]:
    suites: dict[str, list[_Case]] = {}
    for camera in report.cameras:
        cases: dict[tuple[str, str], _Case] = {}
        for finding in sorted_findings(camera.findings):
            key = (finding.article, finding.rule)
            cases.setdefault(key, _Case(camera, finding.rule)).findings.append(finding)
        if not cases:
            cases[(_AUDIT_SUITE, _NO_FINDINGS)] = _Case(camera, _NO_FINDINGS,
                                                        note=f"status: {camera.status}")
        for (article, _rule), case in sorted(cases.items(), key=lambda kv: kv[0][1]):
            suites.setdefault(article, []).append(case)
    return suites


def _suite_order(name: str) -> tuple[int, tuple[int, ...], str]:
    return (1, (), name) if name == _AUDIT_SUITE else (0, article_key(name), name)


def _properties(suite: etree._Element, report: AuditReport) -> None:
    values = {
        "sweep_id": "" if report.sweep_id is None else str(report.sweep_id),
        "started_at": report.started_at.isoformat(),
        "finished_at": report.finished_at.isoformat(),
        "operator": report.operator,
        "registry": mask_url(report.registry),
        "targets_digest": report.targets_digest,
        **{f"settings.{k}": str(v) for k, v in report.settings.model_dump().items()},
    }
    properties = etree.SubElement(suite, "properties")
    for name, value in values.items():
        etree.SubElement(properties, "property", name=name, value=xml_safe(value))


def _testcase(suite: etree._Element, case: _Case) -> None:
    element = etree.SubElement(suite, "testcase", classname=xml_safe(case.camera.camera),
                               name=xml_safe(case.rule))
    failing = case.failing
    if failing:
        failure = etree.SubElement(element, "failure",
                                   message=xml_safe("; ".join(f.message for f in failing)),
                                   type=failing[0].severity.value)
        failure.text = xml_safe(_failure_text(case.camera, failing))
    notes = [f for f in case.findings if f.severity is Severity.INFO]
    lines = [f"info: {f.message}" for f in notes] or ([case.note] if case.note else [])
    if lines:
        etree.SubElement(element, "system-out").text = xml_safe("\n".join(lines) + "\n")


def _failure_text(camera: CameraAudit, findings: list[Finding]) -> str:
    where = camera.address or "not answering"
    lines = [f"camera: {camera_label(camera)} ({where}), status {camera.status}"]
    for finding in findings:
        lines.append(f"[{finding.severity.value}] {finding.article} {finding.rule}: "
                     f"{finding.message}")
        lines += [f"  {key}: {format_value(value)}"
                  for key, value in sorted(finding.evidence.items())]
    return "\n".join(lines) + "\n"
