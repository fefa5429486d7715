"""JSON is the record (it must read back unchanged); CSV is what goes into a spreadsheet."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from devmgr.compliance.model import AuditReport
from devmgr.report import CSV_COLUMNS, write_csv

from .factory import COMPLIANT, MOVED, REMOVED, TURNED, UNFILED, Sample


def test_json_round_trips(written: dict[str, Path], sample: Sample) -> None:
    text = written["json"].read_text(encoding="utf-8")
    assert AuditReport.model_validate_json(text) == sample.report
    assert json.loads(text)["sweep_id"] == 42


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def test_csv_has_a_row_per_finding_and_per_clean_camera(written: dict[str, Path],
                                                        sample: Sample) -> None:
    rows = _rows(written["csv"])
    assert list(rows[0]) == list(CSV_COLUMNS)
    clean = [c for c in sample.report.cameras if not c.findings]
    assert len(rows) == len(sample.report.findings) + len(clean)
    (compliant,) = [r for r in rows if r["camera"] == COMPLIANT]
    assert (compliant["status"], compliant["rule"], compliant["severity"]) == ("compliant", "", "")


def test_csv_rows_carry_article_severity_and_evidence(written: dict[str, Path]) -> None:
    rows = _rows(written["csv"])
    by_key = {(r["camera"], r["rule"]): r for r in rows}
    moved = by_key[(MOVED, "moved")]
    assert (moved["article"], moved["severity"]) == ("Art. 10", "critical")
    assert json.loads(moved["evidence"]) == {"distance_m": 300.2, "source": "GeoLocation"}
    assert by_key[(REMOVED, "removed")]["address"] == ""
    assert by_key[(TURNED, "retention")]["article"] == "Art. 16(5)"
    # Most urgent first within a camera.
    turned = [r["severity"] for r in rows if r["camera"] == TURNED]
    assert turned == ["major", "major", "minor", "minor"]


def test_csv_opens_in_excel_and_runs_no_formula(written: dict[str, Path]) -> None:
    assert written["csv"].read_bytes().startswith(b"\xef\xbb\xbf")  # BOM: Chinese names legible
    (unfiled,) = [r for r in _rows(written["csv"]) if r["camera"] == UNFILED]
    assert unfiled["serial"] == "'=HYPERLINK(\"http://evil\")"
    assert unfiled["name"] == "<script>alert(1)</script>"  # CSV is data: kept as is


def test_csv_of_an_empty_audit_is_just_the_header(sample: Sample, tmp_path: Path) -> None:
    empty = sample.report.model_copy(update={"cameras": ()})
    path = write_csv(empty, tmp_path / "audit.csv")
    assert _rows(path) == []
    assert path.read_text(encoding="utf-8-sig").startswith("camera,status,")
