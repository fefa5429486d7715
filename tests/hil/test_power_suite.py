"""``--hil-power``: a camera that stops answering is power-cycled once before it is latched.

A suite run on two cameras behind a simulated switch, one of them with its PoE cut before
the run (silent, as a hung unit is): the harness switches its port off and on, the camera
boots and is tested like its neighbour, and the power cycle is in its record.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from devmgr.switches import set_port_power
from simulators.fleet.fleet import Fleet
from simulators.fleet.generate import load_fleet_file, load_fleet_switches
from tests.conftest import free_udp_port
from tests.hil.test_suite_runs import SUITE_TIMEOUT_S, camera_records, outcomes, run_suite, tail

pytestmark = pytest.mark.timeout(SUITE_TIMEOUT_S + 60)

FLEET_FILE = """
switches:
  - {name: sw-a, ports: 8}
cameras:
  - count: 2
    seed: 7
    attachment: {switch: sw-a, port: 2}
"""


def test_a_silent_camera_is_power_cycled_once_and_then_tested(tmp_path: Path) -> None:
    path = tmp_path / "fleet.yaml"
    path.write_text(FLEET_FILE, encoding="utf-8")
    with Fleet(load_fleet_file(path), switches=load_fleet_switches(path), http_port=0,
               snmp_port=0, discovery_port=free_udp_port(), reboot_seconds=0.2) as fleet:
        manifest = fleet.manifest()
        assert manifest.fleet is not None
        targets = tmp_path / "targets.json"
        manifest.save(targets)
        plugs = {cid: m.attachment for cid, m in manifest.fleet.members.items()}
        power_map = tmp_path / "power.yaml"
        power_map.write_text("".join(
            f"{cid}: {{switch: {where['switch']}, port: {where['port']}}}\n"
            for cid, where in plugs.items() if where), encoding="utf-8")
        healthy, silent = (t.id for t in manifest.targets)
        (switch,) = manifest.switches
        silent_port = plugs[silent]
        assert silent_port is not None
        assert asyncio.run(set_port_power(switch, silent_port["port"], False)) is None
        result, report = run_suite(tmp_path, "--hil-targets", str(targets), "--hil-power",
                                   str(power_map), "--hil-timeout", "2",
                                   "-k", "DEVICE_1_1_3 or DEVICE_1_1_4")
    records = camera_records(report)
    assert set(records) == {healthy, silent}, tail(result)
    assert set(outcomes(records[silent]).values()) == {"passed"}, tail(result)
    assert outcomes(records[silent]) == outcomes(records[healthy])
    cycles = [r for t in records[silent]["tests"] for r in t.get("retries", [])
              if r["operation"] == "power-cycle"]
    assert len(cycles) == 1, records[silent]
    assert f"{silent} on sw-a port {silent_port['port']}: power-cycled, answering again" in (
        cycles[0]["message"])
    assert not [r for t in records[healthy]["tests"] for r in t.get("retries", [])
                if r["operation"] == "power-cycle"]
