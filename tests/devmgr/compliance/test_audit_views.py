"""Three false findings healthy units used to get, through the real commission and audit:

* a knock of a fraction of the tolerance read as ``view-turned`` (no angle) on a zoomed
  preset: commissioning now measures each zoomed view's field of view, so the turn is measured
  in degrees there too, and a real knock is measured on the zoomed preset within 0.1 deg;
* a preset looking at a plain area raised ``view-unusable`` at every audit: commissioning now
  names it (with what to do) and the audit judges it by what it can show;
* ``--no-move`` raised "no snapshot of this view today" for every preset not visited: now it
  judges only the view the head is at.

Two domes on one small fleet, commissioned once.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from camfleet.model import Preset, PtzVector
from devmgr.compliance.audit import AuditOptions, audit
from devmgr.compliance.commission import CommissionResult, commission
from devmgr.compliance.model import AuditReport, CameraAudit
from devmgr.media.liveness import StreamCheck
from devmgr.registry import Registry
from simulators.fleet.fleet import Fleet
from simulators.spec import CameraSpec
from tests.devmgr.compliance.fleets import filed_fleet, quick_dome

ZOOMED = "preset:2"   # zoom 0.2 of 25x: a ~11.4 deg view
PLAIN = "preset:3"    # full zoom on plain ground: nothing to judge a turn by
KNOCK_DEG = 2.0


def _dome(n: int) -> CameraSpec:
    spec = CameraSpec.example()
    presets = (*spec.ptz.presets,
               Preset(token="3", name="pavement", position=PtzVector(pan=110.0, tilt=-60.0,
                                                                      zoom=1.0)))
    return quick_dome(n, f"dome-{n}", presets=presets, scene_seed=spec.scene_seed)


@dataclass
class World:
    fleet: Fleet
    registry: Registry
    commissioned: CommissionResult
    keys: dict[str, str]  # camera id -> filed key


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    specs = [_dome(1), _dome(2)]
    with filed_fleet(specs, tmp_path_factory.mktemp("views") / "registry.sqlite") as filed:
        result = asyncio.run(commission(filed.manifest, filed.registry, operator="test"))
        yield World(filed.fleet, filed.registry, result, filed.keys)


def _audit(world: World, *, move: bool = True) -> dict[str, CameraAudit]:
    options = AuditOptions(operator="test", discovery=None, check_credentials=False,
                           move=move, streams=StreamCheck(seconds=0))  # views, not video
    report: AuditReport = asyncio.run(audit(world.fleet.manifest(), world.registry, options))
    return {c.target_id or c.camera: c for c in report.cameras}


def test_commissioning_measures_zoomed_views_and_names_the_plain_one(world: World) -> None:
    baseline = world.commissioned.baselines[world.keys["dome-1"]]
    zoomed = baseline.view(ZOOMED)
    assert zoomed is not None
    assert zoomed.hfov_deg is not None
    truth = CameraSpec.example().optics.hfov_at(0.2)
    assert zoomed.hfov_deg == pytest.approx(truth, rel=0.01)
    home = baseline.view("home")
    assert home is not None
    assert home.hfov_deg is None
    assert not home.unjudgeable
    plain = baseline.view(PLAIN)
    assert plain is not None
    assert plain.unjudgeable
    problems = " ".join(world.commissioned.problems["dome-1"])
    assert f"view {PLAIN} cannot be judged" in problems
    # Every view was taken twice (a second tour): a second frame, kept in the registry.
    for view in baseline.views:
        assert view.second_snapshot, view.name
        assert world.registry.snapshot(view.second_snapshot) is not None
    assert "re-aim the preset" in problems


def test_small_turns_are_measured_on_zoomed_views_and_real_ones_found(world: World) -> None:
    world.fleet.set_faults("dome-1", [{"kind": "mount_shifted", "pan_deg": 0.2}])
    world.fleet.set_faults("dome-2", [{"kind": "mount_shifted", "pan_deg": KNOCK_DEG}])
    try:
        cams = _audit(world)
    finally:
        for cam in ("dome-1", "dome-2"):
            world.fleet.set_faults(cam, [])
    small, knocked = cams["dome-1"], cams["dome-2"]
    serious = [f.rule for f in small.findings if f.severity != "info"]
    assert serious == [], small.findings
    zoomed = next(v for v in small.views if v.name == ZOOMED)
    assert zoomed.pan_deg is not None
    assert abs(zoomed.pan_deg - 0.2) < 0.1
    plain = next(v for v in small.views if v.name == PLAIN)
    assert plain.verdicts == ("ok",), plain.reason

    assert "view-turned" in {f.rule for f in knocked.findings}
    turned = next(f for f in knocked.findings if f.rule == "view-turned")
    assert ZOOMED in (turned.evidence.get("views") or {})
    view = next(v for v in knocked.views if v.name == ZOOMED)
    assert view.pan_deg is not None
    assert view.tilt_deg is not None
    assert math.hypot(view.pan_deg - KNOCK_DEG, view.tilt_deg) < 0.1


def test_no_move_judges_the_view_it_is_at_and_reports_no_other(world: World) -> None:
    cams = _audit(world, move=False)
    for cam in cams.values():
        assert [f.rule for f in cam.findings if f.severity != "info"] == [], cam.findings
        # The head rests where commissioning left it (home): that view, and only it, judged.
        assert [(v.name, v.verdicts) for v in cam.views] == [("home", ("ok",))]

