"""The audit judged in a living world, through the real ``commission`` and ``audit`` path.

    python bench/audit_world.py                    # 50 cameras, 8 moments, 2 days
    python bench/audit_world.py --cameras 12 --moments noon,night-ir,fog --days 1  # quick look

A simulated fleet (fixed cameras and PTZ domes with zoomed presets, several worlds) lives in
a world with a clock (``simulators.scene.living``). It is commissioned at 11:00 in clear
weather with light traffic. Then faults are injected: knocks of 0.5-10 deg (turned), knocks
of 0.1-0.3 deg (below the 0.5 deg tolerance: healthy), foliage or a billboard over 12-30 % of
the frame (obstructed); the rest are untouched. The fleet is audited at each moment (noon,
low sun, dusk, night IR, rain, fog, heavy traffic, a bus standing at the lens for 20 of every
60 simulated minutes; the clock runs at 60x), every camera in the same conditions. With
``--days 2`` (the default) that day is audited again after a history of clear-weather audits
at 7, 9, 11, 13, 15 and 17 h (``--history``): day 1 has the baseline alone, day 2 also the good
views of earlier audits, in like light (``devmgr.compliance.lighting``).

Printed per moment and overall:

* false findings on healthy units (turned, obstructed, blurred, unusable, and moved on the
  picture: major) per view judged, and which conditions caused them;
* turns found (units with a knock >= tolerance reported ``view-turned``, among those with a
  view judgeable now; the others, e.g. in dense fog, are counted apart), mean and worst angle
  error over the views that measured one (PTZ domes: azimuth/elevation known), and fixed
  cameras' separately (their estimate is about the camera's own axes, so it is held against
  the angle between the optical axes before and after the knock);
* sub-tolerance turns reported (must be 0);
* lasting obstructions found (units reported ``view-obstructed``, when the view was judged);
* views not judgeable now, per moment (what fog and night cost);
* CPU per view of ``compare_views`` on a 1080p pair (median, process time), against the named
  alternative measured in the same run: a whole-frame ``cv2.phaseCorrelate`` of the pair.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from devmgr.compliance.audit import AuditOptions, audit
from devmgr.compliance.commission import commission
from devmgr.compliance.model import AuditSettings, CameraAudit
from devmgr.registry import Registry
from devmgr.vision import compare_views
from scenarios.fleet_filings import fleet_filings
from simulators.fleet.fleet import Fleet
from simulators.fleet.generate import FleetMember, generate_fleet
from simulators.scene import Scene, render
from simulators.scene.living import conditions_at, living_effects
from simulators.spec import LivingWorld
from simulators.state import CameraState
from tests.conftest import free_udp_port

MOMENTS: dict[str, dict[str, Any]] = {
    "noon": {"start_hour": 12.5},
    "low-sun": {"start_hour": 17.6},
    "dusk": {"start_hour": 19.0},
    "night-ir": {"start_hour": 23.0},
    "rain": {"start_hour": 10.0, "weather": "rain", "intensity": 0.8},
    "fog": {"start_hour": 9.0, "weather": "fog", "intensity": 0.9},
    "heavy-traffic": {"start_hour": 8.0, "traffic": 1.0},
    "bus-at-lens": {"start_hour": 14.0, "bus_minutes_per_hour": 20.0},
}
COMMISSIONED = {"enabled": True, "start_hour": 11.0, "speed": 60.0, "traffic": 0.3}
MAJOR = {"view-turned", "view-obstructed", "view-blurred", "view-unusable", "moved"}
TOLERANCE = 0.5


def _faults(specs: list[Any], seed: int) -> dict[str, dict[str, Any]]:
    """camera id -> the one fault it suffers (none: healthy)."""
    rng = random.Random(seed)
    plan: dict[str, dict[str, Any]] = {}
    for i, spec in enumerate(specs):
        kind = i % 5
        if kind == 1:
            # About the pole only: a mount tilt becomes elevation or roll depending on where
            # the head points, which would blur the truth the angle error is measured by.
            plan[spec.id] = {"kind": "mount_shifted",
                             "pan_deg": rng.choice((-1, 1)) * rng.uniform(0.5, 10.0)}
        elif kind == 2:
            plan[spec.id] = {"kind": "mount_shifted",
                             "pan_deg": rng.choice((-1, 1)) * rng.uniform(0.1, 0.3)}
        elif kind == 3:
            w, h = rng.uniform(0.35, 0.55), rng.uniform(0.35, 0.55)
            x0, y0 = rng.choice((0.0, 1.0 - w)), rng.choice((0.0, 1.0 - h))
            plan[spec.id] = {"kind": "obstructed", "region": (x0, y0, x0 + w, y0 + h),
                             "texture": rng.choice(("foliage", "billboard"))}
    return plan


def _views(cam: CameraAudit) -> list[Any]:
    return [v for v in cam.views if v.verdicts]


def _judged(v: Any) -> bool:
    """Compared with its baseline now (a view whose baseline commissioning named featureless
    is only checked for still being so: it shows neither a turn nor what is in front)."""
    return not ({"unjudged", "unusable"} & set(v.verdicts)) and not v.reason.startswith(
        "baseline ")


def _score(report: Any, plan: dict[str, dict[str, Any]], moment: str,  # noqa: PLR0917
           is_dome: dict[str, bool], elevation: dict[str, float],
           errors_dome: list[tuple[float, str]],
           errors_fixed: list[float], *, verbose: bool, dump: Path | None = None,
           images: Any = None) -> tuple[Counter[str], Counter[str]]:
    """One audit's row: views, false findings (and their rules), turns, obstructions."""
    row: Counter[str] = Counter()
    causes: Counter[str] = Counter()
    for cam in report.cameras:
        target = cam.target_id or ""
        fault = plan.get(target)
        views = _views(cam)
        judged = [v for v in views if _judged(v)]
        if verbose:
            for v in views:
                if v.verdicts != ("ok",):
                    print(f"   {moment} {target} {fault and fault['kind']} {v.name} "
                          f"{v.verdicts} {v.reason} share={v.obstructed_share:.2f}")
        row["views"] += len(views)
        row["judged"] += len(judged)
        row["unjudged"] += len(views) - len(judged)
        row["like_light"] += sum(1 for v in views
                                 if v.light_reference and "obstructed" not in v.verdicts)
        rules = {f.rule for f in cam.findings}
        knock = fault is not None and fault["kind"] == "mount_shifted"
        big = knock and abs(fault["pan_deg"]) >= TOLERANCE  # type: ignore[index]
        if fault is None or (knock and not big):
            bad = [v for v in views if {"turned", "obstructed", "blurred", "unusable",
                                        "elsewhere"} & set(v.verdicts)] if rules & MAJOR else []
            row["false"] += len(bad)
            causes.update(f"{r}" for r in rules & MAJOR)
            if dump is not None:
                for v in bad:
                    for which, digest in (("base", v.baseline_image), ("now", v.current_image)):
                        if digest and (jpeg := images(digest)):
                            (dump / f"{moment}_{target}_{v.name.replace(':', '')}_{which}.jpg"
                             ).write_bytes(jpeg)
            if knock:
                row["subtol"] += 1
                row["subtol_reported"] += "view-turned" in rules
        elif big and not judged:
            row["turns_unjudged"] += 1  # nothing could be judged now: retried, not missed
        elif big:
            row["turns"] += 1
            row["turns_found"] += "view-turned" in rules
            truth = abs(fault["pan_deg"])
            for v in views:
                if v.pan_deg is None or v.tilt_deg is None:
                    continue
                if is_dome.get(target):
                    err = abs(math.hypot(v.pan_deg, v.tilt_deg) - truth)
                    errors_dome.append((err, f"{moment} {target} {v.name} (truth {truth:.2f})"))
                else:
                    # A knock about the pole turns the optical axis of a camera looking down
                    # at e degrees by less than the knock: the angle between the two axes.
                    e, p = math.radians(elevation[target]), math.radians(truth)
                    axes = math.degrees(math.acos(min(1.0, math.sin(e) ** 2
                                                      + math.cos(e) ** 2 * math.cos(p))))
                    errors_fixed.append(abs(math.hypot(v.pan_deg, v.tilt_deg) - axes))
        elif fault["kind"] == "obstructed" and judged:
            row["obstructions"] += 1
            row["obstructions_found"] += "view-obstructed" in rules
            if verbose and "view-obstructed" not in rules:
                for v in views:
                    print(f"   {moment} MISSED {target} {v.name} {v.verdicts} {v.reason} "
                          f"light_reference={v.light_reference[:12]} passed={v.passed_tiles}")
    return row, causes


def run(args: argparse.Namespace) -> None:
    specs = [s.model_copy(update={"world": LivingWorld.model_validate(COMMISSIONED)})
             for s in generate_fleet(args.cameras, seed=args.seed)]
    domes = sum(s.is_ptz for s in specs)
    presets = sum(len(s.ptz.presets) for s in specs)
    print(f"fleet: {len(specs)} cameras ({domes} domes with {presets} presets, "
          f"{len(specs) - domes} fixed), moments: {', '.join(args.moments)}")
    plan = _faults(specs, args.seed)
    if args.dump is not None:
        args.dump.mkdir(parents=True, exist_ok=True)
    filings = fleet_filings(specs, accepted_on=datetime.now(UTC).date() - timedelta(days=40))
    is_dome = {s.id: s.is_ptz for s in specs}
    elevation = {s.id: CameraState(s).view_direction()[1] for s in specs if not s.is_ptz}
    settings = AuditSettings(obstruction_frames=3, obstruction_spacing_s=args.spacing)
    totals: Counter[str] = Counter()
    days: defaultdict[int, Counter[str]] = defaultdict(Counter)
    errors_dome: list[tuple[float, str]] = []
    errors_fixed: list[float] = []
    with tempfile.TemporaryDirectory() as tmp, \
            Fleet([FleetMember(s) for s in specs], discovery_port=free_udp_port(),
                  address_base=args.addresses) as fleet, \
            Registry.open(Path(tmp) / "registry.sqlite") as registry:
        manifest = fleet.manifest()
        registry.put_filings([(f.device_id, f.model_copy(update={
            "ip_address": t.address, "port": t.http_port}))
            for f, t in zip(filings, manifest.targets, strict=True)], source="bench")
        started = time.perf_counter()
        result = asyncio.run(commission(manifest, registry, operator="bench"))
        print(f"commissioned {len(result.baselines)} in {time.perf_counter() - started:.0f} s; "
              f"{sum(1 for p in result.problems.values() for x in p if 'cannot be judged' in x)}"
              " views named unjudgeable at commissioning")
        missing = [f"{t}: {'; '.join(p)}" for t, p in result.problems.items()
                   if not any(b.target_id == t for b in result.baselines.values())]
        if missing:
            print(f"  no baseline for {len(missing)} (a loaded machine times out): "
                  f"{missing[0][:200]}")
        for cam, fault in plan.items():
            fleet.set_faults(cam, [fault])
        options = AuditOptions(settings=settings, operator="bench", discovery=None,
                               check_credentials=False)

        def audit_at(changes: dict[str, Any]) -> tuple[Any, float]:
            # Every field, so nothing of the previous moment lingers.
            world = LivingWorld.model_validate({**COMMISSIONED, **changes}).model_dump()
            for cam in fleet.camera_ids:
                fleet.set_world(cam, world)
            began = time.perf_counter()
            return asyncio.run(audit(manifest, registry, options)), time.perf_counter() - began

        for day in range(1, args.days + 1):
            if day > 1 and args.history:
                began = time.perf_counter()
                for hour in args.history:
                    audit_at({"start_hour": hour})
                print(f"\n(history: audits at {', '.join(f'{h:g}' for h in args.history)} h, "
                      f"{time.perf_counter() - began:.0f} s: their healthy views are the good "
                      "views the next day's audits judge in like light)")
            print(f"\nday {day}\n{'moment':14} {'views':>5} {'judged':>6} {'not-judg':>8} "
                  f"{'false':>5} {'turn found':>10} {'sub-tol rep':>11} {'obstr found':>11} "
                  f"{'like-light':>10}  s")
            for moment in args.moments:
                report, took = audit_at(MOMENTS[moment])
                row, causes = _score(report, plan, moment, is_dome, elevation, errors_dome,
                                     errors_fixed,
                                     verbose=args.verbose, dump=args.dump,
                                     images=registry.snapshot)
                totals.update(row)
                days[day].update(row)
                print(f"{moment:14} {row['views']:5d} {row['judged']:6d} "
                      f"{row['unjudged'] / max(row['views'], 1):8.1%} {row['false']:5d} "
                      f"{row['turns_found']:4d}/{row['turns']:<5d} "
                      f"{row['subtol_reported']:5d}/{row['subtol']:<5d} "
                      f"{row['obstructions_found']:5d}/{row['obstructions']:<5d} "
                      f"{row['like_light']:10d} {took:4.0f}"
                      + (f"   false from: {dict(causes)}" if causes else ""))
    _summary(totals, days, errors_dome, errors_fixed)
    _cpu(args)


def _summary(totals: Counter[str], days: dict[int, Counter[str]],
             errors_dome: list[tuple[float, str]], errors_fixed: list[float]) -> None:
    for day, row in sorted(days.items()):
        print(f"day {day}: false findings {row['false']} of {row['judged']} views judged "
              f"({row['false'] / max(row['judged'], 1):.2%}); lasting obstructions found "
              f"{row['obstructions_found']}/{row['obstructions']}; obstructions cleared in "
              f"like light {row['like_light']}")
    judged = max(totals["judged"], 1)
    print(f"\nfalse findings on healthy units: {totals['false']} of {totals['judged']} views "
          f"judged = {totals['false'] / judged:.2%} per view")
    print(f"turns >= {TOLERANCE} deg found: {totals['turns_found']}/{totals['turns']} (units "
          f"with a view judgeable now; {totals['turns_unjudged']} more had none, e.g. in fog: "
          "retried later); "
          f"sub-tolerance turns reported: {totals['subtol_reported']}/{totals['subtol']}")
    if errors_dome:
        worst = max(errors_dome)
        print(f"angle error (domes, {len(errors_dome)} views): mean "
              f"{statistics.fmean(e for e, _ in errors_dome):.3f} deg, worst {worst[0]:.3f} "
              f"deg at {worst[1]}")
    if errors_fixed:
        print(f"angle error (fixed cameras: against the angle between the optical axes "
              f"before and after, {len(errors_fixed)} views): mean "
              f"{statistics.fmean(errors_fixed):.3f} deg, worst {max(errors_fixed):.3f} deg")
    print(f"lasting obstructions found: {totals['obstructions_found']}/"
          f"{totals['obstructions']} (units whose views could be judged)")
    print(f"views not judgeable now: {totals['unjudged'] / max(totals['views'], 1):.1%} "
          "overall (per moment above)")


def _cpu(args: argparse.Namespace) -> None:
    """Median process time per 1080p pair, against whole-frame phase correlation."""
    ours, phase = [], []
    for k in range(args.pairs):
        scene = Scene.for_seed(k % 3)
        pose = (40.0 * k, -12.0, 0.0, 60.0)
        base_c = conditions_at(LivingWorld.model_validate(COMMISSIONED), 0.0, k % 3)
        now_c = conditions_at(LivingWorld.model_validate(
            {**COMMISSIONED, **list(MOMENTS.values())[k % len(MOMENTS)]}), 0.0, k % 3)
        a = render(scene, *pose[:3], pose[3], 1920, 1080, effects=living_effects(base_c, pose))
        b = render(scene, *pose[:3], pose[3], 1920, 1080, effects=living_effects(now_c, pose))
        t = time.process_time()
        compare_views(a, b, 60.0, elevation_deg=-12.0)
        ours.append(time.process_time() - t)
        ga = cv2.cvtColor(a, cv2.COLOR_BGR2GRAY).astype(np.float32)
        gb = cv2.cvtColor(b, cv2.COLOR_BGR2GRAY).astype(np.float32)
        t = time.process_time()
        cv2.phaseCorrelate(ga, gb, cv2.createHanningWindow((1920, 1080), cv2.CV_32F))
        phase.append(time.process_time() - t)
    m_ours, m_phase = statistics.median(ours) * 1e3, statistics.median(phase) * 1e3
    print(f"CPU per view (1080p pair, median of {args.pairs}): compare_views {m_ours:.1f} ms; "
          f"whole-frame phase correlation {m_phase:.1f} ms (ratio {m_ours / m_phase:.1f}x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cameras", type=int, default=50)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--moments", type=lambda s: s.split(","), default=list(MOMENTS))
    parser.add_argument("--spacing", type=float, default=12.0,
                        help="seconds between the frames of a suspected obstruction")
    parser.add_argument("--pairs", type=int, default=15)
    parser.add_argument("--days", type=int, default=2,
                        help="audit the moments this many days running (day 1: the baseline "
                             "alone; later days: good views of earlier audits too)")
    parser.add_argument("--history", type=lambda s: [float(h) for h in s.split(",") if h],
                        default=[7.0, 9.0, 11.0, 13.0, 15.0, 17.0],
                        help="hours of the clear-weather audits run between days (empty: none)")
    parser.add_argument("--addresses", default="127.61.0.0/16",
                        help="loopback block for the fleet (another for a second run at once)")
    parser.add_argument("--verbose", action="store_true", help="print every view not ok")
    parser.add_argument("--dump", type=Path, default=None,
                        help="write the baseline and current JPEG of every false finding here")
    run(parser.parse_args())


if __name__ == "__main__":
    main()
