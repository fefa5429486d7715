"""``devmgr power``: an engineer power-cycles a unit under test on a loopback fleet's switch.

The camera must really go through a boot (snmpEngineBoots + 1, seen by net-snmp, an
independent client), the command must say where it switched and how long the boot took, and
every way it cannot act is one line and exit 2.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from devmgr.cli import app
from simulators.fleet.fleet import Fleet
from simulators.fleet.generate import load_fleet_file, load_fleet_switches
from tests.clients import requires_netsnmp, snmpget
from tests.conftest import free_udp_port

runner = CliRunner()
ENGINE_BOOTS = "1.3.6.1.6.3.10.2.1.2.0"
FLEET_FILE = """
switches:
  - {name: sw-a, ports: 8}
cameras:
  - count: 2
    seed: 3
    attachment: {switch: sw-a, port: 2}
"""


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Fleet, Path]]:
    folder = tmp_path_factory.mktemp("power")
    path = folder / "fleet.yaml"
    path.write_text(FLEET_FILE, encoding="utf-8")
    with Fleet(load_fleet_file(path), switches=load_fleet_switches(path), http_port=0,
               snmp_port=0, discovery_port=free_udp_port(), reboot_seconds=0.2) as running:
        manifest = folder / "fleet.json"
        running.manifest().save(manifest)
        yield running, manifest


def power(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["power", *args])
    return result.exit_code, result.stdout, result.stderr


@requires_netsnmp
def test_cycle_finds_the_port_by_mac_boots_the_camera_and_times_the_boot(
        fleet: tuple[Fleet, Path]) -> None:
    running, manifest = fleet
    other, cam = running.manifest().targets
    (boots,) = snmpget(cam, ENGINE_BOOTS)
    code, out, err = power("cycle", cam.id, "--targets", str(manifest), "--off", "1",
                           "--wait", "20")
    assert code == 0, err
    where = running.manifest().fleet.members[cam.id].attachment  # type: ignore[union-attr]
    assert where is not None
    match = re.fullmatch(rf"{cam.id} on sw-a port {where['port']}: power-cycled, answering "
                         r"again after (\d+\.\d) s\n", out)
    assert match, out
    assert float(match.group(1)) > 0
    booted = [str(int(boots) + 1)]
    deadline = time.monotonic() + 10  # its SNMP agent may come up just after ONVIF
    while snmpget(cam, ENGINE_BOOTS, timeout_s=0.5) != booted and time.monotonic() < deadline:
        time.sleep(0.1)
    assert snmpget(cam, ENGINE_BOOTS) == booted
    assert snmpget(other, ENGINE_BOOTS) != []  # its neighbour kept its power


@requires_netsnmp
def test_off_silences_and_on_with_an_explicit_port_boots(fleet: tuple[Fleet, Path]) -> None:
    running, manifest = fleet
    cam = running.manifest().targets[0]
    where = running.manifest().fleet.members[cam.id].attachment  # type: ignore[union-attr]
    assert where is not None
    code, out, err = power("off", cam.id, "--targets", str(manifest))
    assert code == 0, err
    assert out == f"{cam.id} on sw-a port {where['port']}: PoE off\n"
    deadline = time.monotonic() + 10
    while snmpget(cam, ENGINE_BOOTS, timeout_s=0.3) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert snmpget(cam, ENGINE_BOOTS, timeout_s=0.3) == []  # unpowered: silent
    # Unpowered, it is learned nowhere: the engineer says which port.
    code, _, err = power("on", cam.id, "--targets", str(manifest), "--wait", "20")
    assert code == 2
    assert "learned on no switch port" in err
    assert "--switch and --port" in err
    assert len(err.strip().splitlines()) == 1
    code, out, err = power("on", cam.id, "--targets", str(manifest), "--switch", "sw-a",
                           "--port", str(where["port"]), "--wait", "20")
    assert code == 0, err
    assert "PoE on, answering again after" in out
    assert snmpget(cam, ENGINE_BOOTS) != []


def test_what_it_cannot_do_is_one_line_and_exit_2(fleet: tuple[Fleet, Path],
                                                 tmp_path: Path) -> None:
    running, manifest = fleet
    cam = running.manifest().targets[0].id
    code, _, err = power("cycle", "cam-9999", "--targets", str(manifest))
    assert (code, err.strip()) == (2, f"error: no target 'cam-9999' in {manifest}")
    code, _, err = power("cycle", cam, "--targets", str(manifest), "--switch", "sw-z",
                         "--port", "2")
    assert (code, err.strip()) == (2, "error: no switch 'sw-z' in the targets file")
    bare = running.manifest().model_copy(update={"switches": ()})
    no_switches = tmp_path / "bare.json"
    bare.save(no_switches)
    code, _, err = power("cycle", cam, "--targets", str(no_switches))
    assert (code, err.strip()) == (
        2, f"error: no switches in the targets file: cannot power {cam}")
    (sw,) = running.manifest().switches
    read_only = running.manifest().model_copy(update={"switches": (
        sw.model_copy(update={"write_community": sw.snmp.community}),)})
    refusing = tmp_path / "read-only.json"
    read_only.save(refusing)
    code, _, err = power("off", cam, "--targets", str(refusing), "--switch", "sw-a",
                         "--port", "2")
    assert code == 2
    assert err.startswith("error: switch sw-a refused PoE off on port 2")
    assert len(err.strip().splitlines()) == 1
    assert running.manifest().switches  # the fleet's own switch is untouched
