"""One head, one run, and no head left displaced, against a simulated fleet with two domes:
a commission SIGKILLed while a dome is at a preset leaves it there, with its origin on
record; ``devmgr ptz restore`` (or the next run) puts it back and says so; a run that finds
a head driven by another skips its views, naming the holder; two commissions at once on one
PostgreSQL database both complete, never driving one head together."""

from __future__ import annotations

import asyncio
import itertools
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from camfleet.model import PtzType, PtzVector
from camfleet.targets import Target
from devmgr.compliance.audit import AuditOptions, audit
from devmgr.compliance.capture import snapshot_profile
from devmgr.compliance.commission import commission, open_session
from devmgr.compliance.heads import head_key
from devmgr.inventory.parallel import sweep_with_snmp
from devmgr.onvif.ptz import absolute_move
from devmgr.onvif.session import DEFAULT_TIMEOUTS, OnvifPool
from devmgr.registry import Registry
from simulators.fleet.fleet import Fleet
from simulators.fleet.generate import FleetMember, generate_fleet
from tests.conftest import free_udp_port
from tests.postgres import fresh_schema, query

#: Where the test parks the domes before each run: not home, so "put back" is not "go home".
PARKED = PtzVector(pan=0.3, tilt=0.1, zoom=0.0)


@pytest.fixture(scope="module")
def fleet() -> Iterator[Fleet]:
    with Fleet([FleetMember(s) for s in generate_fleet(4, seed=5)],
               discovery_port=free_udp_port()) as running:
        yield running


@pytest.fixture(scope="module")
def domes(fleet: Fleet) -> list[Target]:
    found = [t for t, s in zip(fleet.manifest().targets, generate_fleet(4, seed=5), strict=True)
             if s.ptz.type is not PtzType.FIXED and s.ptz.presets]
    assert len(found) == 2
    return found


def devmgr(*args: str, registry: str, timeout: float = 180.0,
           ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "devmgr.cli", *args, "--registry", registry],
                          capture_output=True, text=True, timeout=timeout, check=False,
                          env={"CAMFLEET_OPERATOR": "tester", "PATH": "/usr/bin"})


def move(targets: list[Target], where: PtzVector) -> None:
    """Drive the heads ourselves, as an operator would."""
    async def run() -> None:
        invs = await sweep_with_snmp(targets, concurrency=4, timeouts=DEFAULT_TIMEOUTS,
                                     snmp=False, progress=None)
        async with OnvifPool(limit=4) as pool:
            for target, inv in zip(targets, invs, strict=True):
                profile = snapshot_profile(inv)
                assert profile is not None
                await absolute_move(await open_session(pool, target), profile.token, where)
    asyncio.run(run())


def position(fleet: Fleet, target: Target) -> list[float]:
    where: dict[str, Any] = fleet.truth(target.id)["ptz"]["position"]
    return [where["pan"], where["tilt"], where["zoom"]]


Parked = tuple[Path, dict[str, list[float]]]


@pytest.fixture
def parked(fleet: Fleet, domes: list[Target], tmp_path: Path) -> Parked:
    """The fleet's targets file, the domes parked away from home, and where they are."""
    move(domes, PARKED)
    targets = tmp_path / "targets.json"
    fleet.manifest().save(targets)
    return targets, {t.id: position(fleet, t) for t in domes}


@pytest.mark.timeout(300)  # four CLI processes and a commission: slow on a loaded machine
def test_a_killed_commission_leaves_a_record_and_ptz_restore_puts_the_head_back(
        fleet: Fleet, domes: list[Target], parked: Parked,
        tmp_path: Path) -> None:
    targets, before = parked
    registry = str(tmp_path / "registry.sqlite")
    victim = domes[1]
    fleet.set_faults(victim.id, [{"kind": "latency", "ms": 800, "ops": ["GetStatus"]}])
    try:
        proc = subprocess.Popen([sys.executable, "-m", "devmgr.cli", "commission", "--targets",
                                 str(targets), "--registry", registry],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and proc.poll() is None:
            if position(fleet, victim) != pytest.approx(before[victim.id], abs=1e-3):
                time.sleep(0.3)  # on its way to (or at) home or a preset
                break
            time.sleep(0.05)
        assert proc.poll() is None, "the commission finished before it could be killed"
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        fleet.clear_faults(victim.id)
    time.sleep(1.0)  # let the head finish the move it was given
    assert position(fleet, victim) != pytest.approx(before[victim.id], abs=1e-3)

    listed = devmgr("ptz", "restore", registry=registry)
    assert listed.returncode == 3, listed.stderr
    assert f"serial:{victim.serial}" in listed.stdout
    assert "give --targets FILE" in listed.stderr

    restored = devmgr("ptz", "restore", "--targets", str(targets), registry=registry)
    assert restored.returncode == 0, restored.stderr
    assert f"{victim.id}: head put back to" in restored.stdout
    assert "commission sweep" in restored.stdout  # who had left it there
    assert position(fleet, victim) == pytest.approx(before[victim.id], abs=1e-3)
    with Registry.open(registry) as reg:
        assert reg.displaced() == []
        assert reg.verify_audit_log().ok
    again = devmgr("ptz", "restore", registry=registry)
    assert again.returncode == 0
    assert "0 heads left displaced" in again.stderr


def test_the_next_audit_puts_a_displaced_head_back_and_says_so(
        fleet: Fleet, domes: list[Target], parked: Parked,
        tmp_path: Path) -> None:
    _targets, before = parked
    manifest = fleet.manifest()
    victim = domes[0]
    with Registry.open(tmp_path / "registry.sqlite") as registry:
        asyncio.run(commission(manifest, registry, operator="test", second_look_s=None))
        # What a run killed at a preset leaves: an open origin, the head elsewhere.
        lease = registry.acquire_lease(head_key(victim, None), purpose="commission sweep 99 "
                                       "(killed)")
        registry.record_origin(lease, target_id=victim.id, address=victim.address,
                               device_url=victim.device_url, profile="Profile_1",
                               position=PARKED)
        registry.release_lease(lease)
        move([victim], PtzVector(pan=-0.4, tilt=0.0, zoom=0.0))
        report = asyncio.run(audit(manifest, registry, AuditOptions(discovery=None)))
        assert registry.displaced() == []
    camera = next(c for c in report.cameras if c.target_id == victim.id)
    restored = [f for f in camera.findings if f.rule == "head-restored"]
    assert len(restored) == 1, camera.findings
    assert "commission sweep 99 (killed)" in restored[0].message
    assert not [f for f in camera.findings if f.rule.startswith("view-")]
    assert position(fleet, victim) == pytest.approx(before[victim.id], abs=1e-3)


def test_an_audit_skips_the_views_of_a_head_another_run_drives(
        fleet: Fleet, domes: list[Target], tmp_path: Path) -> None:
    manifest = fleet.manifest()
    with Registry.open(tmp_path / "registry.sqlite") as registry:
        asyncio.run(commission(manifest, registry, operator="test", second_look_s=None))
        busy = domes[0]
        other = registry.acquire_lease(head_key(busy, None), purpose="audit sweep 7 by wang")
        report = asyncio.run(audit(manifest, registry, AuditOptions(discovery=None,
                                                                    head_wait_s=0.5)))
        registry.release_lease(other)
    by_target = {c.target_id: c for c in report.cameras}
    # (The fleet is not filed here: "unfiled" is every camera's, and beside the point.)
    head_rules = {c: [(f.rule, f.severity.value) for f in by_target[c].findings
                      if f.rule != "unfiled"] for c in by_target}
    assert head_rules[busy.id] == [("views-not-checked", "info")]
    skipped = next(f for f in by_target[busy.id].findings if f.rule == "views-not-checked")
    assert "driven by another run: audit sweep 7 by wang" in skipped.message
    assert by_target[busy.id].views == ()
    assert head_rules[domes[1].id] == []  # the other dome: compared as usual
    assert len(by_target[domes[1].id].views) >= 2


def test_two_commissions_at_once_on_postgresql_share_the_heads(
        fleet: Fleet, domes: list[Target], tmp_path: Path) -> None:
    """Issue 16: two concurrent commissions on a new PostgreSQL database failed 2 in 10."""
    targets = tmp_path / "targets.json"
    fleet.manifest().save(targets)
    with fresh_schema() as url:
        procs = [subprocess.Popen([sys.executable, "-m", "devmgr.cli", "commission",
                                   "--targets", str(targets), "--registry", url],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  env={"CAMFLEET_OPERATOR": f"tester-{n}", "PATH": "/usr/bin"})
                 for n in range(2)]
        outs = [proc.communicate(timeout=240) for proc in procs]
        assert [proc.returncode for proc in procs] == [0, 0], outs
        with Registry.open(url) as registry:
            assert [s.status for s in registry.sweeps("commission")] == ["complete"] * 2
            assert registry.displaced() == []
            assert registry.verify_audit_log().ok
        for dome in domes:
            spans = sorted(query(url, "SELECT recorded_at, restored_at FROM ptz_origins WHERE "
                                      f"key = '{head_key(dome, None)}'"))
            # Both runs moved it, twice each (a view's second frame is a second tour) ...
            assert len(spans) == 4, spans
            for (_, end), (start, _) in itertools.pairwise(spans):
                assert start >= end, f"{dome.id} driven by two runs at once: {spans}"
