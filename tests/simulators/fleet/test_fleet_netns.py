"""A fleet across a real bridge: each camera in its own namespace, on netns and on docker.

The test side stays in the root namespace and reaches the cameras through the bridge, as a
manager on the same L2 segment would. The same checks run on both backends (``backend``);
each skips where it cannot run, with the reason (see ``backends.py``): netns without root or
iproute2, docker without a daemon or its image.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest

from camfleet.protocols import wsdiscovery as wsd
from camfleet.targets import Target, TargetsFile
from simulators.fleet.fleet import Fleet, FleetError
from simulators.fleet.generate import FleetMember, generate_fleet
from tests.clients import (
    listen,
    mac_from_snmp,
    multicast_socket,
    onvif_client,
    probe,
    requires_netsnmp,
    snmpget,
)
from tests.conftest import free_udp_port
from tests.simulators.fleet.backends import container_pid, ip_inside, require

COUNT = 6


@pytest.fixture(scope="module", params=["netns", "docker"])
def fleet(request: pytest.FixtureRequest) -> Iterator[Fleet]:
    require(request.param)
    members = [FleetMember(spec) for spec in generate_fleet(COUNT, seed=21)]
    with Fleet(members, backend=request.param, reboot_seconds=0.5) as running:
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
    assert manifest.fleet.backend == fleet.backend
    assert not manifest.fleet.manager_address.startswith("127.")
    members = manifest.fleet.members
    if fleet.backend == "netns":
        netns = {t.id: members[t.id].netns for t in manifest.targets}
        assert set(netns.values()) <= namespaces()
        where = {camera: ip_inside(name, None) for camera, name in netns.items()}
    else:  # a container's namespace, entered through its first process
        pids = {t.id: container_pid(str(members[t.id].container)) for t in manifest.targets}
        where = {camera: ip_inside(None, pid) for camera, pid in pids.items()}
    assert len({" ".join(ip) for ip in where.values()}) == COUNT
    for target in manifest.targets:
        ip = where[target.id]
        inside = subprocess.run([*ip, "-o", "-4", "addr", "show"],
                                capture_output=True, text=True, check=True).stdout
        assert f"inet {target.address}/" in inside
        link = subprocess.run([*ip, "-o", "link", "show", "eth0"],
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


async def serial_at(target: Target) -> str:
    async with onvif_client(target) as client:
        return str((await (await client.create_devicemgmt_service()).GetDeviceInformation())
                   .SerialNumber)


def http_answers(address: str, port: int) -> bool:
    try:
        socket.create_connection((address, port), timeout=1.0).close()
    except OSError:
        return False
    return True


def addresses_inside(netns: str | None) -> str:
    return subprocess.run([*ip_inside(netns, None), "-o", "-4", "addr", "show", "eth0"],
                          capture_output=True, text=True, check=True).stdout


@pytest.mark.parametrize("other_subnet", [False, True], ids=["same-subnet", "another-subnet"])
async def test_a_readdressed_camera_answers_on_its_new_address_only(
        fleet: Fleet, manifest: TargetsFile, other_subnet: bool) -> None:
    """The fleet moves the camera's interface (another /24 through a gateway on the bridge):
    ONVIF and discovery answer there, the old address is dead, no other camera may take it;
    clearing the fault moves it back. A container keeps the one address Docker gave it and
    refuses, changing nothing."""
    target = manifest.targets[2 + other_subnet]
    if fleet.backend == "docker":
        with pytest.raises(FleetError, match="cannot re-address"):
            fleet.spare_address(0, other_subnet=other_subnet)
        with pytest.raises(FleetError, match="cannot be readdressed"):
            fleet.add_fault(target.id, {"kind": "readdressed", "address": "10.99.0.9"})
        assert fleet.faults(target.id) == []
        assert await serial_at(target) == target.serial
        return
    new = fleet.spare_address(0, other_subnet=other_subnet)
    assert (new.rsplit(".", 1)[0] == target.address.rsplit(".", 1)[0]) is not other_subnet
    fleet.add_fault(target.id, {"kind": "readdressed", "address": new})
    try:
        assert await serial_at(target.model_copy(update={"address": new})) == target.serial
        found = probe(fleet.discovery_port, interface=fleet.manager_address)
        assert new in found
        assert target.address not in found
        assert not http_answers(target.address, target.http_port)
        inside = addresses_inside(manifest.fleet.members[target.id].netns
                                  if manifest.fleet else None)
        assert f"inet {new}/" in inside
        assert f"inet {target.address}/" not in inside
        # No second camera on that address: refused, and that camera stays where it was.
        other = manifest.targets[4]
        with pytest.raises(FleetError, match="taken"):
            fleet.add_fault(other.id, {"kind": "readdressed", "address": new})
        assert fleet.faults(other.id) == []
        assert http_answers(other.address, other.http_port)
    finally:
        fleet.clear_faults(target.id)
    assert await serial_at(target) == target.serial
    assert not http_answers(new, target.http_port)
    assert target.address in probe(fleet.discovery_port, interface=fleet.manager_address)


def test_stopping_removes_namespaces_bridge_and_workers() -> None:
    require("netns")
    members = [FleetMember(spec) for spec in generate_fleet(3, seed=22)]
    fleet = Fleet(members, backend="netns")
    fleet.start(control_port=None)
    info = fleet.manifest().fleet
    assert info is not None
    names = {m.netns for m in info.members.values()}
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


def docker_ids(*command: str) -> set[str]:
    return set(subprocess.run(["docker", *command, "--quiet", "--no-trunc"], capture_output=True,
                              text=True, check=True).stdout.split())


def test_stopping_says_bye_and_removes_containers_network_and_workers() -> None:
    require("docker")
    members = [FleetMember(spec) for spec in generate_fleet(3, seed=22)]
    fleet = Fleet(members, backend="docker", discovery_port=free_udp_port())
    fleet.start(control_port=None)
    info = fleet.manifest().fleet
    assert info is not None
    containers = {str(m.container) for m in info.members.values()}
    networks = {subprocess.run(
        ["docker", "inspect", "--format",
         "{{range .NetworkSettings.Networks}}{{.NetworkID}}{{end}}", container],
        capture_output=True, text=True, check=True).stdout.strip() for container in containers}
    pids = fleet.worker_pids()
    assert len(containers) == 3
    assert len(networks) == 1
    assert containers <= docker_ids("ps")
    with multicast_socket(fleet.discovery_port, fleet.manager_address) as group:
        fleet.stop()
        heard = listen(group, 0.5)
    byes = {h.source for h in heard if wsd.parse_hello_bye(h.data).kind == "bye"}
    assert byes == {t.address for t in fleet.manifest().targets}  # stopped, not killed
    assert not containers & docker_ids("ps", "--all")
    assert not networks & docker_ids("network", "ls")
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True,
                           check=True).stdout
    assert not any(f"br-{network[:12]}" in links for network in networks)
    for pid in pids:
        assert subprocess.run(["kill", "-0", str(pid)], capture_output=True,
                              check=False).returncode != 0
