from __future__ import annotations

from datetime import date, timedelta

import pytest
from pydantic import ValidationError

from camfleet.model import GeoPosition
from devmgr.filings import (
    CatalogPtzType,
    Direction,
    FilingRecord,
    MoveFiling,
    RetentionClass,
    SiteCategory,
    parse_device_id,
    retention_minimum_days,
)

from .factory import make_record

ACCEPTED = date(2025, 1, 10)


def not_listed(*moves: MoveFiling) -> FilingRecord:
    return make_record(site_category="not-listed", move_filings=list(moves))


# --- device id


def test_device_id_parts() -> None:
    parts = make_record("42010000001320000001").device_id_parts
    assert parts == ("42010000", "00", "132", "0", "000001")
    assert parts.type_name == "IPC"
    assert parse_device_id("34020000001310000001").type_code == "131"


@pytest.mark.parametrize(
    ("device_id", "reason"),
    [
        ("4201000000132000001", "must be 20 digits, not 19"),
        ("420100000013200000011", "must be 20 digits, not 21"),
        ("42010000001180000001", "type code 118 (NVR) is not a camera"),
        ("42010000002000000001", "type code 200 (central signalling server)"),
        ("4201000000132000000A", "non-digits"),
        ("42010000-01320000001", "non-digits"),
    ],
)
def test_bad_device_id(device_id: str, reason: str) -> None:
    with pytest.raises(ValidationError, match=r"device_id") as exc:
        make_record(device_id)
    assert reason in str(exc.value)


def test_enums_and_mac_normalised() -> None:
    rec = make_record()
    assert rec.ptz_type is CatalogPtzType.FIXED
    assert rec.direction is Direction.NE
    assert rec.mac == "44:19:b6:0a:bb:cc"


def test_without_position_site_or_acceptance_the_filing_is_incomplete() -> None:
    # A platform's catalog carries none of the Measures' fields and often no position: such a
    # record is kept, and says what it lacks (the audit reports it under Art. 9).
    bare = FilingRecord.model_validate({"device_id": "42010000001320000001", "name": "x"})
    assert bare.missing == ("position", "site_category", "acceptance_date")
    assert bare.filing_deadline() is None
    assert not bare.filing_overdue(date(2030, 1, 1))
    assert (bare.is_art6_site, bare.is_prohibited_site) == (False, False)
    allowed, reason = bare.move_allowed_on(date(2030, 1, 1))
    assert not allowed
    assert "no site category filed" in reason
    assert make_record().missing == ()
    assert make_record(position=None).missing == ("position",)


def test_mandatory_catalog_elements_have_defaults() -> None:
    bare = FilingRecord(device_id="42010600001320000001", name="x")
    assert (bare.civil_code, bare.parent_id) == ("420106", "420106")
    assert (bare.register_way, bare.safety_way, bare.secrecy, bare.status) == (1, 0, False, "ON")
    given = make_record(civil_code="420102", parent_id="42010000002160000001")
    assert (given.civil_code, given.parent_id) == ("420102", "42010000002160000001")


@pytest.mark.parametrize(("field", "value"), [
    ("parent_id", "4201/abc"), ("status", "ON LINE"), ("function_type", "1/2"),
    ("security_level_code", "D"), ("supply_light_type", 5), ("position_type", 11),
    ("register_way", 4), ("safety_way", 4), ("room_type", 3), ("use_type", 0),
])
def test_bad_catalog_values_refused(field: str, value: object) -> None:
    with pytest.raises(ValidationError, match=field):
        make_record(**{field: value})


@pytest.mark.parametrize(("latitude", "longitude", "civil_code", "words"), [
    (30.58, 114.29, "420102", None),
    (0.0, 0.0, "420102", "placeholder 0/0"),
    (48.85, 2.35, "420102", "outside China"),
    (87.62, 43.79, "650102", "swapped"),  # Urumqi, latitude and longitude swapped
    (39.9, 116.4, "420102", "outside Hubei (CivilCode 420102)"),
    (39.9, 116.4, "110105", None),
    (39.9, 116.4, "990000", None),  # no box for an unknown province: not judged
    (16.83, 112.33, "460300", None),  # Sansha, in Hainan's box
])
def test_position_problems(latitude: float, longitude: float, civil_code: str,
                           words: str | None) -> None:
    rec = make_record(position=GeoPosition(latitude=latitude, longitude=longitude),
                      civil_code=civil_code)
    problems = rec.position_problems
    if words is None:
        assert problems == []
    else:
        (problem,) = problems
        assert words in problem
    assert make_record(position=None).position_problems == []


def test_infinite_values_rejected() -> None:
    with pytest.raises(ValidationError, match="max_view_distance"):
        make_record(max_view_distance=float("inf"))
    with pytest.raises(ValidationError, match="elevation"):
        make_record(position=GeoPosition(latitude=30, longitude=114, elevation=float("-inf")))


# --- site categories (Art. 6, Art. 18)


@pytest.mark.parametrize(
    ("text", "art6", "prohibited", "canonical"),
    [
        ("art6:1", True, False, "art6:1"),
        ("12", True, False, "art6:12"),
        ("not-listed", False, False, "not-listed"),
        ("prohibited:3", False, True, "prohibited:3"),
        ("Prohibited:6", False, True, "prohibited:6"),
    ],
)
def test_site_category(text: str, art6: bool, prohibited: bool, canonical: str) -> None:
    rec = make_record(site_category=text)
    assert (rec.is_art6_site, rec.is_prohibited_site) == (art6, prohibited)
    assert str(rec.site_category) == canonical
    assert rec.model_dump(mode="json")["site_category"] == canonical


@pytest.mark.parametrize("text", ["art6:13", "art6:0", "prohibited:7", "listed", "art18:1"])
def test_bad_site_category(text: str) -> None:
    with pytest.raises(ValidationError, match="site_category"):
        make_record(site_category=text)


def test_prohibited_site_description() -> None:
    site = SiteCategory.parse("prohibited:3")
    assert "toilets" in site.description
    assert "Art. 18(3)" in site.description


# --- Art. 9 deadline, Art. 16(5) retention


def test_filing_deadline() -> None:
    rec = make_record(acceptance_date=ACCEPTED, filing_date=None)
    assert rec.filing_deadline() == date(2025, 2, 9)
    assert not rec.filing_overdue(date(2025, 2, 9))
    assert rec.filing_overdue(date(2025, 2, 10))
    assert not make_record(filing_date=date(2025, 2, 9)).filing_overdue(date(2026, 1, 1))
    assert make_record(filing_date=date(2025, 2, 10)).filing_overdue(date(2025, 2, 10))


def test_retention_minimums() -> None:
    assert retention_minimum_days(RetentionClass.COUNTER_TERROR) == 90
    assert retention_minimum_days("important") == 730
    assert retention_minimum_days("standard") == 0
    assert make_record(retention_class="counter-terror", record_save_days=90).retention_satisfied
    assert (
        make_record(retention_class="important", record_save_days=729).retention_satisfied is False
    )
    assert make_record(record_save_days=None).retention_satisfied is None
    with pytest.raises(ValidationError):
        make_record(retention_class="forever")


# --- Art. 10 moves and removals


def test_art6_site_needs_replacement_plan() -> None:
    day = date(2025, 9, 1)
    no_plan = make_record(
        site_category="art6:2",
        move_filings=[
            MoveFiling(
                kind="removal", filed_on=date(2025, 1, 1), planned_on=day, replacement_plan="  "
            )
        ],
    )
    allowed, reason = no_plan.move_allowed_on(day)
    assert not allowed
    assert "replacement plan" in reason
    assert not make_record(site_category="art6:2", move_filings=[]).move_allowed_on(day)[0]

    with_plan = make_record(
        site_category="art6:2",
        move_filings=[
            MoveFiling(
                kind="move",
                filed_on=day - timedelta(days=1),
                planned_on=day,
                replacement_plan="迁至西广场",
            )
        ],
    )
    assert with_plan.move_allowed_on(day)[0]  # Art. 6: the plan matters, not the 30 days
    assert not with_plan.move_allowed_on(day - timedelta(days=2))[0]  # not yet filed


def test_non_art6_site_needs_30_days_notice() -> None:
    planned = date(2025, 3, 31)
    early = not_listed(
        MoveFiling(kind="removal", filed_on=planned - timedelta(days=30), planned_on=planned)
    )
    late = not_listed(
        MoveFiling(kind="removal", filed_on=planned - timedelta(days=10), planned_on=planned)
    )
    assert early.move_allowed_on(planned) == (True, early.move_allowed_on(planned)[1])
    allowed, reason = late.move_allowed_on(planned)
    assert not allowed
    assert "10 days" in reason
    assert not early.move_allowed_on(planned - timedelta(days=1))[0]
    allowed, reason = not_listed().move_allowed_on(planned)
    assert not allowed
    assert "no move or removal filing" in reason


def test_prohibited_site_removal_always_allowed() -> None:
    allowed, reason = make_record(site_category="prohibited:1", move_filings=[]).move_allowed_on(
        date(2025, 1, 1)
    )
    assert allowed
    assert "Art. 18(1)" in reason


def test_removal_has_no_new_position() -> None:
    with pytest.raises(ValidationError, match="no new position"):
        MoveFiling(
            kind="removal",
            filed_on=ACCEPTED,
            planned_on=ACCEPTED,
            new_position=GeoPosition(latitude=1, longitude=1),
        )
