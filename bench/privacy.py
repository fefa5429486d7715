"""Report images de-identified: are the people and plates the simulator drew unrecognisable?

    python bench/privacy.py                 # 12 scenes x 3 zooms x 8 moments of rush hour
    python bench/privacy.py --scenes 4      # quick look

Frames of the living world at rush hour (traffic 1.0, people 6-25 m from the pole, cars and
buses 8-45 m), at 60, 25 and 8 degree fields of view, go through ``devmgr.report``'s
``deidentify``, the pixelation every report image gets (blocks by the view's zoom). The
simulator's ground truth (``placed_movers``) gives every face (a head's box) and number
plate drawn in frame. Judged:

* a **face** is de-identified when the pixelated image keeps at most ``FACE_BLOCKS`` blocks
  of it vertically (4 x 4 samples of a face: far below the ~16 px between the eyes face
  recognition works from);
* a **plate** is de-identified when a character (a tenth of the plate's width, GA 36: 45 mm
  of 440) is narrower than one block, so characters and gaps merge into one colour;
* each face's and plate's pixels are checked to be block means (the method really ran).

Printed: faces and plates de-identified (share, and the largest in blocks), per zoom; and
the time per 1080p image against the named alternative measured in the same run, a
Gaussian blur of the same strength (which is not irreversible: see ``_privacy``).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from devmgr.report._privacy import block_size, deidentify
from simulators.scene import Scene, render
from simulators.scene.living import conditions_at, living_effects, placed_movers
from simulators.spec import LivingWorld

W, H = 1920, 1080
FACE_BLOCKS = 4
ZOOMS = (60.0, 25.0, 8.0)


def run(args: argparse.Namespace) -> None:
    seen: Counter[str] = Counter()
    masked: Counter[str] = Counter()
    worst: dict[str, tuple[float, str]] = {}
    rng = np.random.default_rng(args.seed)
    for scene_seed in range(1, args.scenes + 1):
        for hfov in ZOOMS:
            pose = (float(rng.uniform(0, 360)), float(rng.uniform(-30, -8)), 0.0, hfov)
            for k in range(args.moments):
                world = LivingWorld(enabled=True, start_hour=7.5 + k * 0.13, speed=0.0,
                                    traffic=1.0)
                moment = conditions_at(world, 0.0, seed=scene_seed)
                placed = placed_movers(moment, pose, W, H)
                if not any(p.face or p.plate for p in placed):
                    continue
                frame = render(Scene.for_seed(scene_seed), *pose, W, H,
                               effects=living_effects(moment, pose))
                out, block = deidentify(bytes(cv2.imencode(".jpg", frame)[1].tobytes()),
                                        hfov)
                picture = cv2.imdecode(np.frombuffer(out, np.uint8), cv2.IMREAD_COLOR)
                for p in placed:
                    for kind, box in (("face", p.face), ("plate", p.plate)):
                        if box is None or not _inside(box):
                            continue
                        x0, y0, x1, y1 = box
                        size = ((y1 - y0) / block if kind == "face"
                                else (x1 - x0) / 10 / block)
                        ok = size <= (FACE_BLOCKS if kind == "face" else 1.0)
                        ok = ok and _block_means(picture, box, block)
                        key = f"{kind} {hfov:g}°"
                        seen[key] += 1
                        masked[key] += ok
                        if size > worst.get(kind, (0.0, ""))[0]:
                            worst[kind] = (size, f"scene {scene_seed}, {hfov:g}°, "
                                                 f"{p.mover.distance_m:.0f} m")
    print(f"{W}x{H}, blocks of " + ", ".join(f"{block_size(W, z)} px at {z:g}°"
                                             for z in ZOOMS))
    for kind in ("face", "plate"):
        total = sum(v for k, v in seen.items() if k.startswith(kind))
        done = sum(v for k, v in masked.items() if k.startswith(kind))
        per = ", ".join(f"{k.split()[1]} {masked[k]}/{seen[k]}" for k in sorted(seen)
                        if k.startswith(kind))
        size, where = worst.get(kind, (0.0, "-"))
        unit = "blocks tall" if kind == "face" else "blocks per character"
        print(f"{kind}s de-identified: {done}/{total} ({done / max(total, 1):.2%}); {per}; "
              f"largest {size:.2f} {unit} ({where})")
    _speed(args)


def _inside(box: tuple[int, int, int, int]) -> bool:
    x0, y0, x1, y1 = box
    return 0 <= x0 < x1 <= W and 0 <= y0 < y1 <= H


def _block_means(picture: np.ndarray, box: tuple[int, int, int, int], block: int) -> bool:
    """Every pixel of the box equals the rest of its block (the pixelation really ran)."""
    x0, y0, x1, y1 = box
    for y in range(y0, y1):
        by = y // block * block
        for x in range(x0, x1, max(1, (x1 - x0) // 8)):
            if not np.array_equal(picture[y, x], picture[by, x // block * block]):
                return False
    return True


def _speed(args: argparse.Namespace) -> None:
    frame = render(Scene.for_seed(1), 40.0, -15.0, 0.0, 60.0, W, H)
    jpeg = bytes(cv2.imencode(".jpg", frame)[1].tobytes())
    sigma = block_size(W) / 2
    ours, blur = [], []
    for _ in range(args.repeat):
        t = time.process_time()
        deidentify(jpeg)
        ours.append(time.process_time() - t)
        t = time.process_time()
        image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
        cv2.imencode(".png", cv2.GaussianBlur(image, (0, 0), sigma))
        blur.append(time.process_time() - t)
    a, b = statistics.median(ours) * 1e3, statistics.median(blur) * 1e3
    print(f"CPU per 1080p image (median of {args.repeat}): deidentify {a:.1f} ms; decode, "
          f"Gaussian blur (sigma {sigma:g}) and PNG {b:.1f} ms (ratio {a / b:.2f}x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scenes", type=int, default=12)
    parser.add_argument("--moments", type=int, default=8)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=15)
    run(parser.parse_args())


if __name__ == "__main__":
    main()
