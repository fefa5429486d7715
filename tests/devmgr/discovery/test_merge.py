"""merge_devices: one record per physical unit, linked by serial, MAC, endpoint, address."""

from __future__ import annotations

import random

from devmgr.discovery.merge import merge_devices, scope_value, tagged
from devmgr.inventory.model import Route, SnmpIdentity, WsdEndpoint

ONVIF = "onvif://www.onvif.org"
MCAST, UCAST, HELLO, SNMP = Route.WSD_MULTICAST, Route.WSD_UNICAST, Route.WSD_HELLO, Route.SNMP


def seen(address: str, endpoint: str, *, serial: str | None = None, mac: str | None = None,
         hardware: str | None = None) -> WsdEndpoint:
    scopes = [f"{ONVIF}/type/NetworkVideoTransmitter", f"{ONVIF}/Profile/Streaming"]
    if hardware:
        scopes.append(f"{ONVIF}/hardware/{hardware}")
    if mac:
        scopes.append(f"{ONVIF}/MacAddress/{mac}")
    if serial:
        scopes.append(f"{ONVIF}/SerialNumber/{serial}")
    return WsdEndpoint(address=address, endpoint=endpoint, scopes=tuple(scopes),
                       xaddrs=(f"http://{address}/onvif/device_service",))


def agent(address: str, *, serial: str = "", mac: str | None = None, model: str = "",
          vendor: str = "", port: int = 161) -> SnmpIdentity:
    return SnmpIdentity(address=address, port=port, serial=serial, mac=mac, model=model,
                        vendor=vendor, sys_name=f"agent-{address}")


def test_scope_values() -> None:
    scopes = [f"{ONVIF}/SerialNumber/AB%2012", "ONVIF://WWW.ONVIF.ORG/hardware/DS-2CD",
              "http://www.onvif.org/SerialNumber/not-onvif", f"{ONVIF}/location/city/wuhan"]
    assert scope_value(scopes, "SerialNumber") == "AB 12"
    assert scope_value(scopes, "serialnumber") == "AB 12"
    assert scope_value(scopes, "hardware") == "DS-2CD"
    assert scope_value(scopes, "location") == "city/wuhan"
    assert scope_value(scopes, "MacAddress") is None


def test_same_unit_by_serial_across_addresses() -> None:
    # A unit that moved between the WS-Discovery and the SNMP sweep: the serial is the unit.
    devices = merge_devices(tagged(MCAST, [seen("10.0.0.5", "urn:uuid:a", serial="SN1")]),
                            [agent("10.0.0.9", serial="sn1", vendor="Hikvision")])
    assert len(devices) == 1
    device = devices[0]
    assert device.addresses == ("10.0.0.5", "10.0.0.9")
    assert device.routes == (MCAST, SNMP)
    assert device.serial == "sn1"  # SNMP's ENTITY-MIB value; matched case-insensitively
    assert device.key == "serial:sn1"
    assert device.vendor == "Hikvision"
    assert device.endpoint == "urn:uuid:a"


def test_same_unit_by_mac() -> None:
    devices = merge_devices(tagged(UCAST, [seen("10.0.0.5", "urn:uuid:a", mac="C056E3F2CE21")]),
                            [agent("10.0.0.6", mac="c0-56-e3-f2-ce-21")])
    assert len(devices) == 1
    assert devices[0].mac == "c0:56:e3:f2:ce:21"
    assert devices[0].key == "mac:c0:56:e3:f2:ce:21"
    assert devices[0].routes == (UCAST, SNMP)


def test_same_unit_by_endpoint_reference() -> None:
    # Multicast and a later Hello from a new DHCP lease: same endpoint reference, no serial.
    devices = merge_devices([(MCAST, seen("10.0.0.5", "urn:uuid:a")),
                             (HELLO, seen("10.0.0.77", "urn:uuid:a")),
                             (UCAST, seen("10.0.0.5", "urn:uuid:a"))])
    assert len(devices) == 1
    assert devices[0].routes == (MCAST, UCAST, HELLO)
    assert devices[0].addresses == ("10.0.0.5", "10.0.0.77")
    assert devices[0].key == "endpoint:urn:uuid:a"
    assert devices[0].xaddrs == ("http://10.0.0.5/onvif/device_service",
                                 "http://10.0.0.77/onvif/device_service")


def test_same_unit_by_address_when_nothing_conflicts() -> None:
    devices = merge_devices(tagged(MCAST, [seen("10.0.0.5", "urn:uuid:a", hardware="IPC-1")]),
                            [agent("10.0.0.5", vendor="Dahua", model="IPC-HFW")])
    assert len(devices) == 1
    device = devices[0]
    assert device.routes == (MCAST, SNMP)
    assert (device.vendor, device.model) == ("Dahua", "IPC-HFW")  # SNMP first
    assert device.snmp is not None
    assert device.snmp.sys_name == "agent-10.0.0.5"


def test_conflicting_serials_at_one_address_stay_separate() -> None:
    # Replaced between the sweeps (or a NAT in front of two units): two units, not one.
    devices = merge_devices(
        tagged(MCAST, [seen("10.0.0.5", "urn:uuid:old", serial="OLD1")]),
        [agent("10.0.0.5", serial="NEW2"),
         agent("10.0.0.5", port=1161)])  # no identifier: which unit it belongs to is unknown
    assert len(devices) == 3
    keys = [d.key for d in devices]
    assert sorted(keys) == ["address:10.0.0.5", "serial:NEW2", "serial:OLD1"]
    by_key = {d.key: d for d in devices}
    assert by_key["serial:OLD1"].routes == (MCAST,)
    assert by_key["serial:NEW2"].routes == (SNMP,)
    assert by_key["serial:NEW2"].endpoint == ""


def test_conflicting_macs_or_endpoints_at_one_address_stay_separate() -> None:
    devices = merge_devices(tagged(MCAST, [seen("10.0.0.5", "urn:uuid:a", mac="001122334455")]),
                            [agent("10.0.0.5", mac="00:11:22:33:44:66")])
    assert len(devices) == 2
    devices = merge_devices([(MCAST, seen("10.0.0.5", "urn:uuid:a")),
                             (UCAST, seen("10.0.0.5", "urn:uuid:b"))])
    assert [d.key for d in devices] == ["endpoint:urn:uuid:a", "endpoint:urn:uuid:b"]


def test_serial_outranks_mac_and_endpoint() -> None:
    # Two NICs (two MACs) and a factory reset (new endpoint UUID): still one serial, one unit.
    devices = merge_devices(
        [(MCAST, seen("10.0.0.5", "urn:uuid:a", serial="S1", mac="001122334455")),
         (HELLO, seen("10.0.1.5", "urn:uuid:b", serial="S1", mac="001122334456"))],
        [agent("10.0.1.5", serial="S1", mac="00:11:22:33:44:56")])
    assert len(devices) == 1
    assert devices[0].mac == "00:11:22:33:44:55"  # what ONVIF states first
    assert devices[0].endpoint == "urn:uuid:a"


def test_shared_mac_or_cloned_endpoint_does_not_join_different_serials() -> None:
    # Cheap firmware that ships one endpoint UUID (or one MAC) on every unit.
    devices = merge_devices(
        [(MCAST, seen("10.0.0.5", "urn:uuid:clone", serial="S1", mac="001122334455")),
         (MCAST, seen("10.0.0.6", "urn:uuid:clone", serial="S2", mac="001122334455"))])
    assert [d.key for d in devices] == ["serial:S1", "serial:S2"]


def test_placeholder_serials_and_macs_identify_nothing() -> None:
    devices = merge_devices(
        [(MCAST, seen("10.0.0.5", "urn:uuid:a", serial="000000", mac="000000000000")),
         (MCAST, seen("10.0.0.6", "urn:uuid:b", serial="000000", mac="000000000000"))],
        [agent("10.0.0.7", serial="unknown"), agent("10.0.0.8", serial="unknown")])
    assert len(devices) == 4
    assert devices[0].serial == ""
    assert devices[0].mac is None


def test_non_discoverable_unit_seen_only_by_snmp() -> None:
    devices = merge_devices(
        tagged(MCAST, [seen("10.0.0.5", "urn:uuid:a", serial="S1")]),
        [agent("10.0.0.5", serial="S1"), agent("10.0.0.6", serial="S2", model="DS-2DE")])
    assert len(devices) == 2
    hidden = devices[1]
    assert hidden.routes == (SNMP,)
    assert hidden.addresses == ("10.0.0.6",)
    assert (hidden.serial, hidden.model, hidden.endpoint, hidden.xaddrs) == ("S2", "DS-2DE",
                                                                             "", ())


def test_model_from_the_hardware_scope_without_snmp() -> None:
    [device] = merge_devices(tagged(MCAST, [seen("10.0.0.5", "urn:uuid:a",
                                                 hardware="DS-2CD2143G2-I")]))
    assert (device.vendor, device.model) == ("", "DS-2CD2143G2-I")


def test_numeric_order_and_input_order_independence() -> None:
    addresses = ["10.0.0.10", "10.0.0.9", "10.0.0.100", "9.255.0.1", "10.0.1.0"]
    wsd = [(MCAST, seen(a, f"urn:uuid:{i}", serial=f"S{i}")) for i, a in enumerate(addresses)]
    snmp = [agent(a, serial=f"S{i}") for i, a in enumerate(addresses)]
    snmp.append(agent("10.0.0.9", serial="OTHER"))  # a conflict, to make order matter if it did
    devices = merge_devices(wsd, snmp)
    assert [d.addresses[0] for d in devices] == ["9.255.0.1", "10.0.0.9", "10.0.0.9",
                                                 "10.0.0.10", "10.0.0.100", "10.0.1.0"]
    rng = random.Random(5)
    for _ in range(10):
        rng.shuffle(wsd)
        rng.shuffle(snmp)
        assert merge_devices(wsd, snmp) == devices
