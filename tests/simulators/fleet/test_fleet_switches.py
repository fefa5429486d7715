"""A loopback fleet with access switches, observed with net-snmp (an independent client).

The switch must tell the Art. 10 cases apart the way a field engineer reads them: a removed
camera leaves no link, no MAC and no powered device; a camera whose services hung is still
linked, learned and powered; a moved one shows up on another switch. PoE off over SNMP
silences a camera and PoE on boots it.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from camfleet.targets import SwitchTarget, Target
from simulators.fleet.fleet import Fleet, FleetError
from simulators.fleet.generate import FleetMember, load_fleet_file, load_fleet_switches
from simulators.spec import SpecError
from simulators.switch.model import Attachment, SwitchSpec
from tests.clients import requires_netsnmp, snmpget
from tests.conftest import free_udp_port

pytestmark = requires_netsnmp

FDB_PORT = ".1.3.6.1.2.1.17.4.3.1.2."
IF_OPER = ".1.3.6.1.2.1.2.2.1.8."
PETH_DETECTION = ".1.3.6.1.2.1.105.1.1.1.6.1."
PETH_ADMIN = "1.3.6.1.2.1.105.1.1.1.3.1."
UP, DOWN = "1", "2"  # ifOperStatus
DISABLED, SEARCHING, DELIVERING = "1", "2", "3"  # pethPsePortDetectionStatus
ENGINE_BOOTS = "1.3.6.1.6.3.10.2.1.2.0"
FLEET_FILE = """
switches:
  - {name: sw-north, ports: 8}
  - {name: sw-south, ports: 8, vlan: 30}
cameras:
  - count: 3
    seed: 5
    attachment: {switch: sw-north, port: 2}
  - id: gate
    attachment: {switch: sw-south, port: 4, lldp: false}
"""


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    path = tmp_path_factory.mktemp("fleet") / "fleet.yaml"
    path.write_text(FLEET_FILE, encoding="utf-8")
    members = load_fleet_file(path)
    with Fleet(members, switches=load_fleet_switches(path), http_port=0, snmp_port=0,
               discovery_port=free_udp_port(), reboot_seconds=0.2) as running:
        yield running


def switch(fleet: Fleet, name: str) -> SwitchTarget:
    return next(s for s in fleet.manifest().switches if s.name == name)


def walk(target: SwitchTarget, oid: str = "1.3.6.1.2.1") -> dict[str, str]:
    run = subprocess.run(["snmpwalk", "-v2c", "-c", target.snmp.community or "", "-On", "-Oq",
                          "-t", "1", "-r", "1", f"{target.address}:{target.snmp.port}", oid],
                         capture_output=True, text=True, timeout=30, check=False)
    assert run.returncode == 0, run.stderr
    return dict(line.split(" ", 1) for line in run.stdout.splitlines()
                if " " in line and "No Such" not in line)


def mac_index(mac: str) -> str:
    return ".".join(str(int(octet, 16)) for octet in mac.split(":"))


def learned_port(table: dict[str, str], mac: str) -> int | None:
    value = table.get(FDB_PORT + mac_index(mac))
    return int(value) if value is not None else None


def target(fleet: Fleet, camera_id: str) -> Target:
    return fleet.manifest().by_id()[camera_id]


def test_the_fleet_file_places_cameras_and_each_switch_learned_its_own(fleet: Fleet) -> None:
    manifest = fleet.manifest()
    assert manifest.fleet is not None
    where = {cid: m.attachment for cid, m in manifest.fleet.members.items()}
    assert where == {"cam-0000": {"switch": "sw-north", "port": 2, "vlan": 1},
                     "cam-0001": {"switch": "sw-north", "port": 3, "vlan": 1},
                     "cam-0002": {"switch": "sw-north", "port": 4, "vlan": 1},
                     "gate": {"switch": "sw-south", "port": 4, "vlan": 30}}
    north, south = walk(switch(fleet, "sw-north")), walk(switch(fleet, "sw-south"))
    cams = manifest.by_id()
    assert learned_port(north, cams["cam-0001"].mac or "") == 3
    assert learned_port(south, cams["gate"].mac or "") == 4
    assert learned_port(north, cams["gate"].mac or "") is None
    vlan30 = walk(switch(fleet, "sw-south"), "1.3.6.1.2.1.17.7.1.2.2.1.2.30")
    assert list(vlan30.values()) == ["4"]
    # The gate camera does not speak LLDP; the north cameras do, under their host names.
    assert not walk(switch(fleet, "sw-south"), "1.0.8802.1.1.2.1.4.1.1.9")
    names = walk(switch(fleet, "sw-north"), "1.0.8802.1.1.2.1.4.1.1.9")
    assert sorted(k.rsplit(".", 2)[-2] for k in names) == ["2", "3", "4"]


def test_removed_services_down_and_moved_read_differently_on_the_switches(
        fleet: Fleet) -> None:
    cams = fleet.manifest().by_id()
    try:
        fleet.set_faults("cam-0000", [{"kind": "removed"}])
        fleet.set_faults("cam-0001", [{"kind": "services_down"}])
        fleet.set_faults("cam-0002", [{"kind": "moved", "switch": "sw-south", "port": 7}])
        north, south = walk(switch(fleet, "sw-north")), walk(switch(fleet, "sw-south"))
        # Both are silent on their own SNMP agents ...
        assert snmpget(cams["cam-0000"], ENGINE_BOOTS, timeout_s=0.3) == []
        assert snmpget(cams["cam-0001"], ENGINE_BOOTS, timeout_s=0.3) == []
        # ... but only the removed one is gone from the switch.
        assert (north[IF_OPER + "2"], learned_port(north, cams["cam-0000"].mac or ""),
                north[PETH_DETECTION + "2"]) == (DOWN, None, SEARCHING)
        assert (north[IF_OPER + "3"], learned_port(north, cams["cam-0001"].mac or ""),
                north[PETH_DETECTION + "3"]) == (UP, 3, DELIVERING)
        assert learned_port(north, cams["cam-0002"].mac or "") is None
        assert learned_port(south, cams["cam-0002"].mac or "") == 7
        assert snmpget(cams["cam-0002"], ENGINE_BOOTS) != []  # the moved unit answers
    finally:
        for camera_id in ("cam-0000", "cam-0001", "cam-0002"):
            fleet.set_faults(camera_id, [])
    north = walk(switch(fleet, "sw-north"))
    assert [learned_port(north, cams[c].mac or "") for c in ("cam-0000", "cam-0002")] == [2, 4]


def poll(what: object, until: float = 10.0) -> None:
    deadline = time.monotonic() + until
    while time.monotonic() < deadline:
        if what():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError(f"not within {until} s: {what}")


def test_poe_off_silences_the_camera_and_poe_on_boots_it(fleet: Fleet) -> None:
    north = switch(fleet, "sw-north")
    cam = target(fleet, "cam-0002")
    (boots,) = snmpget(cam, ENGINE_BOOTS)
    agent = f"{north.address}:{north.snmp.port}"
    set_off = subprocess.run(["snmpset", "-v2c", "-c", north.write_community or "", agent,
                              PETH_ADMIN + "4", "i", "2"], capture_output=True, text=True,
                             timeout=20, check=False)
    assert set_off.returncode == 0, set_off.stderr
    poll(lambda: snmpget(cam, ENGINE_BOOTS, timeout_s=0.3) == [])
    assert walk(north)[PETH_DETECTION + "4"] == DISABLED
    assert fleet.faults("cam-0002") == []  # power is not a fault of the camera
    subprocess.run(["snmpset", "-v2c", "-c", north.write_community or "", agent,
                    PETH_ADMIN + "4", "i", "1"], capture_output=True, timeout=20, check=True)
    poll(lambda: snmpget(cam, ENGINE_BOOTS, timeout_s=0.3) == [str(int(boots) + 1)])


def test_fleet_refuses_attachments_it_cannot_honour(tmp_path: Path) -> None:
    spec_a = SwitchSpec(name="sw-a", ports=2)
    with pytest.raises(FleetError, match="does not have"):
        Fleet([FleetMember(load_one(tmp_path).spec, attachment=Attachment(switch="nope",
                                                                          port=1))],
              switches=[spec_a])
    path = tmp_path / "bad.yaml"
    path.write_text("switches: [{name: sw-a, ports: 2}]\ncameras:\n  - count: 3\n"
                    "    attachment: {switch: sw-a, port: 511}\n", encoding="utf-8")
    with pytest.raises(SpecError, match=r"camera 3 of 3\): invalid attachment"):
        load_fleet_file(path)
    path.write_text("switches: [{name: sw-a, ports: 9999}]\ncameras: []\n", encoding="utf-8")
    with pytest.raises(SpecError, match=r"switches\[1\]"):
        load_fleet_switches(path)


def load_one(tmp_path: Path) -> FleetMember:
    path = tmp_path / "one.yaml"
    path.write_text("cameras:\n  - id: one\n", encoding="utf-8")
    return load_fleet_file(path)[0]
