"""The Art. 10 judgement and the miss count, rule by rule, on hand-made facts (no network).

The scenario test shows each rule firing on a real fleet; these pin down the parts a fleet
cannot easily stage: filed moves and removals, Art. 6 replacement plans, the 30-day notice.
"""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from camfleet.errors import DeviceError, ErrorKind
from camfleet.model import GeoPosition
from devmgr.compliance.baseline import Baseline, ReferenceView
from devmgr.compliance.facts import CameraFacts
from devmgr.compliance.model import AuditSettings, Finding, Severity, ViewEvidence
from devmgr.compliance.rules import RULE_NAMES, evaluate
from devmgr.filings import FilingRecord
from devmgr.inventory.model import DeviceInfo, Inventory

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
                        taken_at=datetime.now(UTC), inventory=inventory(HERE),
                        views=(ReferenceView(name="current", snapshot="0" * 64,
                                             taken_at=datetime.now(UTC)),))
    return CameraFacts(camera=record.device_id, today=TODAY, settings=AuditSettings(),
                       filing=record, baseline=baseline, inventory=today,
                       previous_misses=misses)


def findings(facts: CameraFacts) -> list[Finding]:
    return list(evaluate(facts).findings)


def only(found: list[Any]) -> Any:
    assert len(found) == 1, found
    return found[0]


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
    found = only(findings(facts(filing(site, moves), inventory(THERE))))
    assert (found.rule, found.article, found.severity) == ("moved", "Art. 10", severity)
    assert words in found.message
    assert 300 < found.evidence["distance_m"] < 360


def test_silence_is_not_answering_until_the_nth_audit_then_removed() -> None:
    record = filing(moves=({"kind": "removal", "filed_on": TODAY - timedelta(days=45),
                            "planned_on": TODAY - timedelta(days=5)},))
    first = only(findings(facts(record, None, misses=0)))
    assert (first.rule, first.severity, first.evidence["missed_audits"]) == (
        "not-answering", Severity.MINOR, 1)
    third = only(findings(facts(record, None, misses=2)))
    assert (third.rule, third.severity) == ("removed", Severity.INFO)  # filed 45 days ahead
    assert "removal as filed" in third.message


def garbled(kind: ErrorKind, message: str) -> Inventory:
    """Today's inventory of a unit whose address answered, but not readably."""
    return Inventory(target_id="gate", address="10.0.0.5", collected_at=datetime.now(UTC),
                     errors=(DeviceError(kind=kind, operation="GetDeviceInformation",
                                         message=message),))


@pytest.mark.parametrize(("kind", "message", "words"), [
    (ErrorKind.PROTOCOL, "reply carries a DTD (refused)", "its replies cannot be read"),
    (ErrorKind.AUTH, "HTTP 401: credentials refused", "refuses the audit's credentials"),
])
def test_an_address_that_answers_unreadably_is_never_a_removal_by_silence(
        kind: ErrorKind, message: str, words: str) -> None:
    record = filing()
    for misses in (0, 5):  # however many audits it has gone unidentified
        found = only(findings(facts(record, garbled(kind, message), misses=misses)))
        assert (found.rule, found.severity) == ("unreadable", Severity.MAJOR)
        assert words in found.message
        assert message in found.message
    silent = garbled(ErrorKind.TIMEOUT, "no complete answer within 5 s")
    assert only(findings(facts(record, silent, misses=5))).rule == "removed"


def test_another_serial_in_its_place_is_a_replacement_not_a_move() -> None:
    found = only(findings(facts(filing("art6:1"), inventory(HERE, serial="SN-2"))))
    assert (found.rule, found.severity) == ("replaced", Severity.CRITICAL)
    assert found.evidence["serial"] == ["SN-1", "SN-2"]


def test_the_same_unit_on_a_new_address_is_only_worth_knowing() -> None:
    found = only(findings(facts(filing(), inventory(HERE, address="10.0.0.77"))))
    assert (found.rule, found.severity) == ("readdressed", Severity.INFO)


def test_a_unit_found_on_another_address_on_its_own_word_alone_is_unverified() -> None:
    """Discovery found 'it' on 10.0.0.77 (it was commissioned on 10.0.0.5): serial, MAC and
    position as filed, but that is only what the device says. Its picture showing its own
    scene is what makes it the unit on a new address."""
    claimed = facts(filing(), inventory(HERE, address="10.0.0.77"))
    claimed.found_at = "10.0.0.77"
    found = only(findings(claimed))
    assert (found.rule, found.severity) == ("unverified", Severity.MAJOR)
    assert found.evidence["claimed_at"] == "10.0.0.77"
    assert found.evidence["own_address"] == "10.0.0.5"
    assert "none of its views could be compared" in found.message

    unjudged = copy.deepcopy(claimed)
    unjudged.views = [ViewEvidence(name="home", verdicts=("unusable",))]
    assert only(findings(unjudged)).rule == "unverified"

    seen = copy.deepcopy(claimed)
    seen.views = [ViewEvidence(name="home", verdicts=("ok",))]
    assert only(findings(seen)).rule == "readdressed"


def test_an_untouched_camera_has_no_finding_and_every_rule_name_is_unique() -> None:
    assert findings(facts(filing(), inventory(HERE))) == []
    assert len(RULE_NAMES) == len(set(RULE_NAMES))


def test_a_camera_commissioned_without_a_picture_is_told_its_view_is_never_checked() -> None:
    blind = facts(filing(), inventory(HERE))
    assert blind.baseline is not None
    blind.baseline = blind.baseline.model_copy(update={"views": ()})
    found = only(findings(blind))
    assert (found.rule, found.article, found.severity) == ("view-no-baseline", "Art. 7",
                                                           Severity.MINOR)


@pytest.mark.parametrize("today", [inventory(THERE), inventory(HERE, serial="SN-2"), None,
                                   inventory(HERE, address="10.0.0.77")])
def test_rules_conclude_without_writing_into_their_facts(today: Inventory | None) -> None:
    given = facts(filing(), today)
    before = copy.deepcopy(given)
    conclusions = evaluate(given)
    assert given == before
    assert conclusions.judgement.presence in ("moved", "replaced", "not-answering", "present")


# -- Art. 9: what is filed must be a complete, plausible filing of the point


def from_platform(**fields: Any) -> FilingRecord:
    """A camera as a platform's catalog files it: no regulation fields."""
    return FilingRecord.model_validate({
        "device_id": "42010600001320000001", "name": "Gate", "civil_code": "420106",
        "serial": "SN-1", **fields})


def test_a_filing_from_a_platform_catalog_is_reported_incomplete() -> None:
    record = from_platform(position=HERE.model_dump())
    found = only(findings(facts(record, inventory(HERE))))
    assert (found.rule, found.article, found.severity) == (
        "filing-incomplete", "Art. 9", Severity.MAJOR)
    assert found.evidence["missing"] == ["site_category", "acceptance_date"]
    assert "site category (Art. 6), acceptance date" in found.message
    # A rule reads the facts and leaves them as they were.
    assert record.missing == ("site_category", "acceptance_date")


def test_no_position_is_incomplete_and_not_judged_as_a_move() -> None:
    record = filing().model_copy(update={"position": None})
    found = only(findings(facts(record, inventory(HERE))))
    assert (found.rule, found.evidence["missing"]) == ("filing-incomplete", ["position"])


@pytest.mark.parametrize(("where", "words"), [
    (GeoPosition(latitude=0.0, longitude=0.0), "placeholder 0/0"),
    (GeoPosition(latitude=39.9042, longitude=116.4074), "outside Hubei (CivilCode 420106)"),
    (GeoPosition(latitude=-33.86, longitude=151.2), "outside China"),
])
def test_an_implausible_filed_position_is_flagged(where: GeoPosition, words: str) -> None:
    record = filing().model_copy(update={"position": where, "civil_code": "420106"})
    found = [f for f in findings(facts(record, inventory(None))) if f.rule == "filing-position"]
    assert len(found) == 1
    assert (found[0].article, found[0].severity) == ("Art. 9", Severity.MAJOR)
    assert words in found[0].message
    assert found[0].evidence["civil_code"] == "420106"


# -- Art. 7 / Art. 12: what the views show -------------------------------------------------------

def viewed(*views: ViewEvidence) -> list[tuple[str, Severity]]:
    seen = facts(filing(), inventory(HERE))
    seen.views = list(views)
    return sorted((f.rule, f.severity) for f in findings(seen) if f.rule.startswith("view-"))


def test_one_view_gone_soft_in_part_while_the_others_are_sharp_is_obstructed() -> None:
    """A branch across a zoomed preset, close to the lens and out of focus, takes that view's
    detail; the lens is fine (its other views are sharp): obstructed, not blurred. When every
    view is soft, it is the lens: blurred, and no obstruction is judged."""
    covered = ViewEvidence(name="preset:1", verdicts=("blurred",), blur_ratio=0.2,
                           obstructed_share=0.3, obstructed_tiles=((0, 0),) * 14)
    sharp = ViewEvidence(name="home", verdicts=("ok",), blur_ratio=0.95)
    assert viewed(sharp, covered) == [("view-obstructed", Severity.MAJOR)]
    # Soft all over but nothing in front: that view's focus.
    soft = covered.model_copy(update={"obstructed_share": 0.02, "obstructed_tiles": ()})
    assert viewed(sharp, soft) == [("view-blurred", Severity.MAJOR)]
    # Every view soft: the lens (dirty dome, defocus).
    assert viewed(covered, covered.model_copy(update={"name": "home"})) == [
        ("view-blurred", Severity.MAJOR)]
