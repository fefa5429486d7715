"""``compare_views``: today's snapshot against the commissioning one, and what changed."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import cv2
import numpy as np

from camfleet.protocols.jpeg_header import MAX_PIXELS, jpeg_dimensions
from devmgr.vision._limits import (
    BLUR_RATIO_MAX,
    CONTRAST_RATIO_MIN,
    DARK_MEAN_MAX,
    ELSEWHERE_CONTRAST_RATIO,
    OBSTRUCTED_SHARE_MIN,
    SCALE_CHANGE_MIN,
    TURNED_DEG,
    UNIFORM_STD_MAX,
    WORK_WIDTH,
    Arr,
)
from devmgr.vision._motion import (
    apply_h,
    estimate_motion,
    local_similarity,
    pan_tilt,
    predicted_rotation,
    wrap,
)
from devmgr.vision._tiles import obstruction, sharpness, uncovered_mask

Verdict = Literal["ok", "turned", "obstructed", "blurred", "unusable", "elsewhere"]


@dataclass(frozen=True)
class ViewComparison:
    """The result of :func:`compare_views`.

    Angles in degrees. ``pan_deg`` > 0: the camera turned right (content moved left);
    ``tilt_deg`` > 0: it turned up (content moved down); ``roll_deg`` > 0: it rolled clockwise
    seen from behind (the picture turned counter-clockwise), net of the apparent rotation a
    pan/tilt causes when ``elevation_deg`` was given. ``scale`` > 1: zoomed in.
    ``obstructed_tiles`` are (column, row) in a ``GRID_COLS`` x ``GRID_ROWS`` grid, row 0 at
    the top; ``obstructed_share`` is their share of all tiles; ``where`` is e.g.
    ``"lower left"`` (empty if nothing is obstructed).
    """

    pan_deg: float
    tilt_deg: float
    roll_deg: float
    scale: float
    inliers: int
    confidence: float
    method: Literal["orb+homography+phase", "phase", "none"]
    obstructed_tiles: tuple[tuple[int, int], ...]
    obstructed_share: float
    where: str
    blur_ratio: float
    verdicts: frozenset[Verdict] = field(default_factory=frozenset)
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.verdicts == frozenset({"ok"})


# ------------------------------------------------------------------------------------------------
# Public entry point
# ------------------------------------------------------------------------------------------------
def compare_views(baseline: Arr | bytes, current: Arr | bytes, hfov_deg: float, *,
                  elevation_deg: float | None = None) -> ViewComparison:
    """Compare ``current`` with the commissioning ``baseline`` (same preset, same size).

    Both are BGR or grey ``uint8`` arrays or JPEG bytes. ``hfov_deg`` is the horizontal field
    of view of the frames. With ``elevation_deg`` (the preset's tilt), pan and tilt are PTZ
    azimuth/elevation changes; without it they are turns about the camera's own axes (the
    same at the horizon; at -20 deg a 10 deg pan reads ~9.4 deg).

        >>> import numpy as np
        >>> compare_views(np.zeros((360, 640), np.uint8), np.zeros((360, 640), np.uint8),
        ...               60.0).verdicts
        frozenset({'unusable'})
    """
    if not 0.0 < hfov_deg < 180.0:
        raise ValueError(f"hfov must be in (0, 180) degrees, got {hfov_deg}")
    g0, g1 = _work_grey(baseline), _work_grey(current)
    if g0.shape != g1.shape:
        # A different stream resolution: bring the current frame to the baseline's shape
        # (same field of view, so this is a pure rescale).
        g1 = np.asarray(cv2.resize(g1, (g0.shape[1], g0.shape[0]),
                                   interpolation=cv2.INTER_AREA), np.uint8)
    h, w = g0.shape
    f_px = (w / 2) / math.tan(math.radians(hfov_deg) / 2)

    reason = _unusable_reason(g0, "baseline") or _unusable_reason(g1, "current")
    if reason:
        return _unusable(reason)
    # Contrast as the grey spread over the mean: dusk lowers both, fog or glare lift the
    # mean under a veil. With too little left, nothing can be told apart.
    c0, c1 = (float(np.std(g)) / max(float(np.mean(g)), 1.0) for g in (g0, g1))
    if c1 < CONTRAST_RATIO_MIN * c0:
        return _unusable(f"current frame has {c1 / c0:.0%} of the baseline's contrast "
                         "(fog, haze or glare)")

    # Histogram equalization: gamma, brightness and IR gain become (nearly) the same picture,
    # so FAST thresholds, edge thresholds and the Laplacian see the same structure.
    e0, e1 = cv2.equalizeHist(g0), cv2.equalizeHist(g1)

    motion = estimate_motion(e0, e1)
    if motion is None:
        if c1 >= ELSEWHERE_CONTRAST_RATIO * c0:
            # About as clear as the baseline, yet nothing of it is found: another place (or
            # a re-aim beyond recognition), not a picture too poor to compare.
            return _unusable("as clear as the baseline, but none of its scene is in it: "
                             "another place", verdict="elsewhere")
        return _unusable("too few features and no phase-correlation peak")
    hom, inliers, method, confidence = motion
    centre = np.array([(w - 1) / 2, (h - 1) / 2])
    cx, cy = apply_h(hom, centre)
    dx, dy = cx - centre[0], cy - centre[1]
    e0_deg = 0.0 if elevation_deg is None else float(elevation_deg)
    pan, tilt = pan_tilt(dx, dy, f_px, e0_deg)
    rot_meas, scale = local_similarity(hom, centre)
    rot_pred = predicted_rotation(pan, tilt, e0_deg, f_px)
    # Image angles are measured with y down (clockwise positive on screen); a positive roll
    # turns the picture counter-clockwise.
    roll = -math.degrees(wrap(rot_meas - rot_pred))

    tiles, share, where = obstruction((g0, g1), (e0, e1), hom)
    # Focus is judged on what nothing covers: foliage or a billboard in front is smoother or
    # busier than the view behind it, and would pass for a lens out of focus.
    uncovered = uncovered_mask(e1.shape, tiles)
    blur_ratio = sharpness(e1, uncovered) / max(sharpness(e0, uncovered), 1e-9)

    verdicts: set[Verdict] = set()
    if (math.hypot(pan, tilt) >= TURNED_DEG or abs(roll) >= TURNED_DEG
            or abs(math.log(scale)) >= SCALE_CHANGE_MIN):
        verdicts.add("turned")
    reason = ""
    if blur_ratio < BLUR_RATIO_MAX:
        verdicts.add("blurred")
        # Defocus removes edges everywhere, unevenly: per-tile edge loss cannot tell an
        # obstruction from it, so the tiles are reported but not judged.
        if share >= OBSTRUCTED_SHARE_MIN:
            reason = "obstruction not judged: frame blurred"
    elif share >= OBSTRUCTED_SHARE_MIN:
        verdicts.add("obstructed")
    if not verdicts:
        verdicts.add("ok")
    return ViewComparison(
        pan_deg=pan, tilt_deg=tilt, roll_deg=roll, scale=scale, inliers=inliers,
        confidence=confidence, method=method, obstructed_tiles=tiles, obstructed_share=share,
        where=where, blur_ratio=blur_ratio, verdicts=frozenset(verdicts), reason=reason)



def _work_grey(image: Arr | bytes) -> Arr:
    """Grey ``uint8`` at ``WORK_WIDTH`` (never upscaled)."""
    if isinstance(image, bytes | bytearray | memoryview):
        grey = decode_image(bytes(image))
    else:
        arr = np.asarray(image)
        if arr.dtype != np.uint8:
            raise ValueError(f"expected uint8 pixels, got {arr.dtype}")
        if arr.ndim == 3 and arr.shape[2] == 3:
            grey = cv2.cvtColor(arr, cv2.COLOR_BGR2GRAY)
        elif arr.ndim == 2:
            grey = arr
        else:
            raise ValueError(f"expected a grey or BGR image, got shape {arr.shape}")
    h, w = grey.shape
    if w <= WORK_WIDTH:
        return np.ascontiguousarray(grey)
    size = (WORK_WIDTH, max(1, round(h * WORK_WIDTH / w)))
    out: Arr = cv2.resize(grey, size, interpolation=cv2.INTER_AREA)
    return out


def decode_image(jpeg: bytes, flags: int = cv2.IMREAD_GRAYSCALE) -> Arr:
    """A camera's JPEG as ``uint8`` pixels (grey by default), refused before decoding if it
    claims more than ``MAX_PIXELS`` (``flags``: e.g. ``cv2.IMREAD_REDUCED_GRAYSCALE_8`` for a
    small grey copy, ``cv2.IMREAD_COLOR`` for BGR)."""
    size = jpeg_dimensions(jpeg)
    if size is not None and size[0] * size[1] > MAX_PIXELS:
        raise ValueError(f"the image claims {size[0]} x {size[1]} pixels, more than "
                         f"{MAX_PIXELS} (not decoded)")
    try:
        decoded: Arr | None = cv2.imdecode(np.frombuffer(jpeg, np.uint8), flags) \
            if jpeg else None
    except cv2.error as exc:  # OpenCV's own checks on what a camera sent
        raise ValueError(f"not a decodable image ({str(exc).strip()[-200:]})") from None
    if decoded is None:
        raise ValueError("not a decodable image" if jpeg else "an empty image")
    return decoded


def light_field(jpeg: bytes) -> Arr:
    """A JPEG's light, for :func:`light_distance`: its log grey at 80x45 pixels, less its mean
    (exposure). Compute it once for a picture compared with many."""
    grey = decode_image(jpeg, cv2.IMREAD_REDUCED_GRAYSCALE_8)
    small = cv2.resize(grey, (80, 45), interpolation=cv2.INTER_AREA)
    log: Arr = np.log1p(small.astype(np.float32))
    out: Arr = log - float(log.mean())
    return out


def light_distance(a: bytes | Arr, b: bytes | Arr) -> float:
    """How differently two JPEGs of the same view (or their :func:`light_field`) are lit: the
    mean absolute difference of their light fields. Shadows in other places, night IR against
    day, fog against clear all count; 0 is the same light. For picking, among good views of
    the past, the one taken in light like today's.

        >>> import cv2, numpy as np
        >>> grad = np.tile(np.linspace(40, 200, 320, dtype=np.uint8), (180, 1))
        >>> jpeg = lambda img: cv2.imencode(".jpg", img)[1].tobytes()
        >>> light_distance(jpeg(grad), jpeg(grad)) == 0.0
        True
        >>> light_distance(light_field(jpeg(grad)), jpeg(grad[:, ::-1])) > 0.3
        True
    """
    fa, fb = (light_field(x) if isinstance(x, bytes) else x for x in (a, b))
    return float(np.mean(np.abs(fa - fb)))


def _unusable_reason(grey: Arr, which: str) -> str:
    mean, std = cv2.meanStdDev(grey)
    if float(mean[0, 0]) < DARK_MEAN_MAX:
        return f"{which} frame too dark (mean {float(mean[0, 0]):.1f})"
    if float(std[0, 0]) < UNIFORM_STD_MAX:
        return f"{which} frame uniform (std {float(std[0, 0]):.1f})"
    return ""


def _unusable(reason: str, verdict: Verdict = "unusable") -> ViewComparison:
    return ViewComparison(
        pan_deg=math.nan, tilt_deg=math.nan, roll_deg=math.nan, scale=math.nan, inliers=0,
        confidence=0.0, method="none", obstructed_tiles=(), obstructed_share=math.nan,
        where="", blur_ratio=math.nan, verdicts=frozenset({verdict}), reason=reason)
