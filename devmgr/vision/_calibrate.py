"""What a view can be judged by, and its field of view measured with a small known move.

A zoomed preset's field of view is not in any filing and no ONVIF call gives it: the zoom
space is 0..1, and how it maps to focal length is the vendor's. So commissioning measures it:
at the preset, the head pans by a known small angle and back, and the picture's shift in pixels
gives the focal length (``pan_tilt`` solved for ``f``). That holds for any lens and any zoom
mapping, and costs two short moves per zoomed preset, once.

    >>> import numpy as np, cv2
    >>> rng = np.random.default_rng(0)
    >>> base = cv2.GaussianBlur(rng.integers(0, 255, (360, 640), dtype=np.uint8), (0, 0), 2)
    >>> f = 320 / np.tan(np.radians(30))  # a 60 degree view, 640 px wide
    >>> step = np.degrees(np.arctan(12 / f))  # a pan right that moves the content 12 px left
    >>> round(field_of_view(base, np.roll(base, -12, axis=1), step), 1)
    60.0
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from devmgr.vision._limits import DARK_MEAN_MAX, Arr
from devmgr.vision._motion import apply_h, estimate_motion, pan_tilt

#: A baseline flatter than this (grey levels, standard deviation) shows nothing.
FEATURELESS_STD = 5.0
#: The known shift (working pixels) a baseline must let the motion estimate find again, to
#: within ``SELF_CHECK_ERROR_PX``, under sensor noise of ``SELF_CHECK_NOISE`` grey levels.
SELF_CHECK_SHIFT = (7.0, 4.0)
SELF_CHECK_ERROR_PX = 0.5
SELF_CHECK_NOISE = 3.0


def field_of_view(before: Arr | bytes, after: Arr | bytes, pan_step_deg: float, *,
                  elevation_deg: float = 0.0) -> float | None:
    """The horizontal field of view (degrees) of two frames taken ``pan_step_deg`` apart in
    pan (at tilt ``elevation_deg``); None when the shift cannot be measured."""
    from devmgr.vision._compare import _work_grey  # noqa: PLC0415 (shared decoder)

    g0, g1 = _work_grey(before), _work_grey(after)
    if g0.shape != g1.shape or abs(pan_step_deg) < 1e-6:
        return None
    motion = estimate_motion(cv2.equalizeHist(g0), cv2.equalizeHist(g1))
    if motion is None:
        return None
    h, w = g0.shape
    centre = np.array([(w - 1) / 2, (h - 1) / 2])
    cx, cy = apply_h(motion[0], centre)
    dx, dy = cx - centre[0], cy - centre[1]
    if math.hypot(dx, dy) < 1.0:
        return None  # the move did not show: nothing to measure by
    # |pan| falls as f grows: bisect f on a log scale until the shift reads the step.
    target = abs(pan_step_deg)
    lo, hi = math.log(1.0), math.log(1e7)
    for _ in range(60):
        mid = (lo + hi) / 2
        pan, _tilt = pan_tilt(dx, dy, math.exp(mid), elevation_deg)
        lo, hi = (mid, hi) if abs(pan) > target else (lo, mid)
    f_px = math.exp((lo + hi) / 2)
    hfov = math.degrees(2 * math.atan((w / 2) / f_px))
    return hfov if 0.05 < hfov < 179.0 else None


def baseline_problem(image: Arr | bytes) -> str:
    """Why a commissioning snapshot can never be judged (empty: it can be).

    Too dark, too uniform, or so plain that a known small shift of a noisy copy is not found
    again: a turn or an obstruction could not be told from noise there.
    """
    from devmgr.vision._compare import _work_grey  # noqa: PLC0415

    grey = _work_grey(image)
    mean, std = cv2.meanStdDev(grey)
    if float(mean[0, 0]) < DARK_MEAN_MAX:
        return f"too dark (mean grey {float(mean[0, 0]):.0f})"
    if float(std[0, 0]) < FEATURELESS_STD:
        return f"uniform, no detail (grey spread {float(std[0, 0]):.1f})"
    # Can a known small turn be found again on this picture, noisy? Plain sky and walls
    # fail this (their equalized noise matches anywhere); any street view passes.
    rng = np.random.default_rng(0)
    sx, sy = SELF_CHECK_SHIFT
    moved = cv2.warpAffine(grey, np.array([[1.0, 0.0, sx], [0.0, 1.0, sy]]),
                           (grey.shape[1], grey.shape[0]), borderMode=cv2.BORDER_REFLECT)
    noisy = np.clip(moved + rng.normal(0.0, SELF_CHECK_NOISE, moved.shape), 0, 255)
    motion = estimate_motion(cv2.equalizeHist(grey), cv2.equalizeHist(noisy.astype(np.uint8)))
    h, w = grey.shape
    centre = np.array([(w - 1) / 2, (h - 1) / 2])
    if motion is not None:
        cx, cy = apply_h(motion[0], centre)
        if math.hypot(cx - centre[0] - sx, cy - centre[1] - sy) <= SELF_CHECK_ERROR_PX:
            return ""
    return "featureless: a small turn cannot be measured on it"
