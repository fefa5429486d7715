"""Inventory of a 200-camera fleet, checked field by field against each camera's true spec,
with faulty cameras classified and the healthy ones unaffected."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from camfleet.errors import ErrorKind
from camfleet.model import GeoPosition
from camfleet.targets import TargetsFile
from devmgr.inventory.collect import inventory_sweep
from devmgr.inventory.model import Inventory
from devmgr.onvif.session import Timeouts
from simulators.fleet.fleet import Fleet
from simulators.fleet.generate import FleetMember, generate_fleet
from simulators.spec import CameraSpec
from tests.conftest import free_udp_port

COUNT = 200
#: camera index -> (faults, what the inventory must conclude)
FAULTY: dict[int, tuple[list[object], ErrorKind | None]] = {
    3: (["removed"], ErrorKind.UNREACHABLE),
    17: ([{"kind": "no_response", "ops": ["GetDeviceInformation"]}], ErrorKind.TIMEOUT),
    29: (["auth_failure"], ErrorKind.AUTH),
    41: ([{"kind": "malformed_xml", "ops": ["GetProfiles"]}], ErrorKind.PROTOCOL),
    55: ([{"kind": "http_500", "ops": ["GetScopes"]}], ErrorKind.PROTOCOL),
    68: ([{"kind": "soap_fault", "ops": ["GetNetworkInterfaces"]}], ErrorKind.PROTOCOL),
    # These change what the camera is, not whether it answers: no error, new facts.
    80: ([{"kind": "clock_skew", "seconds": 3600}], None),
    91: ([{"kind": "latency", "ms": 300}], None),
    104: (["quirk_datetime"], None),
    117: (["replaced"], None),
    130: ([{"kind": "moved", "distance_m": 500, "announce": True}], None),
}


@pytest.fixture(scope="module")
def fleet() -> Iterator[Fleet]:
    members = [FleetMember(spec, []) for spec in generate_fleet(COUNT, seed=404)]
    with Fleet(members, discovery_port=free_udp_port()) as running:
        ids = running.camera_ids
        for index, (faults, _) in FAULTY.items():
            running.set_faults(ids[index], faults)
        yield running


@pytest.fixture(scope="module")
def manifest(fleet: Fleet) -> TargetsFile:
    return fleet.manifest()


@pytest.fixture(scope="module")
def inventories(manifest: TargetsFile) -> dict[str, Inventory]:
    # Generous: 200 cameras share two loaded cores with the test runner, and a timeout here
    # would read as the camera's fault (the classification is what is tested, not speed).
    timeouts = Timeouts(connect=3.0, call=6.0, camera=90.0)
    found = asyncio.run(inventory_sweep(list(manifest.targets), timeouts=timeouts))
    return {inv.target_id: inv for inv in found}


def truth_spec(fleet: Fleet, camera_id: str) -> CameraSpec:
    return CameraSpec.model_validate(fleet.truth(camera_id)["spec"])


def test_every_camera_has_an_inventory(manifest: TargetsFile,
                                       inventories: dict[str, Inventory]) -> None:
    assert sorted(inventories) == sorted(t.id for t in manifest.targets)


@pytest.mark.parametrize("index", sorted(FAULTY))
def test_faulty_cameras_are_classified(fleet: Fleet, inventories: dict[str, Inventory],
                                       index: int) -> None:
    camera_id = fleet.camera_ids[index]
    inventory = inventories[camera_id]
    faults, expected = FAULTY[index]
    if expected is None:
        assert inventory.errors == (), f"{faults}: {inventory.errors}"
    else:
        assert expected in inventory.error_kinds, f"{faults}: {inventory.errors}"
        assert all(e.message for e in inventory.errors)
    if expected in (ErrorKind.UNREACHABLE, ErrorKind.TIMEOUT):
        assert inventory.device is None
    if expected is ErrorKind.UNREACHABLE:
        assert inventory.reachable is False


def test_clock_skew_is_measured_and_worked_around(fleet: Fleet,
                                                  inventories: dict[str, Inventory]) -> None:
    inventory = inventories[fleet.camera_ids[80]]
    assert inventory.clock_offset_s == pytest.approx(3600, abs=2)
    assert inventory.device is not None  # WS-Security stamped in the camera's time


def test_unit_faults_show_as_new_facts(fleet: Fleet, inventories: dict[str, Inventory]) -> None:
    replaced = inventories[fleet.camera_ids[117]]
    truth = truth_spec(fleet, fleet.camera_ids[117])
    assert replaced.device is not None
    assert replaced.device.serial == truth.identity.serial
    assert replaced.device.serial != fleet.truth(fleet.camera_ids[117])["base_spec"]["identity"][
        "serial"]
    moved = inventories[fleet.camera_ids[130]]
    base = GeoPosition(**fleet.truth(fleet.camera_ids[130])["base_spec"]["location"]["position"])
    assert moved.geolocation is not None
    assert moved.geolocation.distance_to(base) == pytest.approx(500, rel=0.02)


def test_healthy_cameras_match_their_spec_field_by_field(
        fleet: Fleet, inventories: dict[str, Inventory]) -> None:
    healthy = [cid for i, cid in enumerate(fleet.camera_ids) if i not in FAULTY]
    assert len(healthy) == COUNT - len(FAULTY)
    for camera_id in healthy:
        inv = inventories[camera_id]
        spec = truth_spec(fleet, camera_id)
        where = f"{camera_id} ({spec.identity.manufacturer} {spec.identity.model})"
        assert inv.errors == (), where
        assert inv.device is not None, where
        ident = spec.identity
        assert (inv.device.manufacturer, inv.device.model, inv.device.firmware,
                inv.device.serial, inv.device.hardware_id) == (
            ident.manufacturer, ident.model, ident.firmware, ident.serial,
            ident.hardware_id), where
        assert inv.mac == ident.mac, where
        assert inv.hostname == spec.hostname, where
        assert f"onvif://www.onvif.org/location/{spec.location.scope}" in inv.scopes, where
        assert f"onvif://www.onvif.org/name/{spec.location.name}" in inv.scopes, where
        assert inv.ntp_servers == spec.network.ntp_servers, where
        assert inv.timezone == spec.network.timezone, where
        assert inv.discovery_mode == "Discoverable", where
        assert abs(inv.clock_offset_s or 99) < 1.5, where
        assert inv.geolocation is not None, where
        assert inv.geolocation.distance_to(spec.location.position) < 0.01, where
        assert inv.recording_retention_days == pytest.approx(spec.recording.retention_days), where
        assert (inv.profiles[0].width, inv.profiles[0].height) == (spec.optics.width,
                                                                   spec.optics.height), where
        assert all(p.stream_uri.startswith(f"rtsp://{spec.network.address}:") and
                   p.snapshot_uri.startswith(f"http://{spec.network.address}:")
                   for p in inv.profiles), where
        if not spec.is_ptz:
            assert inv.ptz is None, where
            continue
        assert inv.ptz is not None, where
        pan, tilt = spec.ptz.generic_limits()
        assert inv.ptz.pan_limits == pytest.approx(pan), where
        assert inv.ptz.tilt_limits == pytest.approx(tilt), where
        assert inv.ptz.fixed_home == spec.ptz.home_fixed, where
        assert inv.ptz.position is not None, where
        home = spec.ptz.to_generic(spec.ptz.home)
        assert (inv.ptz.position.pan, inv.ptz.position.tilt, inv.ptz.position.zoom) == \
            pytest.approx(home), where
        assert [p.token for p in inv.ptz.presets] == [p.token for p in spec.ptz.presets], where
        for got, preset in zip(inv.ptz.presets, spec.ptz.presets, strict=True):
            assert got.position is not None
            assert (got.position.pan, got.position.tilt, got.position.zoom) == \
                pytest.approx(spec.ptz.to_generic(preset.position)), where
        assert {s.uri.rsplit("/", 1)[1] for s in inv.ptz.spaces} >= {
            "PositionGenericSpace", "SphericalPositionSpaceDegrees", "VelocityGenericSpace"}

