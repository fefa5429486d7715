"""The sky: a blue gradient, a glow round the sun, soft clouds."""

from __future__ import annotations

import math

import cv2
import numpy as np

from simulators.scene.geometry import EL_TOP
from simulators.scene.world.canvas import Canvas
from simulators.scene.world.raster import divisor_near, smoothstep, wrapped_noise


def paint_sky(cv: Canvas, rng: np.random.Generator) -> None:
    """Blue gradient, a glow round the sun, soft clouds. Smooth, so built at 1/4 resolution."""
    q, ppd, layout = 4, cv.ppd, cv.layout
    n_rows = round(EL_TOP * ppd)
    rows, cols = math.ceil(n_rows / q), 360 * ppd // q
    el = (EL_TOP - (np.arange(rows) + 0.5) * q / ppd).astype(np.float32)
    az = ((np.arange(cols) + 0.5) * q / ppd).astype(np.float32)
    zenith = (np.array([165, 105, 50]) + rng.uniform(-15, 15, 3)).astype(np.float32)
    t = (np.clip(el, 0, None) / EL_TOP) ** 0.55
    sky = layout.haze + (zenith - layout.haze) * t[:, None]  # (rows, 3)
    daz = (az - layout.sun_az + 180.0) % 360.0 - 180.0
    glow = 0.12 * np.exp(-(daz / 30.0) ** 2)[None, :] * np.exp(-el / 20.0)[:, None]
    img = sky[:, None, :] * (1.0 + glow[..., None])
    noise = (0.55 * wrapped_noise(rng, rows, cols, divisor_near(cols, 36), max(1, rows // 8))
             + 0.3 * wrapped_noise(rng, rows, cols, divisor_near(cols, 100),
                                    max(1, rows // 24))
             + 0.15 * wrapped_noise(rng, rows, cols, divisor_near(cols, 300),
                                     max(1, rows // 60)))
    threshold = rng.uniform(0.45, 0.6)
    cover = smoothstep(threshold, threshold + 0.2, noise) * smoothstep(0.0, 8.0, el)[:, None]
    cloud = np.array([246, 244, 242], np.float32) * (0.78 + 0.3 * noise)[..., None]
    img = img * (1.0 - cover[..., None]) + cloud * cover[..., None]
    small = np.clip(img + 0.5, 0, 255).astype(np.uint8)
    # One wrapped column each side so the upsampled seam at north is continuous.
    small = np.pad(small, ((1, 1), (1, 1), (0, 0)), mode="wrap")
    small[0], small[-1] = small[1], small[-2]
    big = cv2.resize(small, ((cols + 2) * q, (rows + 2) * q), interpolation=cv2.INTER_LINEAR)
    cv.pano[:n_rows] = big[q:q + n_rows, q:q + 360 * ppd]
