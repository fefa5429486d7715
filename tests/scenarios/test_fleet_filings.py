"""Filing records of simulated fleets: valid, unique, round-tripping, true to the specs."""

from __future__ import annotations

import doctest
from collections import Counter
from datetime import date

import pytest

from camfleet.model import PtzType
from devmgr.filings import (
    CatalogPtzType,
    Direction,
    FilingRecord,
    dump_csv,
    loads_csv,
    parse_device_id,
)
from scenarios.fleet_filings import catalog_direction, filings_for_fleet, fleet_filings
from simulators.fleet.fleet import Fleet
from simulators.fleet.generate import FleetMember, generate_fleet
from simulators.spec import CameraSpec
from tests.conftest import free_udp_port

ACCEPTED = date(2025, 3, 1)


@pytest.fixture(scope="module")
def specs() -> list[CameraSpec]:
    return generate_fleet(40, seed=5)


def test_every_record_validates_and_ids_are_unique_ipc_ids(specs: list[CameraSpec]) -> None:
    records = fleet_filings(specs, accepted_on=ACCEPTED, seed=2)
    assert len(records) == len(specs)
    for index, record in enumerate(records, start=1):
        assert FilingRecord.model_validate(record.model_dump()) == record
        parts = parse_device_id(record.device_id)
        assert (parts.centre, parts.industry, parts.type_code, parts.network) == (
            "42010600", "00", "132", "5")
        assert parts.serial == f"{index:06d}"
    assert len({r.device_id for r in records}) == len(records)


def test_records_round_trip_through_csv(specs: list[CameraSpec]) -> None:
    records = fleet_filings(specs, accepted_on=ACCEPTED, centre="42010200", seed=1)
    assert loads_csv(dump_csv(records)) == records


def test_records_are_true_to_the_specs(specs: list[CameraSpec]) -> None:
    records = fleet_filings(specs, accepted_on=ACCEPTED)
    for spec, record in zip(specs, records, strict=True):
        assert record.position == spec.location.position
        assert record.mac == spec.identity.mac
        assert record.serial == spec.identity.serial
        assert (record.manufacturer, record.model) == (spec.identity.manufacturer,
                                                       spec.identity.model)
        assert record.name == spec.location.name
        assert record.address == spec.location.address
        assert str(record.ip_address) == spec.network.address
        assert record.port == spec.network.http_port
        assert record.horizontal_field_angle == spec.optics.hfov
        assert record.ptz_type is (CatalogPtzType.FIXED if spec.ptz.type is PtzType.FIXED
                                   else CatalogPtzType.DOME)
        assert record.record_save_days == int(spec.recording.retention_days)


def test_a_healthy_fleet_is_compliant_with_its_filings(specs: list[CameraSpec]) -> None:
    records = fleet_filings(specs, accepted_on=ACCEPTED, seed=4)
    for record in records:
        assert record.retention_satisfied
        assert not record.filing_overdue(date(2030, 1, 1))
        assert record.install_time is not None
        assert record.filing_date is not None
        assert record.install_time.date() < ACCEPTED < record.filing_date
        assert not record.is_prohibited_site
    classes = Counter(r.retention_class.value for r in records)
    assert set(classes) == {"standard", "counter-terror", "important"}  # 30, 90/180, 730 days
    sites = [r.is_art6_site for r in records]
    assert sites == [i % 2 == 0 for i in range(len(records))]  # seed 4: art6 comes first
    assert [r.is_art6_site for r in fleet_filings(specs, accepted_on=ACCEPTED, seed=3)] == [
        not s for s in sites]


def test_same_arguments_same_records_and_the_seed_varies_dates(specs: list[CameraSpec]) -> None:
    first = fleet_filings(specs, accepted_on=ACCEPTED, seed=7)
    assert fleet_filings(specs, accepted_on=ACCEPTED, seed=7) == first
    other = fleet_filings(specs, accepted_on=ACCEPTED, seed=8)
    assert [r.filing_date for r in other] != [r.filing_date for r in first]


def test_direction_is_the_nearest_compass_point() -> None:
    assert [catalog_direction(a) for a in (0, 44, 46, 135, 180, 225, 270, 315, 337.6, 720)] == [
        Direction.N, Direction.NE, Direction.NE, Direction.SE, Direction.S, Direction.SW,
        Direction.W, Direction.NW, Direction.N, Direction.N]


def test_bad_centre_is_refused(specs: list[CameraSpec]) -> None:
    with pytest.raises(ValueError, match="8 digits"):
        fleet_filings(specs, accepted_on=ACCEPTED, centre="420106")


def test_filings_of_a_running_fleet_carry_its_addresses() -> None:
    members = [FleetMember(spec) for spec in generate_fleet(2, seed=9)]
    with Fleet(members, discovery_port=free_udp_port()) as fleet:
        records = filings_for_fleet(fleet, accepted_on=ACCEPTED)
        manifest = fleet.manifest()
    assert len(records) == 2
    for record, target, member in zip(records, manifest.targets, members, strict=True):
        assert str(record.ip_address) == target.address
        assert record.port == target.http_port
        assert (record.serial, record.mac) == (target.serial, target.mac)
        assert record.position == member.spec.location.position


def test_module_examples() -> None:
    from scenarios import fleet_filings as filings  # noqa: PLC0415

    result = doctest.testmod(filings)
    assert result.attempted > 0
    assert result.failed == 0
