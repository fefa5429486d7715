"""Discovery of a 200-camera fleet by every route, merged into one record per unit."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Iterator

import pytest

from camfleet.targets import TargetsFile
from devmgr.discovery.run import DiscoveryOptions, DiscoveryReport, discover
from devmgr.inventory.model import Route
from devmgr.snmp import SnmpConfig
from simulators.fleet.fleet import Fleet
from simulators.fleet.generate import FleetMember, generate_fleet
from tests.clients import requires_netsnmp
from tests.conftest import free_udp_port

COUNT = 200
HIDDEN = (7, 140)  # NonDiscoverable: only SNMP can find them


@pytest.fixture(scope="module")
def fleet() -> Iterator[Fleet]:
    with Fleet([FleetMember(s) for s in generate_fleet(COUNT, seed=200)],
               discovery_port=free_udp_port()) as running:
        for index in HIDDEN:
            running.add_fault(running.camera_ids[index], "non_discoverable")
        yield running


@pytest.fixture(scope="module")
def manifest(fleet: Fleet) -> TargetsFile:
    return fleet.manifest()


def covering_cidr(addresses: list[str]) -> str:
    first, last = (ipaddress.IPv4Address(a) for a in (min(addresses, key=_key),
                                                      max(addresses, key=_key)))
    network = ipaddress.IPv4Network(f"{first}/32")
    while last not in network:
        network = network.supernet()
    return str(network)


def _key(address: str) -> int:
    return int(ipaddress.IPv4Address(address))


@pytest.fixture(scope="module")
def report(fleet: Fleet, manifest: TargetsFile) -> DiscoveryReport:
    communities = sorted({t.snmp.community for t in manifest.targets
                          if t.snmp and t.snmp.community})
    options = DiscoveryOptions(interfaces=("lo",), port=fleet.discovery_port,
                               cidrs=(covering_cidr([t.address for t in manifest.targets]),),
                               # Generous, and the whole wait: a busy CI machine's 200
                               # simulated cameras answer late, not never.
                               wait_s=5.0, quiet_s=None, timeout_s=3.0,
                               snmp=SnmpConfig(communities=tuple(communities),
                                               timeout_s=3.0, retries=2))
    return asyncio.run(discover(options))


def test_multicast_finds_exactly_the_discoverable_cameras(fleet: Fleet, manifest: TargetsFile,
                                                          report: DiscoveryReport) -> None:
    hidden = {manifest.targets[i].address for i in HIDDEN}
    expected = {t.address for t in manifest.targets} - hidden
    assert {e.address for e in report.multicast} == expected
    assert {e.address for e in report.unicast} == expected  # NonDiscoverable ignores unicast


@requires_netsnmp
def test_snmp_sweep_finds_all_200(manifest: TargetsFile, report: DiscoveryReport) -> None:
    assert report.snmp is not None
    assert {i.address for i in report.snmp.identities} == {t.address for t in manifest.targets}


def test_one_merged_record_per_camera_with_its_serial_and_mac(
        manifest: TargetsFile, report: DiscoveryReport) -> None:
    assert len(report.devices) == COUNT
    by_address = {d.addresses[0]: d for d in report.devices}
    for index, target in enumerate(manifest.targets):
        device = by_address[target.address]
        assert device.addresses == (target.address,)
        assert device.serial == target.serial
        assert device.mac == target.mac
        routes = set(device.routes)
        if index in HIDDEN:
            assert routes == {Route.SNMP}
        else:
            assert routes == {Route.WSD_MULTICAST, Route.WSD_UNICAST, Route.SNMP}
            assert device.xaddrs == (target.device_url,)
