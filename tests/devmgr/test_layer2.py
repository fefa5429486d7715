"""The ARP sweep on a real L2 segment (a netns fleet's bridge), and against bad frames."""

from __future__ import annotations

import asyncio
import ipaddress
import subprocess
import threading
from collections.abc import Iterator

import pytest

from devmgr.layer2 import (
    Capture,
    arp_sweep,
    listen,
    parse_frame,
    parse_reply,
    readdressed,
    vendor_for,
)
from devmgr.switches import locate, read_switches
from simulators.fleet.fleet import Fleet
from simulators.fleet.generate import FleetMember, generate_fleet
from simulators.switch.model import SwitchSpec
from tests.simulators.fleet.backends import require

scapy = pytest.importorskip("scapy", reason="scapy (the layer2 extra) is not installed")


def interface_with(address: str) -> tuple[str, str]:
    """(interface, CIDR) of the root namespace's interface carrying ``address``."""
    listed = subprocess.run(["ip", "-o", "-4", "addr", "show"], capture_output=True, text=True,
                            check=True).stdout
    for line in listed.splitlines():
        fields = line.split()
        if fields[3].split("/")[0] == address:
            return fields[1], str(ipaddress.IPv4Interface(fields[3]).network)
    raise AssertionError(f"no interface has {address}")


@pytest.fixture(scope="module")
def fleet() -> Iterator[Fleet]:
    require("netns")
    specs = generate_fleet(4, seed=41)
    # The last camera has discovery and SNMP off: only ARP can find it.
    quiet = specs[3].model_copy(update={"snmp": specs[3].snmp.model_copy(
        update={"enabled": False})})
    members = [FleetMember(s) for s in specs[:3]] + [FleetMember(quiet)]
    with Fleet(members, backend="netns", reboot_seconds=0.3,
               switches=[SwitchSpec(name="sw-netns", ports=8)]) as running:
        running.add_fault(quiet.id, "non_discoverable")
        yield running


def test_the_sweep_finds_every_camera_with_its_vendor(fleet: Fleet) -> None:
    manifest = fleet.manifest()
    assert manifest.fleet is not None
    interface, cidr = interface_with(manifest.fleet.manager_address)
    result = asyncio.run(arp_sweep(interface, cidr, timeout_s=1.0,
                                   source=manifest.fleet.manager_address))
    assert result.error == ""
    found = {h.address: h for h in result.hosts}
    for target in manifest.targets:
        assert target.address in found, target.id
        host = found[target.address]
        assert host.mac == target.mac
        truth = fleet.truth(target.id)["spec"]["identity"]["manufacturer"]
        assert host.vendor == truth
    # The netns fleet's switch (its agent on the manager's side of the bridge) places the
    # same units ARP found, the quiet one included.
    (reading,) = asyncio.run(read_switches(manifest.switches))
    assert reading.error is None
    assert all(locate(h.mac, [reading]) is not None for h in result.hosts)


def test_no_raw_socket_or_bad_input_is_a_reason_not_a_crash() -> None:
    assert "more than" in asyncio.run(arp_sweep("lo", "10.0.0.0/8")).error
    assert "not an IPv4 network" in asyncio.run(arp_sweep("lo", "banana")).error
    assert "cannot open" in asyncio.run(arp_sweep("no-such-if0", "10.9.9.0/30")).error


def test_malformed_frames_are_dropped() -> None:
    from scapy.layers.l2 import ARP, Ether  # noqa: PLC0415

    network = ipaddress.IPv4Network("10.77.0.0/24")
    good = bytes(Ether(src="44:19:b6:00:00:09") / ARP(op=2, hwsrc="44:19:b6:00:00:09",
                                                      psrc="10.77.0.9", pdst="10.77.0.1"))
    host = parse_reply(good, network)
    assert host is not None
    assert (host.address, host.vendor) == ("10.77.0.9", "Hikvision")
    bad = [good[:20], good[:14] + b"\xff" * 28, b"", b"\x00" * 4000,
           bytes(Ether() / ARP(op=1, psrc="10.77.0.9")),  # a request, not a reply
           bytes(Ether() / ARP(op=2, psrc="192.0.2.9", hwsrc="44:19:b6:00:00:09")),  # elsewhere
           bytes(Ether() / ARP(op=2, psrc="10.77.0.9", hwsrc="ff:ff:ff:ff:ff:ff"))]  # multicast
    assert [parse_reply(frame, network) for frame in bad] == [None] * len(bad)
    assert vendor_for("02:00:00:00:00:01") == ""  # locally administered
    assert vendor_for("zz") == ""


def test_passive_capture_hears_a_rebooting_camera_announce_itself(fleet: Fleet) -> None:
    manifest = fleet.manifest()
    assert manifest.fleet is not None
    interface, _ = interface_with(manifest.fleet.manager_address)
    target = manifest.targets[0]
    heard: list[Capture] = []
    listener = threading.Thread(target=lambda: heard.append(
        asyncio.run(listen(interface, 2.5))))
    listener.start()
    fleet.reboot(target.id)
    listener.join()
    (capture,) = heard
    assert capture.error == ""
    events = capture.events
    hellos = [e for e in events if e.kind == "hello" and e.mac == target.mac]
    assert hellos, events
    assert any(target.address in x for x in hellos[0].xaddrs)
    assert hellos[0].address == target.address
    # Filed at another address: the Hello is evidence that it was re-addressed.
    moved_from = {target.mac or "": "10.255.0.9"}
    assert readdressed(hellos, moved_from) == {target.mac: ("10.255.0.9", target.address)}


def test_passive_capture_hears_a_readdressed_camera_speak_from_its_new_subnet(
        fleet: Fleet) -> None:
    """Re-addressed for real (its interface moves into another /24): its Hello comes from
    the new address, with its own MAC, and pairs with the address it was filed at."""
    manifest = fleet.manifest()
    assert manifest.fleet is not None
    interface, _ = interface_with(manifest.fleet.manager_address)
    target = manifest.targets[1]
    new = fleet.spare_address(0, other_subnet=True)
    heard: list[Capture] = []
    listener = threading.Thread(target=lambda: heard.append(
        asyncio.run(listen(interface, 2.5))))
    listener.start()
    try:
        fleet.add_fault(target.id, {"kind": "readdressed", "address": new})
        listener.join()
    finally:
        fleet.clear_faults(target.id)
    (capture,) = heard
    hellos = [e for e in capture.events if e.kind == "hello" and e.mac == target.mac]
    assert hellos, capture.events
    assert readdressed(hellos, {target.mac or "": target.address}) == {
        target.mac: (target.address, new)}


def test_dhcp_is_read_and_garbage_is_refused() -> None:
    from scapy.layers.dhcp import BOOTP, DHCP  # noqa: PLC0415
    from scapy.layers.inet import IP, UDP  # noqa: PLC0415
    from scapy.layers.l2 import Ether  # noqa: PLC0415

    mac = "3c:ef:8c:00:00:07"
    request = bytes(Ether(src=mac, dst="ff:ff:ff:ff:ff:ff") / IP(src="0.0.0.0",
                                                                dst="255.255.255.255")
                    / UDP(sport=68, dport=67) / BOOTP(chaddr=bytes.fromhex("3cef8c000007"))
                    / DHCP(options=[("message-type", "request"),
                                    ("requested_addr", "10.77.0.40"), "end"]))
    event = parse_frame(request)
    assert event is not None
    assert (event.kind, event.mac, event.address, event.detail) == (
        "dhcp", mac, "10.77.0.40", "request")
    hello = bytes(Ether(src=mac) / IP(src="10.77.0.40", dst="239.255.255.250")
                  / UDP(sport=3702, dport=3702)) + b"<Hello><not-xml"
    with pytest.raises(ValueError, match="garbled"):
        parse_frame(hello)
    assert parse_frame(b"\x00" * 10) is None
    assert parse_frame(bytes(Ether(src=mac) / IP() / UDP(sport=5000, dport=5001))) is None


def test_arp_is_a_discovery_route_merged_into_one_record_per_unit(fleet: Fleet) -> None:
    from devmgr.discovery.run import DiscoveryOptions, discover  # noqa: PLC0415
    from devmgr.inventory.model import Route  # noqa: PLC0415

    manifest = fleet.manifest()
    assert manifest.fleet is not None
    manager = manifest.fleet.manager_address
    interface, cidr = interface_with(manager)
    options = DiscoveryOptions(interfaces=(manager,), cidrs=(cidr,), wait_s=1.0,
                               arp_interface=interface, unicast=False)
    report = asyncio.run(discover(options))
    assert [s.error for s in report.arp] == [""]
    by_mac = {d.mac: d for d in report.devices}
    assert len(report.devices) == len(manifest.targets)  # one record per unit
    quiet = manifest.targets[3]
    assert by_mac[quiet.mac].routes == (Route.ARP,)  # discovery and SNMP off: ARP alone
    assert by_mac[quiet.mac].vendor == fleet.truth(quiet.id)["spec"]["identity"][
        "manufacturer"]
    for target in manifest.targets[:3]:
        assert set(by_mac[target.mac].routes) == {Route.WSD_MULTICAST, Route.ARP}


def test_a_removed_camera_leaves_arp_and_a_hung_one_does_not(fleet: Fleet) -> None:
    manifest = fleet.manifest()
    assert manifest.fleet is not None
    manager = manifest.fleet.manager_address
    interface, cidr = interface_with(manager)
    gone, hung = manifest.targets[1], manifest.targets[2]
    try:
        fleet.set_faults(gone.id, [{"kind": "removed"}])
        fleet.set_faults(hung.id, [{"kind": "services_down"}])
        answered = {h.address for h in asyncio.run(arp_sweep(
            interface, cidr, timeout_s=1.0, source=manager)).hosts}
        assert gone.address not in answered  # no link: not even ARP
        assert hung.address in answered  # hung services, but the unit is there
    finally:
        fleet.set_faults(gone.id, [])
        fleet.set_faults(hung.id, [])
    answered = {h.address for h in asyncio.run(arp_sweep(
        interface, cidr, timeout_s=1.0, source=manager)).hosts}
    assert gone.address in answered
