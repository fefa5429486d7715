"""One seed in, one panorama out: the street laid out, then painted far to near."""

from __future__ import annotations

import math

import cv2
import numpy as np

from simulators.scene.geometry import EL_BOTTOM, EL_TOP, Image
from simulators.scene.world.backdrop import paint_far_ring
from simulators.scene.world.buildings import mark_occlusion, paint_face, visible_walls
from simulators.scene.world.canvas import Canvas
from simulators.scene.world.furniture import paint_prop
from simulators.scene.world.ground import paint_ground
from simulators.scene.world.layout import Box, Prop, street_layout
from simulators.scene.world.sky import paint_sky


def generate(seed: int, ppd: int) -> Image:
    """The unpadded panorama of world ``seed`` at ``ppd`` pixels per degree, byte for byte the
    same in every process (~1 s at 16 px/°)."""
    # Every random number comes from this seed through PCG64, which yields the same stream on
    # every platform and run; independent children keep each part stable if another changes.
    children = np.random.SeedSequence(seed % 2**64).spawn(5)
    rng_layout, rng_sky, rng_ground, rng_ring, rng_walls = (
        np.random.default_rng(c) for c in children)
    layout = street_layout(rng_layout)
    rows = round((EL_TOP - EL_BOTTOM) * ppd)
    noise = cv2.GaussianBlur(rng_walls.random((257, 257), dtype=np.float32), (0, 0), 1.2)
    noise = (0.88 + 0.24 * (noise - noise.min()) / (np.ptp(noise) + 1e-6)).astype(np.float32)
    cv = Canvas(np.empty((rows, 360 * ppd, 3), np.uint8), ppd, layout, noise)
    paint_sky(cv, rng_sky)
    paint_ground(cv, rng_ground)
    paint_far_ring(cv, rng_ring)
    walls = {id(box): visible_walls(cv, box) for box in layout.boxes}
    mark_occlusion(cv, [walls[id(box)] for box in sorted(layout.boxes, key=Box.distance)])
    # Painter's algorithm: far things first, nearer ones over them.
    items: list[tuple[float, Box | Prop]] = [(b.distance(), b) for b in layout.boxes]
    items += [(math.hypot(p.a, p.b), p) for p in layout.props]
    items.sort(key=lambda item: -item[0])
    for _, item in items:
        if isinstance(item, Box):
            for wall in walls[id(item)]:
                paint_face(cv, wall)
        else:
            paint_prop(cv, item)
    return cv.pano
