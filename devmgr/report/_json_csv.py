"""The machine-readable reports: JSON (the whole record) and CSV (one row per finding).

**JSON** is :class:`~devmgr.compliance.model.AuditReport` as pydantic dumps it, so
``AuditReport.model_validate_json`` reads it back unchanged: the archive copy (Art. 11) and the
input of any later tool.

**CSV** is for the field engineer's spreadsheet: one row per finding, and one row for each
camera that has no finding at all (``rule``, ``article``, ``severity`` and ``message`` empty),
so the sheet lists every camera of the audit and filtering ``severity`` non-empty leaves the
to-do list. Columns::

    camera, status, name, address, filed_address, serial, rule, article, severity, message,
    evidence

``evidence`` is compact JSON with sorted keys. Rows follow the report's camera order, most
urgent finding first within a camera. Choices made for spreadsheets:

* UTF-8 with a byte-order mark, or Excel shows Chinese names as mojibake;
* text cells from devices or filings (name, addresses, serial, message) that start with
  ``=``, ``+``, ``-``, ``@``, tab or CR get a leading ``'`` so a spreadsheet shows them as text
  instead of running them as a formula (CSV injection); the camera key and evidence are ours
  and left alone.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from camfleet.files import write_atomic
from devmgr.compliance.model import AuditReport, CameraAudit, Finding
from devmgr.report._text import compact_json, sorted_findings

__all__ = ["CSV_COLUMNS", "write_csv", "write_json"]

CSV_COLUMNS = ("camera", "status", "name", "address", "filed_address", "serial", "rule",
               "article", "severity", "message", "evidence")

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def write_json(report: AuditReport, path: str | Path) -> Path:
    """Write the report as JSON (indented, UTF-8) to ``path``, atomically."""
    return write_atomic(path, (report.model_dump_json(indent=2) + "\n").encode())


def write_csv(report: AuditReport, path: str | Path) -> Path:
    """Write one row per finding, plus one per camera without findings, to ``path``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")  # RFC 4180, what spreadsheets expect
    writer.writerow(CSV_COLUMNS)
    for camera in report.cameras:
        findings = sorted_findings(camera.findings)
        if not findings:
            writer.writerow(_row(camera, None))
        for finding in findings:
            writer.writerow(_row(camera, finding))
    return write_atomic(path, buffer.getvalue().encode("utf-8-sig"))


def _row(camera: CameraAudit, finding: Finding | None) -> list[str]:
    identity = [camera.camera, camera.status, _text_cell(camera.name),
                _text_cell(camera.address), _text_cell(camera.filed_address),
                _text_cell(camera.serial)]
    if finding is None:
        return [*identity, "", "", "", "", ""]
    return [*identity, finding.rule, finding.article, finding.severity.value,
            _text_cell(finding.message), compact_json(finding.evidence)]


def _text_cell(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_START) else text
