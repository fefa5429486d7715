"""View-change detection on synthetic 1080p snapshots: accuracy, detection rates and speed.

    python bench/view_change.py
    python bench/view_change.py --poses 2 --width 1280 --height 720   # quick look

For each pose (scene seed, heading, elevation -10..-20 deg) it renders a baseline and compares
it with :func:`devmgr.vision.compare_views` (given the preset's elevation) against:

* turns: pan and tilt of +-0.5, 1, 2, 3, 5, 7, 10 deg (expected verdict "turned");
* obstructions: foliage and billboard over ~25 % of the frame at four places ("obstructed");
* defocus: blur sigma 3 and 5 at 1080p ("blurred");
* photometric-only changes, which must raise nothing: gamma 0.6/1.6, brightness +-40, noise
  sigma 8, JPEG q30, IR greyscale, and no change at all.

Printed: true-positive rate per fault class, false-positive rate on the photometric set, mean
angle error (Euclidean in pan/tilt, degrees) for shifts <= 5 deg and up to 10 deg, and the
median ms per 1080p pair (decoded arrays in; JPEG decoding excluded, and separately a figure
with decoding of two q85 JPEGs included). The named alternative, measured in the same run on
the same pairs: **naive phase correlation** -- ``cv2.phaseCorrelate`` of the two whole
full-resolution grey frames (Hanning window, no features), its shift converted with the same
``atan(d/f_px)``; it can only say "turned" (shift >= 0.5 deg).
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from devmgr.vision import TURNED_DEG, compare_views
from simulators import effects as fx
from simulators.scene import Image, ImageEffect, Scene, render

HFOV = 60.0
POSES = [(3, 40.0, -15.0), (5, 200.0, -12.0), (8, 300.0, -18.0), (11, 120.0, -10.0),
         (13, 250.0, -20.0), (17, 10.0, -14.0)]
SHIFTS = [0.5, 1.0, 2.0, 3.0, 5.0, 7.0, 10.0]
OCCLUSIONS: list[tuple[fx.ObstructionKind, fx.Region]] = [
    ("foliage", (0.0, 0.5, 0.5, 1.0)), ("billboard", (0.5, 0.5, 1.0, 1.0)),
    ("foliage", (0.75, 0.0, 1.0, 1.0)), ("billboard", (0.25, 0.25, 0.75, 0.75))]
PHOTOMETRIC: dict[str, ImageEffect | None] = {
    "none": None, "gamma 0.6": fx.gamma(0.6), "gamma 1.6": fx.gamma(1.6),
    "brightness +40": fx.brightness(40), "brightness -40": fx.brightness(-40),
    "noise 8": fx.noise(8.0, seed=1), "jpeg q30": fx.jpeg_quality(30),
    "ir greyscale": fx.ir_greyscale(seed=2)}


@dataclass
class Case:
    kind: str  # "turn", "obstruction", "blur", "photometric"
    baseline: Image
    current: Image
    elevation: float
    pan: float = 0.0
    tilt: float = 0.0


def naive_phase(baseline: Image, current: Image, hfov: float) -> tuple[float, float]:
    """The named alternative: whole-frame phase correlation at full resolution."""
    g0 = cv2.cvtColor(baseline, cv2.COLOR_BGR2GRAY).astype(np.float32)
    g1 = cv2.cvtColor(current, cv2.COLOR_BGR2GRAY).astype(np.float32)
    h, w = g0.shape
    win = cv2.createHanningWindow((w, h), cv2.CV_32F)
    (dx, dy), _ = cv2.phaseCorrelate(g0, g1, win)
    f = (w / 2) / math.tan(math.radians(hfov) / 2)
    return math.degrees(math.atan(-dx / f)), math.degrees(math.atan(dy / f))


def build(poses: int, width: int, height: int) -> list[Case]:
    cases: list[Case] = []
    for seed, az, el in POSES[:poses]:
        scene = Scene.for_seed(seed)

        def shot(d_az: float, d_el: float, effects: tuple[ImageEffect, ...] = (), *,
                 scene: Scene = scene, az: float = az, el: float = el) -> Image:
            return render(scene, az + d_az, el + d_el, 0.0, HFOV, width, height,
                          effects=effects)

        base = shot(0.0, 0.0)
        for s in SHIFTS:
            for sign in (1.0, -1.0):
                cases.append(Case("turn", base, shot(sign * s, 0.0), el, pan=sign * s))
                cases.append(Case("turn", base, shot(0.0, sign * s), el, tilt=sign * s))
        for i, (kind, region) in enumerate(OCCLUSIONS):
            cases.append(Case("obstruction", base,
                              shot(0.0, 0.0, (fx.obstruction(region, kind, seed + i),)), el))
        for sigma in (3.0, 5.0):
            cases.append(Case("blur", base, shot(0.0, 0.0, (fx.blur(sigma),)), el))
        for effect in PHOTOMETRIC.values():
            cases.append(Case("photometric", base, shot(0.0, 0.0, () if effect is None
                                                        else (effect,)), el))
    return cases


def timed(fn: Any, *args: Any, **kwargs: Any) -> tuple[Any, float]:
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, (time.perf_counter() - t0) * 1000.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--poses", type=int, default=4)
    ap.add_argument("--width", type=int, default=1920)
    ap.add_argument("--height", type=int, default=1080)
    args = ap.parse_args()
    t0 = time.perf_counter()
    cases = build(args.poses, args.width, args.height)
    print(f"{len(cases)} pairs at {args.width}x{args.height}, HFOV {HFOV:g}, "
          f"{args.poses} poses (rendered in {time.perf_counter() - t0:.1f} s)")
    measure(cases)


def measure(cases: list[Case]) -> None:  # noqa: PLR0915 (one flat pass, then the table)
    ours_ms: list[float] = []
    naive_ms: list[float] = []
    hits: dict[str, list[bool]] = {"turn": [], "obstruction": [], "blur": []}
    naive_turn_hits: list[bool] = []
    fp: list[bool] = []
    naive_fp: list[bool] = []
    err: dict[str, list[float]] = {"ours<=5": [], "ours<=10": [], "naive<=5": [],
                                   "naive<=10": []}
    compare_views(cases[0].baseline, cases[0].current, HFOV)  # warm-up (ORB, windows)
    for c in cases:
        r, ms = timed(compare_views, c.baseline, c.current, HFOV, elevation_deg=c.elevation)
        (npan, ntilt), nms = timed(naive_phase, c.baseline, c.current, HFOV)
        ours_ms.append(ms)
        naive_ms.append(nms)
        naive_turned = math.hypot(npan, ntilt) >= TURNED_DEG
        if c.kind == "turn":
            hits["turn"].append("turned" in r.verdicts)
            naive_turn_hits.append(naive_turned)
            size = max(abs(c.pan), abs(c.tilt))
            e_ours = math.hypot(r.pan_deg - c.pan, r.tilt_deg - c.tilt)
            e_naive = math.hypot(npan - c.pan, ntilt - c.tilt)
            err["ours<=10"].append(e_ours)
            err["naive<=10"].append(e_naive)
            if size <= 5.0:
                err["ours<=5"].append(e_ours)
                err["naive<=5"].append(e_naive)
        elif c.kind == "obstruction":
            hits["obstruction"].append("obstructed" in r.verdicts)
        elif c.kind == "blur":
            hits["blur"].append("blurred" in r.verdicts)
        else:
            fp.append(bool(r.verdicts & {"turned", "obstructed", "blurred"}))
            naive_fp.append(naive_turned)

    # JPEG decoding included: the same comparison fed two q85 JPEGs.
    jpeg_ms: list[float] = []
    for c in cases[:: max(1, len(cases) // 20)]:
        pair = [bytes(cv2.imencode(".jpg", f, [cv2.IMWRITE_JPEG_QUALITY, 85])[1].tobytes())
                for f in (c.baseline, c.current)]
        jpeg_ms.append(timed(compare_views, pair[0], pair[1], HFOV)[1])

    def rate(xs: list[bool]) -> str:
        return f"{sum(xs) / len(xs):.3f} ({sum(xs)}/{len(xs)})" if xs else "n/a"

    all_hits = [h for v in hits.values() for h in v]
    print("\n                         compare_views     naive phase correlation")
    print(f"TPR all faults           {rate(all_hits):18s}  (turns only)")
    print(f"TPR turned               {rate(hits['turn']):18s}  {rate(naive_turn_hits)}")
    per_shift = []
    for s in SHIFTS:
        sel = [h for c, h in zip([c for c in cases if c.kind == "turn"], hits["turn"],
                                 strict=True) if max(abs(c.pan), abs(c.tilt)) == s]
        per_shift.append(f"{s:g}:{sum(sel)}/{len(sel)}")
    print(f"  turned by shift        {' '.join(per_shift)}")
    print(f"TPR obstructed           {rate(hits['obstruction'])}")
    print(f"TPR blurred              {rate(hits['blur'])}")
    print(f"FPR photometric-only     {rate(fp):18s}  {rate(naive_fp)}")
    for k in ("<=5", "<=10"):
        o, n = statistics.fmean(err["ours" + k]), statistics.fmean(err["naive" + k])
        print(f"mean angle err {k:4s} deg  {o:.3f} (max {max(err['ours' + k]):.3f})"
              f"{'':4s}{n:.3f} (max {max(err['naive' + k]):.3f})  ratio naive/ours "
              f"{n / o:.1f}x")
    om, nm = statistics.median(ours_ms), statistics.median(naive_ms)
    print(f"median ms per pair       {om:.1f} (arrays, decode excl.)  {nm:.1f}  "
          f"ratio naive/ours {nm / om:.2f}x")
    print(f"median ms, 2 JPEG q85    {statistics.median(jpeg_ms):.1f} (decode included, "
          f"{len(jpeg_ms)} pairs)")


if __name__ == "__main__":
    main()
