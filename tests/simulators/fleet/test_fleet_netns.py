"""A fleet on the netns backend: each camera in its own namespace, across a real bridge.

The test side stays in the root namespace and reaches the cameras through the bridge, as a
manager on the same L2 segment would. Skipped where namespaces cannot be made (not root,
no iproute2), with the reason.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Iterator

import pytest

from devmgr.targets import Target, TargetsFile
from simulators.fleet.fleet import Fleet, FleetError
from simulators.fleet.generate import FleetMember, generate_fleet
from simulators.fleet.netns import netns_unavailable_reason
from tests.clients import mac_from_snmp, onvif_client, probe, requires_netsnmp, snmpget

REASON = netns_unavailable_reason()
pytestmark = pytest.mark.skipif(REASON is not None, reason=f"netns backend: {REASON}")
COUNT = 6


@pytest.fixture(scope="module")
def fleet() -> Iterator[Fleet]:
    members = [FleetMember(spec) for spec in generate_fleet(COUNT, seed=21)]
    with Fleet(members, backend="netns", reboot_seconds=0.5) as running:
        yield running


@pytest.fixture(scope="module")
def manifest(fleet: Fleet) -> TargetsFile:
    return fleet.manifest()


def namespaces() -> set[str]:
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True,
                            check=True).stdout
    return {line.split()[0] for line in listed.splitlines() if line.strip()}


def test_each_camera_lives_in_its_own_namespace(fleet: Fleet, manifest: TargetsFile) -> None:
    assert manifest.fleet is not None
    assert manifest.fleet.backend == "netns"
    assert not manifest.fleet.manager_address.startswith("127.")
    names = {t.netns for t in manifest.targets}
    assert len(names) == COUNT
    assert names <= namespaces()
    for target in manifest.targets:
        assert target.netns is not None
        inside = subprocess.run(["ip", "-n", target.netns, "-o", "-4", "addr", "show"],
                                capture_output=True, text=True, check=True).stdout
        assert f"inet {target.address}/" in inside
        link = subprocess.run(["ip", "-n", target.netns, "-o", "link", "show", "eth0"],
                              capture_output=True, text=True, check=True).stdout
        assert target.mac in link  # the interface has the camera's own MAC


def test_multicast_probe_across_the_bridge_finds_every_camera(fleet: Fleet,
                                                              manifest: TargetsFile) -> None:
    found = probe(fleet.discovery_port, interface=fleet.manager_address)
    assert set(found) == {t.address for t in manifest.targets}


async def test_onvif_to_every_camera(manifest: TargetsFile) -> None:
    async def serial(target: Target) -> str:
        async with onvif_client(target) as client:
            info = await (await client.create_devicemgmt_service()).GetDeviceInformation()
            return str(info.SerialNumber)

    assert await asyncio.gather(*(serial(t) for t in manifest.targets)) == [
        t.serial for t in manifest.targets]


@requires_netsnmp
def test_snmp_to_every_camera(manifest: TargetsFile) -> None:
    for target in manifest.targets:
        name, mac = snmpget(target, "1.3.6.1.2.1.1.5.0", "1.3.6.1.2.1.2.2.1.6.1")
        assert name.strip('"') == target.id
        assert mac_from_snmp(mac) == target.mac


@requires_netsnmp
async def test_sockets_reopen_inside_the_namespace_after_reboot_and_replacement(
        fleet: Fleet, manifest: TargetsFile) -> None:
    rebooted, replaced = manifest.targets[0], manifest.targets[1]
    fleet.reboot(rebooted.id)
    fleet.add_fault(replaced.id, "replaced")
    try:
        deadline = time.monotonic() + 10
        while not snmpget(rebooted, "1.3.6.1.2.1.1.5.0"):
            assert time.monotonic() < deadline, "the rebooted camera did not come back"
        async with onvif_client(replaced) as client:
            info = await (await client.create_devicemgmt_service()).GetDeviceInformation()
        assert info.SerialNumber != replaced.serial
        found = probe(fleet.discovery_port, interface=fleet.manager_address)
        assert {rebooted.address, replaced.address} <= set(found)
    finally:
        fleet.clear_faults(replaced.id)


async def test_readdressed_is_refused_in_a_namespace_and_changes_nothing(
        fleet: Fleet, manifest: TargetsFile) -> None:
    """The namespace's interface has the one address the fleet gave it (see faults.Readdressed)."""
    target = manifest.targets[2]
    with pytest.raises(FleetError, match="network namespace"):
        fleet.add_fault(target.id, {"kind": "readdressed", "address": "127.0.9.9"})
    assert fleet.faults(target.id) == []
    assert fleet.truth(target.id)["spec"]["network"]["address"] == target.address
    async with onvif_client(target) as client:
        info = await (await client.create_devicemgmt_service()).GetDeviceInformation()
    assert info.SerialNumber == target.serial


def test_stopping_removes_namespaces_bridge_and_workers() -> None:
    members = [FleetMember(spec) for spec in generate_fleet(3, seed=22)]
    fleet = Fleet(members, backend="netns")
    fleet.start(control_port=None)
    names = {t.netns for t in fleet.manifest().targets}
    pids = fleet.worker_pids()
    assert names <= namespaces()
    fleet.stop()
    assert not names & namespaces()
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True,
                           check=True).stdout
    assert not any(str(name) in links for name in names)
    for pid in pids:
        assert subprocess.run(["kill", "-0", str(pid)], capture_output=True,
                              check=False).returncode != 0
