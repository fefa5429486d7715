"""The backdrop: a hazy skyline standing where the ground plans end, all round."""

from __future__ import annotations

import math

import numpy as np

from simulators.scene.geometry import CAMERA_HEIGHT_M, EL_TOP
from simulators.scene.world.canvas import Canvas
from simulators.scene.world.layout import FAR_RING_M
from simulators.scene.world.raster import (
    blend,
    divisor_near,
    smoothstep,
    stripe_cover,
    wrapped_noise,
)


def paint_far_ring(cv: Canvas, rng: np.random.Generator) -> None:
    """The backdrop: a hazy skyline standing where the ground plans end, all round."""
    ppd, cols = cv.ppd, cv.cols
    el_base = -math.degrees(math.atan(CAMERA_HEIGHT_M / FAR_RING_M))
    tops = np.empty(cols, np.float32)
    colours = np.empty((cols, 3), np.float32)
    period = np.empty(cols, np.float32)
    c = 0
    while c < cols:
        w = max(2, round(rng.uniform(0.5, 4.0) * ppd))
        tall = rng.random() < 0.2
        tops[c:c + w] = rng.uniform(4, 11) if tall else rng.uniform(0.6, 4.5)
        colours[c:c + w] = np.array([150, 160, 168]) + rng.uniform(-40, 40, 3)
        period[c:c + w] = rng.uniform(4, 9)
        c += w
    r0 = max(0, math.floor((EL_TOP - float(tops.max())) * ppd) - 2)
    r1 = math.ceil((EL_TOP - el_base) * ppd) + 2
    el = (EL_TOP - (np.arange(r0, r1) + 0.5) / ppd).astype(np.float32)
    cover = (np.clip((tops[None, :] - el[:, None]) * ppd + 0.5, 0, 1)
             * np.clip((el - el_base) * ppd + 0.5, 0, 1)[:, None])
    # Faint window rows and columns, in panorama pixels.
    x = np.arange(cols, dtype=np.float32)
    y = np.arange(r0, r1, dtype=np.float32)
    win_c = stripe_cover(x / period, 1.0 / period, 1.0, 0.3, 0.45)
    win_r = stripe_cover(y / np.float32(7.0), 1.0 / 7.0, 1.0, 0.3, 0.45)
    windows = win_r[:, None] * win_c[None, :] * (el[:, None] > 0.3)
    street = smoothstep(0.6, -0.2, el)[:, None]  # trees and kiosks at street level
    mottle = wrapped_noise(rng, r1 - r0, cols, divisor_near(cols, cols / 6), 3)
    lum = (1.0 - 0.3 * windows) * (1.0 - street * (0.45 * mottle))
    tint = colours[None, :, :] * lum[..., None]
    greenish = np.array([60, 95, 75], np.float32)
    tint = tint * (1 - 0.5 * street[..., None]) + greenish * 0.5 * street[..., None]
    blend(cv.pano, 0, r0, tint * 0.45 + cv.layout.haze * 0.55, cover)
