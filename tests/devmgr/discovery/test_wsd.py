"""WS-Discovery client against a loopback fleet: multicast, unicast sweep, Hello/Bye monitor.

Each module gets its own fleet on a free discovery port (``free_udp_port``), so parallel test
workers never hear each other's Probes. All traffic stays on 127.0.0.0/8.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from typing import cast

import pytest

from camfleet.protocols import wsdiscovery as codec
from camfleet.targets import Target, TargetsFile
from devmgr.discovery import wsd
from devmgr.discovery.merge import scope_value
from devmgr.inventory.model import WsdEndpoint
from simulators.fleet.fleet import Fleet
from tests.clients import probe as reference_probe
from tests.conftest import free_udp_port

COUNT = 30
LOOPBACK = "127.0.0.1"


@pytest.fixture(scope="module")
def fleet() -> Iterator[Fleet]:
    with Fleet.generated(COUNT, seed=7, discovery_port=free_udp_port(),
                         reboot_seconds=0.5) as running:
        yield running


@pytest.fixture(scope="module")
def manifest(fleet: Fleet) -> TargetsFile:
    return fleet.manifest()


@pytest.fixture(scope="module")
def endpoints(fleet: Fleet, manifest: TargetsFile) -> dict[str, str]:
    """address -> endpoint reference, as an independent raw-socket client sees them."""
    found = reference_probe(fleet.discovery_port, wait_s=1.5)
    assert set(found) == {t.address for t in manifest.targets}
    return {address: match.endpoint for address, match in found.items()}


def covering_cidr(addresses: list[str]) -> str:
    numbers = [int(ipaddress.IPv4Address(a)) for a in addresses]
    prefix = 32
    while (min(numbers) >> (32 - prefix)) != (max(numbers) >> (32 - prefix)):
        prefix -= 1
    return str(ipaddress.IPv4Network((min(numbers), prefix), strict=False))


def check_exactly_the_fleet(found: list[WsdEndpoint], targets: tuple[Target, ...],
                            endpoints: dict[str, str]) -> None:
    by_address = {e.address: e for e in found}
    assert len(found) == len(by_address) == len(targets)  # no duplicates
    assert set(by_address) == {t.address for t in targets}
    for target in targets:
        endpoint = by_address[target.address]
        assert endpoint.endpoint == endpoints[target.address]
        assert endpoint.xaddrs == (target.device_url,)
        assert scope_value(endpoint.scopes, "SerialNumber") == target.serial
        assert str(codec.TYPE_NVT) in endpoint.types
    order = [int(ipaddress.IPv4Address(e.address)) for e in found]
    assert order == sorted(order)


@pytest.fixture
def faults_cleared(fleet: Fleet, manifest: TargetsFile) -> Iterator[None]:
    yield
    for target in manifest.targets:
        if fleet.faults(target.id):
            fleet.clear_faults(target.id)


# -- multicast -----------------------------------------------------------------------------------

@pytest.mark.parametrize("types", ["both", "nvt", "device", "none"])
async def test_multicast_finds_exactly_the_fleet(fleet: Fleet, manifest: TargetsFile,
                                                 endpoints: dict[str, str],
                                                 types: wsd.ProbeTypes) -> None:
    stats = wsd.ProbeStats()
    found = await wsd.probe_multicast([LOOPBACK], port=fleet.discovery_port, types=types,
                                      stats=stats)
    check_exactly_the_fleet(found, manifest.targets, endpoints)
    probes = 2 if types == "both" else 1
    assert stats.datagrams_sent == probes * 3  # first copy + 2 repeats
    # Compliant devices answer a MessageID once, however many copies arrive.
    assert stats.matches == probes * COUNT
    assert stats.duplicates == (probes - 1) * COUNT
    assert stats.invalid == stats.faults == stats.unrelated == 0
    assert stats.kernel_drops == 0
    assert stats.stopped_by == "quiet"
    assert stats.rcvbuf_bytes[LOOPBACK] > 212992


async def test_interface_names_and_early_exit(fleet: Fleet, manifest: TargetsFile,
                                              endpoints: dict[str, str]) -> None:
    assert wsd.resolve_interface("lo") == LOOPBACK
    assert wsd.resolve_interface(" 127.0.0.1 ") == LOOPBACK
    with pytest.raises(ValueError, match="no network interface"):
        wsd.resolve_interface("no-such-if0")
    stats = wsd.ProbeStats()
    began = time.monotonic()
    found = await wsd.probe_multicast(["lo"], port=fleet.discovery_port, expect=COUNT,
                                      wait_s=5.0, stats=stats)
    elapsed = time.monotonic() - began
    check_exactly_the_fleet(found, manifest.targets, endpoints)
    assert stats.stopped_by == "expect"
    assert elapsed < 0.5 + 1.0  # the devices' max delay, plus slack for a loaded machine


async def test_repeats_bring_no_duplicates(fleet: Fleet, manifest: TargetsFile,
                                           endpoints: dict[str, str]) -> None:
    stats = wsd.ProbeStats()
    found = await wsd.probe_multicast([LOOPBACK, "lo"], port=fleet.discovery_port, repeat=3,
                                      wait_s=6.0, stats=stats)
    check_exactly_the_fleet(found, manifest.targets, endpoints)
    assert list(stats.rcvbuf_bytes) == [LOOPBACK]  # "lo" is the same interface: one socket
    assert stats.datagrams_sent == 2 * 4
    assert stats.matches == 2 * COUNT


async def test_non_discoverable_is_found_by_neither_route(
        fleet: Fleet, manifest: TargetsFile, faults_cleared: None) -> None:
    hidden = manifest.targets[3]
    fleet.add_fault(hidden.id, "non_discoverable")
    others = {t.address for t in manifest.targets} - {hidden.address}
    multicast = await wsd.probe_multicast([LOOPBACK], port=fleet.discovery_port)
    assert {e.address for e in multicast} == others
    cidr = covering_cidr([t.address for t in manifest.targets])
    unicast = await wsd.probe_unicast([cidr], port=fleet.discovery_port, timeout_s=0.5)
    # ONVIF Core "Modes of operation": NonDiscoverable does not listen at all, unicast too.
    assert {e.address for e in unicast} == others


# -- unicast -------------------------------------------------------------------------------------

async def test_unicast_sweep_finds_exactly_the_fleet(fleet: Fleet, manifest: TargetsFile,
                                                     endpoints: dict[str, str]) -> None:
    cidr = covering_cidr([t.address for t in manifest.targets])
    stats = wsd.SweepStats()
    found = await wsd.probe_unicast([cidr], port=fleet.discovery_port, timeout_s=0.5,
                                    stats=stats)
    check_exactly_the_fleet(found, manifest.targets, endpoints)
    hosts = list(ipaddress.IPv4Network(cidr).hosts())
    assert stats.hosts == len(hosts)
    assert stats.answered == COUNT
    assert stats.timeouts == len(hosts) - COUNT
    assert stats.source_mismatch == stats.invalid == stats.unrelated == 0
    # Unicast Probes are answered at once: no 0..500 ms random delay.
    assert stats.time_to_last_new_s is not None
    assert stats.time_to_last_new_s < 0.5


async def test_unicast_both_types_and_single_addresses(fleet: Fleet, manifest: TargetsFile,
                                                       endpoints: dict[str, str]) -> None:
    targets = manifest.targets[:5]
    stats = wsd.SweepStats()
    found = await wsd.probe_unicast([t.address for t in targets], port=fleet.discovery_port,
                                    types="both", stats=stats)
    check_exactly_the_fleet(found, targets, endpoints)
    assert stats.hosts == 5
    assert stats.timeouts == 0
    assert stats.datagrams_sent == 10


async def test_removed_camera_is_absent(fleet: Fleet, manifest: TargetsFile,
                                        faults_cleared: None) -> None:
    gone = manifest.targets[5]
    fleet.add_fault(gone.id, "removed")
    others = {t.address for t in manifest.targets} - {gone.address}
    multicast = await wsd.probe_multicast([LOOPBACK], port=fleet.discovery_port,
                                          expect=COUNT, wait_s=1.5)
    assert {e.address for e in multicast} == others
    cidr = covering_cidr([t.address for t in manifest.targets])
    unicast = await wsd.probe_unicast([cidr], port=fleet.discovery_port, timeout_s=0.5)
    assert {e.address for e in unicast} == others


async def test_huge_sweeps_are_refused_before_sending() -> None:
    with pytest.raises(wsd.TooManyHosts, match="force=True"):
        await wsd.probe_unicast(["127.0.0.0/15"], port=9)
    with pytest.raises(wsd.TooManyHosts):
        await wsd.probe_unicast(["127.1.0.0/16", "127.2.0.0/30"], port=9)
    with pytest.raises(ValueError, match="not an IPv4"):
        await wsd.probe_unicast(["127.0.0.300"], port=9)


# -- hostile and odd replies ---------------------------------------------------------------------

class FakeTarget(asyncio.DatagramProtocol):
    """Answers each Probe with garbage, a fault, a stray ProbeMatches and one good one."""

    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        try:
            probe = codec.parse_probe(data)
        except codec.InvalidMessage:
            return
        assert self.transport is not None
        reply = self.transport.sendto
        sequence = codec.AppSequence(1, 1)
        reply(b"\x00\xffnot xml at all", addr)
        reply(b'<!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>', addr)
        reply(codec.build_fault_matching_rule_not_supported(probe.message_id), addr)

        def match(relates_to: str, endpoint: str) -> bytes:
            return codec.build_probe_matches(
                relates_to, endpoint, types=[codec.TYPE_NVT],
                scopes=["onvif://www.onvif.org/name/fake"],
                xaddrs=["http://127.0.0.1:1/onvif/device_service"], metadata_version=1,
                app_sequence=sequence)

        reply(match("urn:uuid:someone-else", "urn:uuid:stray"), addr)
        reply(match(probe.message_id, "urn:uuid:fake-1"), addr)


@asynccontextmanager
async def fake_target(port: int) -> AsyncIterator[None]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((codec.MULTICAST_GROUP, port))
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
                    socket.inet_aton(codec.MULTICAST_GROUP) + socket.inet_aton(LOOPBACK))
    transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
        FakeTarget, sock=sock)
    try:
        yield
    finally:
        transport.close()


async def test_garbage_faults_and_strays_are_dropped_and_counted() -> None:
    port = free_udp_port()
    stats = wsd.ProbeStats()
    async with fake_target(port):
        found = await wsd.probe_multicast([LOOPBACK], port=port, types="nvt", repeat=0,
                                          max_delay_s=0.1, stats=stats)
    assert [(e.address, e.endpoint) for e in found] == [(LOOPBACK, "urn:uuid:fake-1")]
    assert stats.datagrams_received == 5
    assert stats.invalid == 2
    assert stats.faults == 1
    assert stats.unrelated == 1
    assert stats.matches == 1


# -- passive monitor -----------------------------------------------------------------------------

class Collector:
    """Runs ``monitor.events()`` in the background and keeps what it yields."""

    def __init__(self, monitor: wsd.DiscoveryMonitor) -> None:
        self.events: list[wsd.DiscoveryEvent] = []
        self._changed = asyncio.Condition()
        self._task = asyncio.create_task(self._collect(monitor))

    async def _collect(self, monitor: wsd.DiscoveryMonitor) -> None:
        async for event in monitor.events():
            self.events.append(event)
            async with self._changed:
                self._changed.notify_all()

    def of(self, address: str) -> list[wsd.DiscoveryEvent]:
        return [e for e in self.events if e.address == address]

    async def wait_until(self, predicate: Callable[[], bool], timeout_s: float = 10.0) -> None:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(predicate), timeout_s)

    async def wait_for(self, address: str, kind: str) -> None:
        await self.wait_until(lambda: any(e.kind == kind for e in self.of(address)))

    async def done(self) -> None:
        await asyncio.wait_for(self._task, 5)


async def test_monitor_sees_a_reboot_as_bye_then_hello(fleet: Fleet,
                                                       manifest: TargetsFile) -> None:
    target = manifest.targets[7]
    async with wsd.DiscoveryMonitor([LOOPBACK], port=fleet.discovery_port) as monitor:
        seen = Collector(monitor)
        await asyncio.to_thread(fleet.reboot, target.id)
        await seen.wait_for(target.address, "joined")
    await seen.done()
    events = seen.of(target.address)
    assert [e.kind for e in events] == ["left", "joined"]
    bye, hello = events
    assert bye.endpoint == hello.endpoint
    assert hello.xaddrs == (target.device_url,)
    assert hello.as_endpoint().address == target.address
    assert bye.app_sequence is not None
    assert hello.app_sequence is not None
    assert hello.app_sequence.instance_id > bye.app_sequence.instance_id  # it restarted
    assert {e.address for e in seen.events} == {target.address}
    assert monitor.stats.invalid == 0


async def test_monitor_hears_silence_when_removed_and_hello_when_back(
        fleet: Fleet, manifest: TargetsFile, faults_cleared: None) -> None:
    target = manifest.targets[8]
    async with wsd.DiscoveryMonitor(["lo"], port=fleet.discovery_port) as monitor:
        seen = Collector(monitor)
        await asyncio.to_thread(fleet.add_fault, target.id, "removed")
        await asyncio.sleep(1.0)
        assert seen.of(target.address) == []  # unplugged: no Bye
        await asyncio.to_thread(fleet.clear_faults, target.id)
        await seen.wait_for(target.address, "joined")
    await seen.done()
    assert [e.kind for e in seen.of(target.address)] == ["joined"]


async def test_monitor_survives_garbage_and_dedupes_hellos() -> None:
    port = free_udp_port()
    endpoint = "urn:uuid:11111111-2222-4333-8444-555555555555"
    xaddrs = ["http://127.0.0.1:8080/onvif/device_service"]

    def hello(number: int, message_id: str | None = None, instance: int = 7) -> bytes:
        return codec.build_hello(endpoint, types=[codec.TYPE_NVT], scopes=[], xaddrs=xaddrs,
                                 metadata_version=1,
                                 app_sequence=codec.AppSequence(instance, number),
                                 message_id=message_id)

    first = hello(2, "urn:uuid:00000000-0000-4000-8000-00000000000a")
    datagrams = [
        b"garbage", b"<?xml version='1.0'?><unclosed>", b"\xff" * 2000,
        first, first,                 # a SOAP-over-UDP retransmission: same MessageID
        hello(2),                     # same AppSequence, new MessageID: still a repeat
        hello(9, instance=6),         # an earlier incarnation (lower InstanceId): stale
        codec.build_probe([codec.TYPE_NVT])[1],  # someone else's Probe: not an event
        hello(3),                     # a genuine new message
        codec.build_bye(endpoint, codec.AppSequence(7, 4)),
        hello(1),                     # restarted without raising InstanceId: still reported
    ]
    async with wsd.DiscoveryMonitor([LOOPBACK], port=port) as monitor:
        seen = Collector(monitor)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            sender.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF,
                              socket.inet_aton(LOOPBACK))
            sender.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
            sender.bind((LOOPBACK, 0))
            for datagram in datagrams:
                sender.sendto(datagram, (codec.MULTICAST_GROUP, port))
                await asyncio.sleep(0.01)  # keep the order
        await seen.wait_until(lambda: len(seen.events) >= 4)
        assert monitor.kernel_drops == 0
    await seen.done()
    assert [(e.kind, e.app_sequence.message_number if e.app_sequence else None)
            for e in seen.events] == [("joined", 2), ("joined", 3), ("left", 4), ("joined", 1)]
    assert seen.events[2].xaddrs == tuple(xaddrs)  # a Bye carries none: the last Hello's
    assert all(e.address == LOOPBACK for e in seen.events)
    stats = monitor.stats
    assert (stats.invalid, stats.duplicates, stats.stale, stats.ignored) == (3, 2, 1, 1)
    assert stats.sequence_resets == 1
    assert (stats.hellos, stats.byes) == (3, 1)
