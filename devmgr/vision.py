"""View-change check: has a camera turned, been obstructed or gone out of focus?

The regulation wants a "relatively fixed view" (Art. 7) and no obstruction by greenery, pipes
or billboards (Art. 12). :func:`compare_views` compares the camera's current snapshot with the
snapshot taken at commissioning from the same PTZ preset and says what changed:

* **turned**: ORB features on a ~640 px grey copy, matched and fitted with a RANSAC
  homography (a camera rotation is exactly a homography; a similarity fitted over the whole
  frame is biased by perspective by up to ~1.5 px at 10 deg), then refined to sub-pixel by
  ``phaseCorrelate`` on the central region after warping the current frame back. The motion of
  the image centre is turned into degrees with the original field of view:
  ``f_px = (W_work/2)/tan(HFOV/2)``, ``pan ~ atan(dx/f_px)`` (exactly inverted for a
  pan-then-tilt PTZ head, see :func:`_pan_tilt`). If ORB finds too little, a phase
  correlation of the whole frame stands in (``method="phase"``).
* **obstructed**: the frame is cut into 8x6 tiles (after warping the baseline by the
  estimated motion); a tile is obstructed when its sharp-edge density falls below 0.3 of the
  baseline's, or when its coarse appearance (8x8 px per tile) no longer correlates with the
  baseline's (NCC < 0.5; this also catches leaves over plain sky, which has no edges to
  lose). Both work on histogram-equalized grey, so gamma, brightness, noise, JPEG and IR
  night mode leave them alone.
* **blurred**: the variance of the Laplacian, normalized by the image variance, drops below
  0.35 of the baseline's.
* **unusable**: too dark, too uniform or too few features to compare at all.

    >>> import numpy as np, cv2
    >>> rng = np.random.default_rng(0)
    >>> base = cv2.GaussianBlur(rng.integers(0, 255, (360, 640), dtype=np.uint8), (0, 0), 2)
    >>> r = compare_views(base, np.roll(base, -10, axis=1), hfov_deg=60.0)
    >>> round(r.pan_deg, 1), sorted(r.verdicts)
    (1.0, ['turned'])

``devmgr`` never imports ``simulators``: the tests and ``bench/view_change.py`` render frames
with the simulated scene.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import cv2
import numpy as np
import numpy.typing as npt

__all__ = [
    "BLUR_RATIO_MAX",
    "GRID_COLS",
    "GRID_ROWS",
    "MIN_INLIERS",
    "OBSTRUCTED_SHARE_MIN",
    "SCALE_CHANGE_MIN",
    "TILE_EDGE_RATIO",
    "TURNED_DEG",
    "Verdict",
    "ViewComparison",
    "compare_views",
]

_Arr = npt.NDArray[Any]
Verdict = Literal["ok", "turned", "obstructed", "blurred", "unusable"]

#: Pan, tilt or roll of at least this many degrees counts as "turned".
TURNED_DEG = 0.5
#: A zoom ratio this far from 1 (relative) also counts as "turned" (the view is not fixed).
SCALE_CHANGE_MIN = 0.02
#: Share of the frame (in tiles) that must be obstructed for "obstructed".
OBSTRUCTED_SHARE_MIN = 0.05
#: A tile is obstructed when its edge density is below this fraction of the baseline's.
#: DESIGN.md says half; 0.3 because a large dark obstruction shifts the global histogram
#: equalization and costs unobstructed tiles up to ~half their edges (measured).
TILE_EDGE_RATIO = 0.3
#: Sobel (3x3, |gx| + |gy|, saturated at 255) level of an edge on the equalized image.
EDGE_THRESHOLD = 160
#: Tiles whose baseline edge density is below this are not judged (sky, blank walls): losing
#: edges there is not measurable.
TILE_MIN_BASELINE_DENSITY = 0.03
#: A median tile edge ratio below this is a global loss (defocus): tiles are then judged
#: against the median tile instead of the baseline.
GLOBAL_LOSS_RATIO = 0.7
#: Tiles too plain to judge by edges are judged by coarse appearance: obstructed when their
#: normalized cross-correlation with the baseline falls below this...
TILE_NCC_MIN = 0.5
#: ...or one of the two is flat (std of the coarse equalized tile below this) and the other
#: is not.
TILE_FLAT_STD = 6.0
#: "blurred" when (normalized Laplacian variance) current/baseline falls below this.
BLUR_RATIO_MAX = 0.35
#: Fewer RANSAC inliers than this: ORB is not trusted, phase correlation decides.
MIN_INLIERS = 25
#: Phase-correlation response below this is no match at all.
MIN_PHASE_RESPONSE = 0.05
#: A frame darker than this mean grey level, or flatter than this standard deviation, is
#: unusable (lens cap, dead sensor, night without IR).
DARK_MEAN_MAX = 12.0
UNIFORM_STD_MAX = 4.0
#: Obstruction grid (columns x rows).
GRID_COLS, GRID_ROWS = 8, 6
#: Working width for features and edges, pixels.
WORK_WIDTH = 640

#: ORB settings: 300 features on 3 levels; matching is quadratic in the count, and the
#: phase-correlation refinement, not the feature count, sets the accuracy.
ORB_FEATURES = 300


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
def compare_views(baseline: _Arr | bytes, current: _Arr | bytes, hfov_deg: float, *,
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

    # Histogram equalization: gamma, brightness and IR gain become (nearly) the same picture,
    # so FAST thresholds, edge thresholds and the Laplacian see the same structure.
    e0, e1 = cv2.equalizeHist(g0), cv2.equalizeHist(g1)

    motion = _estimate_motion(e0, e1)
    if motion is None:
        return _unusable("too few features and no phase-correlation peak")
    hom, inliers, method, confidence = motion
    centre = np.array([(w - 1) / 2, (h - 1) / 2])
    cx, cy = _apply_h(hom, centre)
    dx, dy = cx - centre[0], cy - centre[1]
    e0_deg = 0.0 if elevation_deg is None else float(elevation_deg)
    pan, tilt = _pan_tilt(dx, dy, f_px, e0_deg)
    rot_meas, scale = _local_similarity(hom, centre)
    rot_pred = _predicted_rotation(pan, tilt, e0_deg, f_px)
    # Image angles are measured with y down (clockwise positive on screen); a positive roll
    # turns the picture counter-clockwise.
    roll = -math.degrees(_wrap(rot_meas - rot_pred))

    tiles, share, where = _obstruction(e0, e1, hom)
    blur_ratio = _sharpness(e1) / max(_sharpness(e0), 1e-9)

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


# ------------------------------------------------------------------------------------------------
# Preparation
# ------------------------------------------------------------------------------------------------
def _work_grey(image: _Arr | bytes) -> _Arr:
    """Grey ``uint8`` at ``WORK_WIDTH`` (never upscaled)."""
    if isinstance(image, bytes | bytearray | memoryview):
        buf = np.frombuffer(image, np.uint8)
        decoded: _Arr | None = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE)
        if decoded is None:
            raise ValueError("not a decodable image")
        grey = decoded
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
    out: _Arr = cv2.resize(grey, size, interpolation=cv2.INTER_AREA)
    return out


def _unusable_reason(grey: _Arr, which: str) -> str:
    mean, std = cv2.meanStdDev(grey)
    if float(mean[0, 0]) < DARK_MEAN_MAX:
        return f"{which} frame too dark (mean {float(mean[0, 0]):.1f})"
    if float(std[0, 0]) < UNIFORM_STD_MAX:
        return f"{which} frame uniform (std {float(std[0, 0]):.1f})"
    return ""


def _unusable(reason: str) -> ViewComparison:
    return ViewComparison(
        pan_deg=math.nan, tilt_deg=math.nan, roll_deg=math.nan, scale=math.nan, inliers=0,
        confidence=0.0, method="none", obstructed_tiles=(), obstructed_share=math.nan,
        where="", blur_ratio=math.nan, verdicts=frozenset({"unusable"}), reason=reason)


# ------------------------------------------------------------------------------------------------
# Motion
# ------------------------------------------------------------------------------------------------
def _estimate_motion(e0: _Arr, e1: _Arr) -> tuple[_Arr, int, Any, float] | None:
    """Homography baseline -> current (working pixels), inliers, method, confidence."""
    h, w = e0.shape
    hom: _Arr | None = None
    inliers = 0
    # Built per call (~2 us): OpenCV detector objects are not safe to share between threads.
    orb = cv2.ORB.create(nfeatures=ORB_FEATURES, scaleFactor=1.2, nlevels=3, fastThreshold=12)
    k0, d0 = orb.detectAndCompute(e0, None)
    k1, d1 = orb.detectAndCompute(e1, None)
    if d0 is not None and d1 is not None and len(k0) >= 8 and len(k1) >= 8:
        matches = cv2.BFMatcher(cv2.NORM_HAMMING, crossCheck=True).match(d0, d1)
        if len(matches) >= 8:
            p0 = np.array([k0[m.queryIdx].pt for m in matches], np.float32)
            p1 = np.array([k1[m.trainIdx].pt for m in matches], np.float32)
            hom_est, mask = cv2.findHomography(p0, p1, cv2.RANSAC, 2.0, maxIters=2000,
                                               confidence=0.995)
            if hom_est is not None and mask is not None:
                inliers = int(mask.sum())
                if inliers >= MIN_INLIERS and _plausible(hom_est, w, h):
                    hom = hom_est
    method: Any = "orb+homography+phase"
    if hom is None:
        # ORB is uncertain: a whole-frame phase correlation (pure translation) stands in.
        win = _hanning(w, h)
        (sx, sy), resp = cv2.phaseCorrelate(e0.astype(np.float32), e1.astype(np.float32), win)
        if resp < MIN_PHASE_RESPONSE:
            return None
        hom = np.array([[1.0, 0.0, sx], [0.0, 1.0, sy], [0.0, 0.0, 1.0]])
        method, inliers = "phase", 0
    # Sub-pixel refinement: warp the current frame back onto the baseline and phase-correlate
    # the central region, where the residual is a near-pure translation.
    back = cv2.warpPerspective(e1, hom, (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP)
    cw, ch = (w // 2) & ~1, (h // 2) & ~1
    x0, y0 = (w - cw) // 2, (h - ch) // 2
    a = e0[y0:y0 + ch, x0:x0 + cw].astype(np.float32)
    b = back[y0:y0 + ch, x0:x0 + cw].astype(np.float32)
    (rx, ry), resp = cv2.phaseCorrelate(a, b, _hanning(cw, ch))
    if resp >= MIN_PHASE_RESPONSE and math.hypot(rx, ry) < 4.0:
        # back(p + r) ~ e0(p) and back(q) = e1(H q): baseline p maps to current H(p + r).
        hom = hom @ np.array([[1.0, 0.0, rx], [0.0, 1.0, ry], [0.0, 0.0, 1.0]])
    confidence = float(min(1.0, resp)) if method == "phase" else float(
        min(1.0, inliers / 100.0) * (1.0 if resp >= MIN_PHASE_RESPONSE else 0.5))
    return hom, inliers, method, confidence


def _plausible(hom: _Arr, w: int, h: int) -> bool:
    """Reject degenerate RANSAC fits (wild perspective, mirror, absurd zoom)."""
    rot, scale = _local_similarity(hom, np.array([(w - 1) / 2, (h - 1) / 2]))
    del rot
    return 0.25 < scale < 4.0 and abs(hom[2, 0]) * w < 0.5 and abs(hom[2, 1]) * h < 0.5


_HANNING: dict[tuple[int, int], _Arr] = {}


def _hanning(w: int, h: int) -> _Arr:
    # Cached: building the window costs about as much as the correlation itself.
    win = _HANNING.get((w, h))
    if win is None:
        win = cv2.createHanningWindow((w, h), cv2.CV_32F)
        _HANNING[(w, h)] = win
    return win


def _apply_h(hom: _Arr, p: _Arr) -> tuple[float, float]:
    v = hom @ np.array([p[0], p[1], 1.0])
    return float(v[0] / v[2]), float(v[1] / v[2])


def _local_similarity(hom: _Arr, p: _Arr) -> tuple[float, float]:
    """Rotation (radians, y down) and scale of the homography's Jacobian at ``p``."""
    x, y = float(p[0]), float(p[1])
    d = hom[2, 0] * x + hom[2, 1] * y + hom[2, 2]
    u = (hom[0, 0] * x + hom[0, 1] * y + hom[0, 2]) / d
    v = (hom[1, 0] * x + hom[1, 1] * y + hom[1, 2]) / d
    jac = np.array([[hom[0, 0] - u * hom[2, 0], hom[0, 1] - u * hom[2, 1]],
                    [hom[1, 0] - v * hom[2, 0], hom[1, 1] - v * hom[2, 1]]]) / d
    rot = math.atan2(jac[1, 0] - jac[0, 1], jac[0, 0] + jac[1, 1])
    scale = math.sqrt(abs(float(np.linalg.det(jac))))
    return rot, scale


def _pan_tilt(dx: float, dy: float, f_px: float, el0_deg: float) -> tuple[float, float]:
    """Pan and tilt (degrees) of a pan-then-tilt head that moves the baseline's centre ray to
    image offset (dx, dy) (pixels, y down), starting at elevation ``el0_deg``.

    The baseline centre ray, seen from the current camera, has direction (dx, -dy, f) (x right,
    y up, z forward). Its elevation in the world is el0, so with the current tilt e1:
    ``sin el0 = y cos e1 + z sin e1``, which fixes e1; its azimuth relative to the new heading
    is ``atan2(x, z cos e1 - y sin e1)`` = -pan. At el0 = 0 and small angles this is
    pan = atan(-dx/f), tilt = atan(dy/f).
    """
    x, y, z = dx, -dy, f_px
    n = math.sqrt(x * x + y * y + z * z)
    x, y, z = x / n, y / n, z / n
    r = math.hypot(y, z)
    el0 = math.radians(el0_deg)
    e1 = math.asin(max(-1.0, min(1.0, math.sin(el0) / r))) - math.atan2(y, z)
    pan = -math.atan2(x, z * math.cos(e1) - y * math.sin(e1))
    return math.degrees(pan), math.degrees(e1 - el0)


def _axes(az: float, el: float) -> tuple[_Arr, _Arr, _Arr]:
    """Right, up, forward (east, north, up) of a camera at azimuth/elevation (radians)."""
    forward = np.array([math.sin(az) * math.cos(el), math.cos(az) * math.cos(el), math.sin(el)])
    right = np.array([math.cos(az), -math.sin(az), 0.0])
    up = np.array([-math.sin(az) * math.sin(el), -math.cos(az) * math.sin(el), math.cos(el)])
    return right, up, forward


def _predicted_rotation(pan_deg: float, tilt_deg: float, el0_deg: float, f_px: float) -> float:
    """Apparent image rotation (radians, y down) at the baseline centre caused by a pure
    pan/tilt: panning about the vertical tilts the picture by ~pan·sin(elevation), which
    must not be read as roll."""
    el0 = math.radians(el0_deg)
    r0, _, f0 = _axes(0.0, el0)
    r1, u1, f1 = _axes(math.radians(pan_deg), el0 + math.radians(tilt_deg))

    def project(v: _Arr) -> tuple[float, float]:
        depth = float(v @ f1)
        return f_px * float(v @ r1) / depth, -f_px * float(v @ u1) / depth

    ax, ay = project(f0)
    bx, by = project(f0 + r0 * (1.0 / f_px))
    return math.atan2(by - ay, bx - ax)


def _wrap(a: float) -> float:
    return (a + math.pi) % (2 * math.pi) - math.pi


# ------------------------------------------------------------------------------------------------
# Obstruction and blur
# ------------------------------------------------------------------------------------------------
def _edges(eq: _Arr) -> _Arr:
    """Edge mask: 3x3 Sobel |gx| + |gy| of the equalized image above ``EDGE_THRESHOLD``.

    Equalization makes the threshold independent of exposure and contrast; a high threshold
    on an unsmoothed 3x3 Sobel keeps only sharp structure, which is what an out-of-focus leaf
    or panel close to the lens lacks (and what sensor noise does not reach). Canny's
    thinning would add 2 ms and change nothing in a per-tile ratio.
    """
    gx = cv2.convertScaleAbs(cv2.Sobel(eq, cv2.CV_16S, 1, 0))
    gy = cv2.convertScaleAbs(cv2.Sobel(eq, cv2.CV_16S, 0, 1))
    mag = cv2.add(gx, gy)
    _, out = cv2.threshold(mag, EDGE_THRESHOLD, 1, cv2.THRESH_BINARY)
    result: _Arr = out
    return result


def _tile_density(mask: _Arr, valid: _Arr | None = None) -> tuple[_Arr, _Arr]:
    """Edge density per tile, and the share of each tile that is valid (inside the view)."""
    h, w = mask.shape
    dens = cv2.resize(mask.astype(np.float32), (GRID_COLS, GRID_ROWS),
                      interpolation=cv2.INTER_AREA) if (w % GRID_COLS == 0 and h % GRID_ROWS
                                                       == 0) else _block_mean(mask)
    cover = np.ones_like(dens) if valid is None else _block_mean(valid)
    return dens, cover


def _block_mean(a: _Arr) -> _Arr:
    h, w = a.shape
    xs = np.linspace(0, w, GRID_COLS + 1).round().astype(int)
    ys = np.linspace(0, h, GRID_ROWS + 1).round().astype(int)
    s = cv2.integral(a.astype(np.float32), sdepth=cv2.CV_64F)
    tot = s[np.ix_(ys[1:], xs[1:])] - s[np.ix_(ys[:-1], xs[1:])] \
        - s[np.ix_(ys[1:], xs[:-1])] + s[np.ix_(ys[:-1], xs[:-1])]
    area = np.outer(np.diff(ys), np.diff(xs)).astype(np.float64)
    out: _Arr = (tot / area).astype(np.float32)
    return out


def _obstruction(e0: _Arr, e1: _Arr, hom: _Arr) -> tuple[tuple[tuple[int, int], ...], float, str]:
    """Obstructed tiles: lost their sharp edges, or (where the baseline had none to lose, such
    as sky) changed their coarse appearance."""
    h, w = e0.shape
    valid: _Arr | None = None
    if np.abs(hom - np.eye(3)).max() > 1e-3:
        # The camera moved: compare each current tile with what the baseline saw there.
        e0 = cv2.warpPerspective(e0, hom, (w, h), flags=cv2.INTER_LINEAR)
        valid = cv2.warpPerspective(np.ones_like(e0), hom, (w, h), flags=cv2.INTER_NEAREST)
    d0, cover = _tile_density(_edges(e0), valid)
    d1, _ = _tile_density(_edges(e1))
    inside = cover >= 0.9
    judged = (d0 >= TILE_MIN_BASELINE_DENSITY) & inside
    ratio = d1 / np.maximum(d0, 1e-6)
    # Judged against the frame's typical tile: a defocused lens loses edges everywhere, which
    # is "blurred", not an obstruction; a local obstruction leaves the median tile alone.
    typical = float(np.median(ratio[judged])) if judged.any() else 1.0
    typical = 1.0 if typical >= GLOBAL_LOSS_RATIO else typical
    bad = judged & (ratio < TILE_EDGE_RATIO * typical)
    # Tiles with few edges to lose: has something appeared in front? Correlate a coarse
    # (8x8 px per tile) copy; coarse enough that noise and JPEG average out, and NCC ignores
    # exposure. Leaves or a panel over plain sky or wall decorrelate it.
    bad |= inside & _changed(e0, e1)
    rows, cols = np.nonzero(bad)
    tiles = tuple((int(c), int(r)) for r, c in zip(rows, cols, strict=True))
    share = len(tiles) / (GRID_COLS * GRID_ROWS)
    return tiles, share, _where(tiles)


def _changed(e0: _Arr, e1: _Arr) -> _Arr:
    """Per tile: coarse appearance changed (NCC below ``TILE_NCC_MIN``, or flat became
    textured)."""
    n = 8
    size = (GRID_COLS * n, GRID_ROWS * n)
    a = cv2.resize(e0, size, interpolation=cv2.INTER_AREA).astype(np.float32)
    b = cv2.resize(e1, size, interpolation=cv2.INTER_AREA).astype(np.float32)
    a = a.reshape(GRID_ROWS, n, GRID_COLS, n).transpose(0, 2, 1, 3).reshape(
        GRID_ROWS, GRID_COLS, n * n)
    b = b.reshape(GRID_ROWS, n, GRID_COLS, n).transpose(0, 2, 1, 3).reshape(
        GRID_ROWS, GRID_COLS, n * n)
    a -= a.mean(axis=2, keepdims=True)
    b -= b.mean(axis=2, keepdims=True)
    sa, sb = np.sqrt((a * a).mean(axis=2)), np.sqrt((b * b).mean(axis=2))
    ncc = (a * b).mean(axis=2) / np.maximum(sa * sb, 1e-6)
    flat_a, flat_b = sa < TILE_FLAT_STD, sb < TILE_FLAT_STD
    changed: _Arr = np.where(flat_a & flat_b, False,
                             np.where(flat_a ^ flat_b, True, ncc < TILE_NCC_MIN))
    return changed


def _where(tiles: tuple[tuple[int, int], ...]) -> str:
    """Coarse position of the tiles' centroid in a 3x3 grid, e.g. "lower left"."""
    if not tiles:
        return ""
    fx = (sum(c for c, _ in tiles) / len(tiles) + 0.5) / GRID_COLS
    fy = (sum(r for _, r in tiles) / len(tiles) + 0.5) / GRID_ROWS
    # Bands of 0.4 / 0.2 / 0.4: a corner obstruction whose edge-less border tiles (sky, blank
    # wall) cannot be judged still has its centroid pulled towards the middle.
    vert = "upper" if fy < 0.4 else "lower" if fy > 0.6 else "middle"
    horiz = "left" if fx < 0.4 else "right" if fx > 0.6 else "centre"
    if vert == "middle":
        return "centre" if horiz == "centre" else horiz
    return f"{vert} {horiz}"


def _sharpness(eq: _Arr) -> float:
    """Variance of the Laplacian over the image variance: focus, independent of contrast."""
    lap = cv2.Laplacian(eq, cv2.CV_32F)
    _, lstd = cv2.meanStdDev(lap)
    _, istd = cv2.meanStdDev(eq)
    return float(lstd[0, 0]) ** 2 / max(float(istd[0, 0]) ** 2, 1e-9)
