"""The Art. 10/16/17 faults on a loopback fleet, set through ``Fleet.set_faults``.

Workers are separate processes, so this is the path the control API and devmgr's audit take.
Observed through independent clients; ``Fleet.truth`` is what they are compared against.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from camfleet.targets import Target, TargetsFile
from simulators.fleet.fleet import Fleet, FleetError
from simulators.fleet.generate import FleetMember, generate_fleet
from tests.clients import onvif_client, probe, requires_netsnmp, snmpget, snmpget_v3
from tests.conftest import free_udp_port
from tests.simulators.helpers import refuses_connections, unicast_probe

SYS_NAME = "1.3.6.1.2.1.1.5.0"
COUNT = 3


@pytest.fixture(scope="module")
def fleet() -> Iterator[Fleet]:
    members = [FleetMember(spec) for spec in generate_fleet(COUNT, seed=31)]
    with Fleet(members, discovery_port=free_udp_port(), reboot_seconds=0.5) as running:
        yield running


@pytest.fixture(scope="module")
def manifest(fleet: Fleet) -> TargetsFile:
    return fleet.manifest()


def spare_address(manifest: TargetsFile) -> str:
    """An address in the fleet's /16 that no camera of it has (they take .0.1 upwards)."""
    first = manifest.targets[0].address
    return f"{first.rsplit('.', 2)[0]}.9.9"


def device_url(address: str, port: int) -> str:
    return f"http://{address}:{port}/onvif/device_service"


@requires_netsnmp
async def test_readdressed_camera_answers_only_at_its_new_address(
        fleet: Fleet, manifest: TargetsFile, clean: None) -> None:
    target = manifest.targets[0]
    new = spare_address(manifest)
    moved = target.model_copy(update={"address": new})
    before = probe(fleet.discovery_port)[target.address]

    fleet.add_fault(target.id, {"kind": "readdressed", "address": new})
    truth = fleet.truth(target.id)
    assert truth["spec"]["network"]["address"] == new
    assert truth["base_spec"]["network"]["address"] == target.address

    assert refuses_connections(target.address, target.http_port)
    assert snmpget(target, SYS_NAME, timeout_s=0.5) == []
    async with onvif_client(moved) as client:
        info = await (await client.create_devicemgmt_service()).GetDeviceInformation()
    assert info.SerialNumber == target.serial
    assert snmpget(moved, SYS_NAME) == [f'"{truth["spec"]["network"]["hostname"]}"']
    [match] = unicast_probe(new, fleet.discovery_port)
    assert match.endpoint == before.endpoint
    assert match.xaddrs == (device_url(new, target.http_port),)
    found = probe(fleet.discovery_port)
    assert target.address not in found
    assert found[new].endpoint == before.endpoint

    fleet.clear_faults(target.id, "readdressed")
    assert fleet.truth(target.id)["spec"]["network"]["address"] == target.address
    assert refuses_connections(new, target.http_port)
    async with onvif_client(target) as client:
        info = await (await client.create_devicemgmt_service()).GetDeviceInformation()
    assert info.SerialNumber == target.serial
    assert probe(fleet.discovery_port)[target.address].xaddrs == (target.device_url,)


def test_readdressing_onto_another_camera_is_refused(fleet: Fleet, manifest: TargetsFile,
                                                     clean: None) -> None:
    target, other = manifest.targets[1], manifest.targets[2]
    with pytest.raises(FleetError, match="cannot be readdressed"):
        fleet.add_fault(target.id, {"kind": "readdressed", "address": other.address})
    assert fleet.faults(target.id) == []
    assert fleet.truth(target.id)["spec"]["network"]["address"] == target.address
    with pytest.raises(FleetError, match="readdressed needs an IPv4 address"):
        fleet.add_fault(target.id, {"kind": "readdressed", "address": "cam-0002"})


async def test_default_credentials_work_and_the_manifest_admin_still_does(
        fleet: Fleet, manifest: TargetsFile, clean: None) -> None:
    target = manifest.targets[1]
    fleet.add_fault(target.id, "default_credentials")
    root = target.model_copy(update={"onvif": target.onvif.model_copy(
        update={"username": "root", "password": "pass"})})
    for who in (root, target):
        async with onvif_client(who) as client:
            info = await (await client.create_devicemgmt_service()).GetDeviceInformation()
        assert info.SerialNumber == target.serial


async def test_retention_changed_is_what_the_recording_service_serves(
        fleet: Fleet, manifest: TargetsFile, clean: None) -> None:
    target = manifest.targets[2]
    fleet.add_fault(target.id, {"kind": "retention_changed", "days": 7})
    assert fleet.truth(target.id)["spec"]["recording"]["retention_days"] == 7
    async with onvif_client(target) as client:
        recording = await client.create_recording_service()
        items = await recording.GetRecordings()
        config = await recording.GetRecordingConfiguration(
            {"RecordingToken": items[0].RecordingToken})
    assert config.MaximumRetentionTime == timedelta(days=7)
    assert items[0].Configuration.MaximumRetentionTime == timedelta(days=7)


@requires_netsnmp
def test_snmp_default_community(fleet: Fleet, manifest: TargetsFile, clean: None) -> None:
    target: Target = manifest.targets[2]
    assert target.snmp is not None
    public = target.model_copy(update={"snmp": target.snmp.model_copy(
        update={"community": "public"})})
    fleet.add_fault(target.id, "snmp_default_community")
    name = snmpget(public, SYS_NAME)
    assert name == [f'"{target.id}"']
    assert snmpget(target, SYS_NAME, timeout_s=0.5) == []
    assert snmpget_v3(target, SYS_NAME) == name
    fleet.clear_faults(target.id)
    assert snmpget(public, SYS_NAME, timeout_s=0.5) == []
    assert snmpget(target, SYS_NAME) == name
