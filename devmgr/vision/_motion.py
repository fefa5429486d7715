"""How far the view moved: ORB + RANSAC homography, refined by phase correlation, in degrees.

A camera rotation is exactly a homography; the motion of the image centre becomes pan and
tilt through the field of view, exactly inverted for a pan-then-tilt PTZ head.
"""

from __future__ import annotations

import math
from typing import Any

import cv2
import numpy as np

from devmgr.vision._limits import MIN_INLIERS, MIN_PHASE_RESPONSE, ORB_FEATURES, Arr


def orb(features: int = ORB_FEATURES) -> Any:
    """An ORB detector as the view checks use it (built per call, ~2 us: OpenCV detector
    objects are not safe to share between threads)."""
    return cv2.ORB.create(nfeatures=features, scaleFactor=1.2, nlevels=3, fastThreshold=12)


def estimate_motion(e0: Arr, e1: Arr) -> tuple[Arr, int, Any, float] | None:
    """Homography baseline -> current (working pixels), inliers, method, confidence."""
    h, w = e0.shape
    hom: Arr | None = None
    inliers = 0
    detector = orb()
    k0, d0 = detector.detectAndCompute(e0, None)
    k1, d1 = detector.detectAndCompute(e1, None)
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


def _plausible(hom: Arr, w: int, h: int) -> bool:
    """Reject degenerate RANSAC fits (wild perspective, mirror, absurd zoom)."""
    rot, scale = local_similarity(hom, np.array([(w - 1) / 2, (h - 1) / 2]))
    del rot
    return 0.25 < scale < 4.0 and abs(hom[2, 0]) * w < 0.5 and abs(hom[2, 1]) * h < 0.5


_HANNING: dict[tuple[int, int], Arr] = {}


def _hanning(w: int, h: int) -> Arr:
    # Cached: building the window costs about as much as the correlation itself.
    win = _HANNING.get((w, h))
    if win is None:
        win = cv2.createHanningWindow((w, h), cv2.CV_32F)
        _HANNING[(w, h)] = win
    return win


def apply_h(hom: Arr, p: Arr) -> tuple[float, float]:
    v = hom @ np.array([p[0], p[1], 1.0])
    return float(v[0] / v[2]), float(v[1] / v[2])


def local_similarity(hom: Arr, p: Arr) -> tuple[float, float]:
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


def pan_tilt(dx: float, dy: float, f_px: float, el0_deg: float) -> tuple[float, float]:
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


def _axes(az: float, el: float) -> tuple[Arr, Arr, Arr]:
    """Right, up, forward (east, north, up) of a camera at azimuth/elevation (radians)."""
    forward = np.array([math.sin(az) * math.cos(el), math.cos(az) * math.cos(el), math.sin(el)])
    right = np.array([math.cos(az), -math.sin(az), 0.0])
    up = np.array([-math.sin(az) * math.sin(el), -math.cos(az) * math.sin(el), math.cos(el)])
    return right, up, forward


def predicted_rotation(pan_deg: float, tilt_deg: float, el0_deg: float, f_px: float) -> float:
    """Apparent image rotation (radians, y down) at the baseline centre caused by a pure
    pan/tilt: panning about the vertical tilts the picture by ~pan·sin(elevation), which
    must not be read as roll."""
    el0 = math.radians(el0_deg)
    r0, _, f0 = _axes(0.0, el0)
    r1, u1, f1 = _axes(math.radians(pan_deg), el0 + math.radians(tilt_deg))

    def project(v: Arr) -> tuple[float, float]:
        depth = float(v @ f1)
        return f_px * float(v @ r1) / depth, -f_px * float(v @ u1) / depth

    ax, ay = project(f0)
    bx, by = project(f0 + r0 * (1.0 / f_px))
    return math.atan2(by - ay, bx - ax)


def wrap(a: float) -> float:
    return (a + math.pi) % (2 * math.pi) - math.pi
