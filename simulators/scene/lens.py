"""How the camera renders the world: an ideal pinhole lens sampling the panorama.

The optics are honest: panning by θ moves the content at the image centre by exactly
``f·tan(θ)`` pixels, zooming scales it by the focal-length ratio, and a knocked mount (heading
change) looks exactly like a pan.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import cv2
import numpy as np

from simulators.scene.geometry import EL_TOP, PAD_LEFT, Arr, Image, ImageEffect
from simulators.scene.panorama import Scene


@functools.lru_cache(maxsize=32)
def _pixel_axes(width: int, height: int, hfov_deg: float) -> tuple[Arr, Arr, float]:
    """Pixel-centre coordinates relative to the principal point (x right, y up) and f in px."""
    f = (width / 2) / math.tan(math.radians(hfov_deg) / 2)
    xs = np.arange(width, dtype=np.float64) - (width - 1) / 2
    ys = (height - 1) / 2 - np.arange(height, dtype=np.float64)
    xs.flags.writeable = False
    ys.flags.writeable = False
    return xs, ys, f


def camera_axes(azimuth_deg: float, elevation_deg: float,
                roll_deg: float) -> tuple[Arr, Arr, Arr]:
    """World (east, north, up) unit vectors of the camera's right, up and forward axes.

    Azimuth is clockwise from north, elevation positive up, and a positive roll turns the
    camera clockwise about its optical axis as seen from behind it (its right side dips), so
    the picture turns counter-clockwise: the aircraft convention of yaw, pitch and roll.
    """
    az, el, roll = (math.radians(v) for v in (azimuth_deg, elevation_deg, roll_deg))
    forward = np.array([math.sin(az) * math.cos(el), math.cos(az) * math.cos(el),
                        math.sin(el)])
    right0 = np.array([math.cos(az), -math.sin(az), 0.0])
    up0 = np.array([-math.sin(az) * math.sin(el), -math.cos(az) * math.sin(el), math.cos(el)])
    right = math.cos(roll) * right0 - math.sin(roll) * up0
    up = math.sin(roll) * right0 + math.cos(roll) * up0
    return right, up, forward


def render(  # noqa: PLR0917 (a camera pose and frame: every caller has all seven at hand)
        scene: Scene, azimuth_deg: float, elevation_deg: float, roll_deg: float,
        hfov_deg: float, width: int, height: int, *,
        effects: Sequence[ImageEffect] = ()) -> Image:
    """What an ideal pinhole camera at the scene's centre sees: a fresh BGR ``uint8`` frame.

    Focal length ``f = (width/2) / tan(hfov/2)`` pixels, square pixels, principal point at the
    image centre. The optical axis points at compass ``azimuth_deg`` (clockwise from north:
    a larger azimuth pans right, so content moves left) and ``elevation_deg`` (positive up:
    tilting up moves content down); ``roll_deg`` as in :func:`camera_axes`. Each pixel's ray
    is turned into (azimuth, elevation) and the panorama is sampled bilinearly there, wrapping
    round north. ``effects`` are then applied in order.
    """
    if not 0.0 < hfov_deg < 180.0:
        raise ValueError(f"hfov must be in (0, 180) degrees, got {hfov_deg}")
    if width < 1 or height < 1:
        raise ValueError(f"bad frame size {width}x{height}")
    xs, ys, f = _pixel_axes(int(width), int(height), float(hfov_deg))
    right, up, forward = camera_axes(azimuth_deg, elevation_deg, roll_deg)
    # A pixel's ray is x·right + y·up + f·forward: every world component is a column term plus
    # a row term, so three outer sums build the ray grid; no per-pixel matrix product needed.
    # East and north are negated so that atan2 yields azimuth - 180° in (-180°, 180°]: adding
    # 180° then gives (0°, 360°] without a branch or a modulo over the frame.
    def component(k: int, sign: float) -> Arr:
        rows = (sign * (ys * up[k] + f * forward[k])).astype(np.float32)
        cols = (sign * xs * right[k]).astype(np.float32)
        grid: Arr = np.add.outer(rows, cols)
        return grid

    east, north, zenith = component(0, -1.0), component(1, -1.0), component(2, 1.0)
    ppd = scene.px_per_deg
    scale = np.float32(ppd * 180.0 / math.pi)  # panorama pixels per radian
    map_x = np.arctan2(east, north)
    horizontal = np.hypot(east, north, out=east)
    map_y = np.arctan2(zenith, horizontal, out=north)
    # Pixel (column c, row r) of the unpadded panorama has its centre at azimuth
    # (c + 0.5)/ppd and elevation EL_TOP - (r + 0.5)/ppd; the left pad shifts columns by one.
    map_x *= scale
    map_x += np.float32(180.0 * ppd - 0.5 + PAD_LEFT)
    map_y *= -scale
    map_y += np.float32(EL_TOP * ppd - 0.5)
    sampled: Arr = cv2.remap(scene.pano, map_x, map_y, cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REPLICATE)
    frame: Image = sampled
    for effect in effects:
        frame = effect(frame)
    return frame
