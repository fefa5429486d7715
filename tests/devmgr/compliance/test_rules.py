"""The Art. 10 judgement and the miss count, rule by rule, on hand-made facts (no network).

The scenario test shows each rule firing on a real fleet; these pin down the parts a fleet
cannot easily stage: filed moves and removals, Art. 6 replacement plans, the 30-day notice.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from devmgr.compliance.baseline import Baseline
from devmgr.compliance.facts import CameraFacts
from devmgr.compliance.model import AuditSettings, Severity
from devmgr.compliance.rules import RULE_NAMES, evaluate
from devmgr.filings import FilingRecord
from devmgr.inventory.model import DeviceInfo, Inventory
from devmgr.model import GeoPosition

TODAY = date(2026, 11, 29)
HERE = GeoPosition(latitude=30.5928, longitude=114.3055, elevation=25.0)
THERE = GeoPosition(latitude=30.5958, longitude=114.3055, elevation=25.0)  # ~330 m north


def inventory(position: GeoPosition | None, serial: str = "SN-1",
              address: str = "10.0.0.5") -> Inventory:
    return Inventory(target_id="gate", address=address, collected_at=datetime.now(UTC),
                     device=DeviceInfo(manufacturer="Hikvision", model="DS-2DE4425IW",
                                       firmware="V5.7.3", serial=serial),
                     mac="00:40:8c:00:00:01", geolocation=position, clock_offset_s=0.2)


def filing(site: str = "not-listed", moves: tuple[dict[str, Any], ...] = ()) -> FilingRecord:
    return FilingRecord.model_validate({
        "device_id": "42010600001320000001", "name": "Gate", "manufacturer": "Hikvision",
        "model": "DS-2DE4425IW", "position": HERE.model_dump(), "serial": "SN-1",
        "site_category": site, "acceptance_date": TODAY - timedelta(days=400),
        "filing_date": TODAY - timedelta(days=390), "move_filings": list(moves)})


def facts(record: FilingRecord, today: Inventory | None, *, misses: int = 0) -> CameraFacts:
    baseline = Baseline(camera=record.device_id, target_id="gate",
                        taken_at=datetime.now(UTC), inventory=inventory(HERE))
    return CameraFacts(camera=record.device_id, today=TODAY, settings=AuditSettings(),
                       filing=record, baseline=baseline, inventory=today,
                       previous_misses=misses)


def only(findings: list[Any]) -> Any:
    assert len(findings) == 1, findings
    return findings[0]


@pytest.mark.parametrize(("site", "moves", "severity", "words"), [
    ("not-listed", (), Severity.MAJOR, "no move or removal filing"),
    ("not-listed", ({"kind": "move", "filed_on": TODAY - timedelta(days=31),
                     "planned_on": TODAY},), Severity.INFO, "move as filed"),
    ("not-listed", ({"kind": "move", "filed_on": TODAY - timedelta(days=10),
                     "planned_on": TODAY},), Severity.MAJOR, "30 are required"),
    ("art6:4", ({"kind": "move", "filed_on": TODAY - timedelta(days=60),
                 "planned_on": TODAY},), Severity.CRITICAL, "replacement plan"),
    ("art6:4", ({"kind": "move", "filed_on": TODAY - timedelta(days=2), "planned_on": TODAY,
                 "replacement_plan": "new pole at the north gate"},), Severity.INFO,
     "with a replacement plan"),
])
def test_a_move_is_judged_against_its_filings(site: str, moves: tuple[dict[str, Any], ...],
                                              severity: Severity, words: str) -> None:
    found = only(evaluate(facts(filing(site, moves), inventory(THERE))))
    assert (found.rule, found.article, found.severity) == ("moved", "Art. 10", severity)
    assert words in found.message
    assert 300 < found.evidence["distance_m"] < 360


def test_silence_is_not_answering_until_the_nth_audit_then_removed() -> None:
    record = filing(moves=({"kind": "removal", "filed_on": TODAY - timedelta(days=45),
                            "planned_on": TODAY - timedelta(days=5)},))
    first = only(evaluate(facts(record, None, misses=0)))
    assert (first.rule, first.severity, first.evidence["missed_audits"]) == (
        "not-answering", Severity.MINOR, 1)
    third = only(evaluate(facts(record, None, misses=2)))
    assert (third.rule, third.severity) == ("removed", Severity.INFO)  # filed 45 days ahead
    assert "removal as filed" in third.message


def test_another_serial_in_its_place_is_a_replacement_not_a_move() -> None:
    found = only(evaluate(facts(filing("art6:1"), inventory(HERE, serial="SN-2"))))
    assert (found.rule, found.severity) == ("replaced", Severity.CRITICAL)
    assert found.evidence["serial"] == ["SN-1", "SN-2"]


def test_the_same_unit_on_a_new_address_is_only_worth_knowing() -> None:
    found = only(evaluate(facts(filing(), inventory(HERE, address="10.0.0.77"))))
    assert (found.rule, found.severity) == ("readdressed", Severity.INFO)


def test_an_untouched_camera_has_no_finding_and_every_rule_name_is_unique() -> None:
    assert evaluate(facts(filing(), inventory(HERE))) == []
    assert len(RULE_NAMES) == len(set(RULE_NAMES))
