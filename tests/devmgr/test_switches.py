"""The manager's switch reader against the simulated switch, and against absurd tables."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from pysnmp.proto import rfc1902

from camfleet.errors import ErrorKind
from camfleet.targets import SnmpCredentials, SwitchTarget
from devmgr.switches import (
    SwitchReading,
    locate,
    parse_tables,
    power_cycle,
    read_switch,
    read_switches,
    set_port_power,
)
from simulators.switch import PortDevice, SimSwitch, SwitchRack, SwitchSpec

CAM = "44:19:b6:00:00:01"
OTHER = "bc:ad:28:00:00:02"


@pytest.fixture(scope="module")
def rack() -> Iterator[tuple[SwitchRack, SwitchTarget]]:
    rack = SwitchRack([SwitchSpec(name="sw-a", ports=8)])
    bound = rack.start({"sw-a": ("127.0.0.1", 0)})
    address, port = bound["sw-a"]
    try:
        yield rack, SwitchTarget(name="sw-a", address=address,
                                 snmp=SnmpCredentials(port=port, community="public"))
    finally:
        rack.stop()


def setup_ports(switches: dict[str, SimSwitch]) -> None:
    switch = switches["sw-a"]
    for n in range(1, 9):
        switch.unplug(n)
    switch.plug(2, PortDevice(mac=CAM, name="cam-0001", vlan=20))
    switch.plug(5, PortDevice(mac=OTHER))


def test_reads_where_each_unit_is_and_the_port_evidence(
        rack: tuple[SwitchRack, SwitchTarget]) -> None:
    switch, target = rack
    switch.call(setup_ports)
    (reading,) = asyncio.run(read_switches([target], timeout_s=1.0))
    assert reading.error is None
    found = locate(CAM.upper(), [reading])
    assert found is not None
    assert (found.switch, found.port, found.port_name, found.vlan) == ("sw-a", 2, "Gi1/0/2", 20)
    assert (found.evidence.link_up, found.evidence.poe, found.evidence.lldp_name) == (
        True, "deliveringPower", "cam-0001")
    assert reading.ports[3].device_present is False  # nothing there: no link, PoE searching
    assert locate("00:00:5e:00:53:01", [reading]) is None


def test_a_wrong_community_is_a_classified_error_not_an_exception(
        rack: tuple[SwitchRack, SwitchTarget]) -> None:
    _, target = rack
    wrong = target.model_copy(update={"snmp": SnmpCredentials(port=target.snmp.port,
                                                              community="wrong")})
    reading = asyncio.run(read_switch(wrong, timeout_s=0.2, retries=0))
    assert reading.error is not None
    assert reading.error.kind is ErrorKind.TIMEOUT  # v2c agents drop a wrong community
    assert not reading.fdb


def test_a_walk_stops_at_the_row_bound_and_says_so(
        rack: tuple[SwitchRack, SwitchTarget]) -> None:
    _, target = rack
    reading = asyncio.run(read_switch(target, timeout_s=1.0, max_rows=3))
    assert reading.error is None
    assert "ifOperStatus" in reading.truncated
    assert len([p for p in reading.ports.values() if p.link_up is not None]) == 3


def fdb_row(vlan: int, mac: bytes, port: int) -> tuple[tuple[int, ...], object]:
    return (vlan, *mac), rfc1902.Integer32(port)


def test_absurd_tables_are_bounded_and_classified() -> None:
    empty = SwitchReading(name="sw-x", address="192.0.2.1")
    # One MAC on 500 ports (a loop, or a hub), and 100k rows of other MACs: parsed without
    # blowing up, the ports capped, garbage rows counted and dropped.
    Rows = list[tuple[tuple[int, ...], object]]
    rows: Rows = [fdb_row(1, bytes.fromhex("4419b6000001"), p) for p in range(1, 501)]
    rows += [fdb_row(1, n.to_bytes(6, "big"), 1 + n % 48) for n in range(100_000)]
    rows += [((1, 300, 1, 2, 3, 4, 5), rfc1902.Integer32(3)),  # octet out of range
             ((1, 1, 2, 3), rfc1902.Integer32(3)),  # short index
             ((1, 0, 0, 0, 0, 0, 9), rfc1902.OctetString(b"x"))]  # wrong type
    lldp: Rows = [((0, 7, 1), rfc1902.OctetString(b"\xff" * 5000))]
    reading = parse_tables(empty, {"dot1qTpFdbPort": rows, "lldpRemSysName": lldp})
    assert reading.rejected == 3
    assert len(reading.fdb[CAM]) == 500
    found = locate(CAM, [reading])
    assert found is not None
    assert found.seen_on == 500
    assert found.port > 48  # the access port is the one with the fewest MACs, not an uplink
    assert len(reading.ports[7].lldp_name) <= 64


def test_power_control_switches_the_port_and_refusals_are_classified(
        rack: tuple[SwitchRack, SwitchTarget]) -> None:
    switch, target = rack
    switch.call(setup_ports)
    heard: list[tuple[str, int, bool]] = []
    switch.on_power = lambda name, port, powered: heard.append((name, port, powered))
    writer = target.model_copy(update={"write_community": "private"})
    try:
        assert asyncio.run(power_cycle(writer, 2, off_s=0.0, timeout_s=1.0)) is None
        assert heard == [("sw-a", 2, False), ("sw-a", 2, True)]
        read_only = target.model_copy(update={"write_community": "public"})
        refused = asyncio.run(set_port_power(read_only, 2, False, timeout_s=1.0))
        assert refused is not None
        assert refused.kind is ErrorKind.AUTH
        no_port = asyncio.run(set_port_power(writer, 99, False, timeout_s=1.0))
        assert no_port is not None
        assert no_port.kind is ErrorKind.PROTOCOL
        unset = asyncio.run(set_port_power(target, 2, False))
        assert unset is not None
        assert unset.kind is ErrorKind.AUTH
        assert heard == [("sw-a", 2, False), ("sw-a", 2, True)]  # nothing else changed
    finally:
        switch.on_power = None
