"""The simulated access switch, read and set with net-snmp's tools (an independent client)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator

import pytest

from simulators.switch import PortDevice, SimSwitch, SwitchRack, SwitchSpec
from simulators.switch.mib import SwitchMib

pytestmark = pytest.mark.skipif(shutil.which("snmpwalk") is None,
                                reason="net-snmp command-line tools are not installed")

CAM_MAC = "44:19:b6:00:00:01"
OTHER_MAC = "bc:ad:28:00:00:02"


@pytest.fixture(scope="module")
def rack() -> Iterator[tuple[SwitchRack, str]]:
    rack = SwitchRack([SwitchSpec(name="sw-a", ports=4, location="Pole 7 cabinet")])
    bound = rack.start({"sw-a": ("127.0.0.1", 0)})
    address, port = bound["sw-a"]
    try:
        yield rack, f"{address}:{port}"
    finally:
        rack.stop()


def snmp(tool: str, community: str, agent: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([tool, "-v2c", "-c", community, "-On", "-t", "1", "-r", "1", agent,
                           *args], capture_output=True, text=True, timeout=20, check=False)


def walk(agent: str, oid: str) -> dict[str, str]:
    run = snmp("snmpwalk", "public", agent, oid)
    assert run.returncode == 0, run.stderr
    # An empty subtree: snmpwalk falls back to a GET and prints "No Such Object".
    return dict(line.split(" = ", 1) for line in run.stdout.splitlines()
                if " = " in line and "No Such" not in line)


def reset(rack: SwitchRack) -> None:
    def clear(switches: dict[str, SimSwitch]) -> None:
        for n in range(1, 5):
            switches["sw-a"].unplug(n)
            switches["sw-a"].set_poe(n, True)
    rack.call(clear)


def test_a_camera_on_a_port_shows_in_if_bridge_lldp_and_poe_tables(
        rack: tuple[SwitchRack, str]) -> None:
    switch, agent = rack
    reset(switch)
    switch.call(lambda s: s["sw-a"].plug(2, PortDevice(mac=CAM_MAC, name="cam-0001", vlan=20)))
    mac_index = "68.25.182.0.0.1"
    got = walk(agent, "1.3.6.1.2.1")
    assert got[".1.3.6.1.2.1.1.5.0"] == 'STRING: "sw-a"'
    assert got[".1.3.6.1.2.1.2.2.1.8.2"] == "INTEGER: 1"  # ifOperStatus up
    assert got[".1.3.6.1.2.1.2.2.1.8.1"] == "INTEGER: 2"  # nothing on port 1: down
    assert got[".1.3.6.1.2.1.31.1.1.1.1.2"] == 'STRING: "Gi1/0/2"'  # ifName
    assert got[f".1.3.6.1.2.1.17.4.3.1.2.{mac_index}"] == "INTEGER: 2"  # dot1dTpFdbPort
    assert got[f".1.3.6.1.2.1.17.7.1.2.2.1.2.20.{mac_index}"] == "INTEGER: 2"  # VLAN 20
    assert got[".1.3.6.1.2.1.105.1.1.1.6.1.2"] == "INTEGER: 3"  # deliveringPower
    assert got[".1.3.6.1.2.1.105.1.1.1.6.1.1"] == "INTEGER: 2"  # searching
    lldp = walk(agent, "1.0.8802.1.1.2.1.4.1.1.9")
    assert lldp == {".1.0.8802.1.1.2.1.4.1.1.9.0.2.1": 'STRING: "cam-0001"'}


def test_unplugged_camera_leaves_no_link_no_mac_and_no_powered_device(
        rack: tuple[SwitchRack, str]) -> None:
    switch, agent = rack
    reset(switch)
    switch.call(lambda s: s["sw-a"].plug(3, PortDevice(mac=CAM_MAC, name="cam-0001")))
    switch.call(lambda s: s["sw-a"].unplug(3))
    got = walk(agent, "1.3.6.1.2.1")
    assert got[".1.3.6.1.2.1.2.2.1.8.3"] == "INTEGER: 2"
    assert not [oid for oid in got if oid.startswith(".1.3.6.1.2.1.17.4.3.1.2.")]
    assert got[".1.3.6.1.2.1.105.1.1.1.6.1.3"] == "INTEGER: 2"  # searching: nothing to power
    assert not walk(agent, "1.0.8802.1.1.2.1.4.1.1.9")


def test_poe_off_by_snmpset_cuts_power_link_and_mac_and_tells_the_owner(
        rack: tuple[SwitchRack, str]) -> None:
    switch, agent = rack
    reset(switch)
    heard: list[tuple[str, int, bool]] = []
    switch.on_power = lambda name, port, powered: heard.append((name, port, powered))
    try:
        switch.call(lambda s: s["sw-a"].plug(1, PortDevice(mac=OTHER_MAC, name="")))
        run = snmp("snmpset", "private", agent, "1.3.6.1.2.1.105.1.1.1.3.1.1", "i", "2")
        assert run.returncode == 0, run.stderr
        got = walk(agent, "1.3.6.1.2.1")
        assert got[".1.3.6.1.2.1.105.1.1.1.3.1.1"] == "INTEGER: 2"
        assert got[".1.3.6.1.2.1.105.1.1.1.6.1.1"] == "INTEGER: 1"  # disabled
        assert got[".1.3.6.1.2.1.2.2.1.8.1"] == "INTEGER: 2"
        assert not [oid for oid in got if oid.startswith(".1.3.6.1.2.1.17.4.3.1.2.")]
        snmp("snmpset", "private", agent, "1.3.6.1.2.1.105.1.1.1.3.1.1", "i", "1")
        assert heard == [("sw-a", 1, False), ("sw-a", 1, True)]
        assert switch.call(lambda s: s["sw-a"].link_up(1))
    finally:
        switch.on_power = None


@pytest.mark.parametrize(("community", "oid", "value", "error"), [
    ("public", "1.3.6.1.2.1.105.1.1.1.3.1.1", "2", "authorizationError"),
    ("private", "1.3.6.1.2.1.105.1.1.1.3.1.1", "7", "wrongValue"),
    ("private", "1.3.6.1.2.1.105.1.1.1.3.1.99", "2", "notWritable"),
    ("private", "1.3.6.1.2.1.1.5.0", "2", "notWritable"),
])
def test_refused_sets_change_nothing(rack: tuple[SwitchRack, str], community: str, oid: str,
                                     value: str, error: str) -> None:
    switch, agent = rack
    reset(switch)
    run = snmp("snmpset", community, agent, oid, "i", value)
    assert run.returncode != 0
    assert error in run.stderr
    assert switch.call(lambda s: all(p.poe_enabled for p in s["sw-a"].ports.values()))


def test_a_silent_mac_ages_out_and_a_talking_one_stays() -> None:
    now = [0.0]
    switch = SimSwitch(SwitchSpec(name="sw-b", ports=2, aging_s=300), clock=lambda: now[0])
    switch.plug(1, PortDevice(mac=CAM_MAC, talks=False))
    switch.plug(2, PortDevice(mac=OTHER_MAC))
    now[0] = 301.0
    assert switch.fdb() == [(OTHER_MAC, 2, 1)]
    assert switch.link_up(1)  # the link stays: only the table forgets


def test_a_wrong_type_is_refused_whole() -> None:
    from pysnmp.proto import rfc1902  # noqa: PLC0415
    from pysnmp.smi import error as smi_error  # noqa: PLC0415

    switch = SimSwitch(SwitchSpec(name="sw-c", ports=2))
    mib = SwitchMib(switch)
    ok = ((1, 3, 6, 1, 2, 1, 105, 1, 1, 1, 3, 1, 1), rfc1902.Integer32(2))
    bad = ((1, 3, 6, 1, 2, 1, 105, 1, 1, 1, 3, 1, 2), rfc1902.OctetString(b"off"))
    with pytest.raises(smi_error.WrongTypeError):
        mib.write_variables(ok, bad)
    assert switch.ports[1].poe_enabled  # all or nothing
