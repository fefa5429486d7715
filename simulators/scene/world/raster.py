"""Drawing primitives on the panorama: coverage of intervals and stripes, noise, compositing.

Everything here anti-aliases by box-filtering over a pixel's footprint, so patterns drawn
with it do not alias however small they appear.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np

from simulators.scene.geometry import CAMERA_HEIGHT_M, EL_TOP, Arr, Image


def smoothstep(lo: float, hi: float, x: Arr) -> Arr:
    t = np.clip((x - lo) / (hi - lo), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def interval_cover(x: Arr, dx: Arr | float, lo: float, hi: float) -> Arr:
    """Fraction of each sample's footprint ``[x - dx/2, x + dx/2]`` inside ``[lo, hi]``."""
    result: Arr = np.clip((np.minimum(x + dx / 2, hi) - np.maximum(x - dx / 2, lo)) / dx,
                           0.0, 1.0)
    return result


def stripe_cover(x: Arr, dx: Arr | float, period: float, start: float,
                  width: float) -> Arr:
    """Fraction of each footprint ``[x - dx/2, x + dx/2]`` inside the periodic stripes
    ``[start + k·period, start + k·period + width]``.

    A box-filtered stripe pattern: window grids drawn with it do not alias into moiré however
    small they appear, and at a footprint of several periods it fades to the mean tone.
    """
    def integral(t: Arr) -> Arr:
        t = t - start
        q = np.floor(t / period)
        result: Arr = q * width + np.minimum(t - q * period, width)
        return result

    result: Arr = (integral(x + dx / 2) - integral(x - dx / 2)) / dx
    return result


def divisor_near(n: int, target: float) -> int:
    """The divisor of ``n`` closest to ``target`` (cells that tile a wrapped axis exactly)."""
    divisors = [d for d in range(1, n + 1) if n % d == 0]
    return min(divisors, key=lambda d: (abs(math.log(d / max(target, 1e-9))), d))


def wrapped_noise(rng: np.random.Generator, rows: int, cols: int, cells_x: int,
                   cell_rows: int) -> Arr:
    """Smooth value noise in [0, 1] of shape (rows, cols), periodic in x with ``cells_x``
    cells across (which must divide ``cols``), cells ``cell_rows`` pixels high."""
    cell_cols = cols // cells_x
    grid_rows = rows // cell_rows + 4
    grid = rng.random((grid_rows, cells_x), dtype=np.float32)
    # Bicubic upsampling by an integer factor with three wrapped cells each side: the result's
    # last column continues smoothly into its first.
    grid = np.pad(grid, ((0, 0), (3, 3)), mode="wrap")
    up = cv2.resize(grid, ((cells_x + 6) * cell_cols, grid_rows * cell_rows),
                    interpolation=cv2.INTER_CUBIC)
    out: Arr = up[cell_rows:cell_rows + rows, 3 * cell_cols:3 * cell_cols + cols]
    return out


def blend(pano: Image, x0: int, y0: int, colour: Arr, alpha: Arr) -> None:
    """Composite ``colour`` (h, w, 3; straight, not premultiplied) with coverage ``alpha``
    (h, w) in [0, 1] onto the panorama at column ``x0`` (any integer: columns wrap around
    360°) and row ``y0`` (rows outside the panorama are dropped)."""
    rows, cols = pano.shape[:2]
    h, w = alpha.shape
    top, bottom = max(0, -y0), min(h, rows - y0)
    if top >= bottom or w <= 0:
        return
    # Saturating, rounding conversion; colours are never negative.
    src = colour if colour.dtype == np.uint8 else cv2.convertScaleAbs(colour)
    weight = np.ascontiguousarray(alpha, dtype=np.float32)
    rest = 1.0 - weight
    start = x0 % cols
    done = 0
    while done < w:
        n = min(w - done, cols - start)
        dst = pano[y0 + top:y0 + bottom, start:start + n]
        part = (slice(top, bottom), slice(done, done + n))
        dst[...] = cv2.blendLinear(np.ascontiguousarray(src[part]), np.ascontiguousarray(dst),
                                   np.ascontiguousarray(weight[part]),
                                   np.ascontiguousarray(rest[part]))
        done += n
        start = 0


class Patch:
    """A small anti-aliased cv2 drawing canvas over a window of the panorama.

    Shapes are drawn with ``LINE_AA`` in BGR + 255 onto a transparent BGRA canvas, which leaves
    premultiplied colour and coverage in one image; a later shape covers earlier ones.
    """

    def __init__(self, ppd: int, az_lo: float, az_hi: float, el_lo: float,
                 el_hi: float) -> None:
        self.ppd = ppd
        self.x0 = math.floor(az_lo * ppd - 0.5) - 3
        self.y0 = math.floor((EL_TOP - el_hi) * ppd - 0.5) - 3
        w = math.ceil(az_hi * ppd - 0.5) + 4 - self.x0
        h = math.ceil((EL_TOP - el_lo) * ppd - 0.5) + 4 - self.y0
        self.bgra = np.zeros((h, w, 4), np.uint8)

    def _fixed(self, points: Sequence[tuple[float, float]]) -> Arr:
        # cv2 draws with 4 fractional bits: sub-pixel positions keep small props steady.
        xy = [((az * self.ppd - 0.5 - self.x0) * 16, ((EL_TOP - el) * self.ppd - 0.5 - self.y0)
               * 16) for az, el in points]
        return np.round(np.array(xy)).astype(np.int32)

    @staticmethod
    def _colour(colour: Sequence[float]) -> tuple[float, float, float, float]:
        b, g, r = (float(c) for c in colour)
        return b, g, r, 255.0

    def poly(self, points: Sequence[tuple[float, float]], colour: Sequence[float]) -> None:
        cv2.fillPoly(self.bgra, [self._fixed(points)], self._colour(colour), cv2.LINE_AA, 4)

    def line(self, p: tuple[float, float], q: tuple[float, float], thickness_px: float,
             colour: Sequence[float]) -> None:
        a, b = self._fixed([p, q])
        cv2.line(self.bgra, tuple(a), tuple(b), self._colour(colour),
                 max(1, round(thickness_px)), cv2.LINE_AA, 4)

    def ellipse(self, centre: tuple[float, float], rx_px: float, ry_px: float,
                colour: Sequence[float]) -> None:
        (c,) = self._fixed([centre])
        axes = (max(1, round(rx_px * 16)), max(1, round(ry_px * 16)))
        cv2.ellipse(self.bgra, tuple(c), axes, 0, 0, 360, self._colour(colour), -1,
                    cv2.LINE_AA, 4)

    def paste(self, pano: Image) -> None:
        alpha = self.bgra[..., 3:].astype(np.float32)
        straight = np.zeros((*alpha.shape[:2], 3), np.float32)
        np.divide(self.bgra[..., :3] * np.float32(255.0), alpha, out=straight,
                  where=alpha > 0)
        blend(pano, self.x0, self.y0, straight, alpha[..., 0] / 255.0)


def project(x: float, y: float, z: float, az_ref: float) -> tuple[float, float]:
    """(azimuth°, elevation°) of the world point (east, north, height), the azimuth unwrapped
    to within 180° of ``az_ref`` so a prop straddling north draws in one piece."""
    az = math.degrees(math.atan2(x, y))
    az += 360.0 * round((az_ref - az) / 360.0)
    el = math.degrees(math.atan2(z - CAMERA_HEIGHT_M, math.hypot(x, y)))
    return az, el
