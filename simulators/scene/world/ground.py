"""The ground: street plans (roads, markings, paving) projected onto every row below the horizon."""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np

from simulators.scene.geometry import CAMERA_HEIGHT_M, EL_TOP, Arr, Image
from simulators.scene.world.canvas import Canvas
from simulators.scene.world.layout import FAR_RING_M, Layout
from simulators.scene.world.raster import interval_cover, stripe_cover

_NEAR_PLAN = (0.035, 36.4)  # metres per pixel, half extent (m): the pavement at your feet
_FAR_PLAN = (0.125, FAR_RING_M)  # the rest of the street
_Colour = tuple[float, float, float]


def _plan_polygons(layout: Layout) -> list[tuple[_Colour, list[Arr]]]:
    """Road markings as (colour, polygons in the grid frame (a, b)), shared by both plans."""
    white, yellow = (225.0, 228.0, 228.0), (40.0, 185.0, 225.0)
    whites: list[Arr] = []
    yellows: list[Arr] = []
    e = FAR_RING_M * 1.5

    def poly(points: Sequence[tuple[float, float]], swap: bool) -> Arr:
        return np.array([(b, a) if swap else (a, b) for a, b in points])

    def rect(a0: float, a1: float, b0: float, b1: float, swap: bool) -> Arr:
        return poly([(a0, b0), (a1, b0), (a1, b1), (a0, b1)], swap)

    # Road 1 runs along a (centre b1, cross road at a2); road 2 is the same with a and b
    # swapped, so one routine draws both.
    for centre, hw, lanes, cross, cross_hw, swap in (
            (layout.b1, layout.hw1, layout.lanes1, layout.a2, layout.hw2, False),
            (layout.a2, layout.hw2, layout.lanes2, layout.b1, layout.hw1, True)):
        for sign in (-1.0, 1.0):
            # Stretch of this road on one side of the crossing: from the zebra outwards.
            near, far = cross + sign * (cross_hw + 7.0), cross + sign * e
            lo, hi = min(near, far), max(near, far)
            for off in (-0.15, 0.15):  # double yellow centre line
                yellows.append(rect(lo, hi, centre + off - 0.075, centre + off + 0.075, swap))
            for side in (-1.0, 1.0):
                edge = centre + side * (hw - 0.35)
                whites.append(rect(lo, hi, edge - 0.08, edge + 0.08, swap))
                for k in range(1, lanes):  # dashed lane lines: 4 m on, 6 m off
                    lane = centre + side * k * 3.5
                    for s in np.arange(near + sign * 1.0, far, sign * 10.0):
                        whites.append(rect(s, s + sign * 4.0, lane - 0.075, lane + 0.075, swap))
            # Traffic keeps right. Travelling towards the crossing (-sign along the road), the
            # right-hand half lies at -sign across road 1 (b points right of a) but at +sign
            # across road 2 (a points left of b).
            inbound = sign if swap else -sign
            stop = cross + sign * (cross_hw + 6.5)
            whites.append(rect(stop - 0.2, stop + 0.2, centre,
                               centre + inbound * (hw - 0.35), swap))
            z0, z1 = cross + sign * (cross_hw + 1.0), cross + sign * (cross_hw + 5.5)
            for s in np.arange(centre - hw + 0.6, centre + hw - 0.6, 1.0):
                whites.append(rect(min(z0, z1), max(z0, z1), s, s + 0.45, swap))
            # Straight-ahead arrows in the inbound lanes before the stop line.
            tip = stop + sign * 4.0
            for k in range(lanes):
                lane = centre + inbound * (k + 0.5) * 3.5
                whites.append(poly(
                    [(tip + sign * 5.0, lane - 0.15), (tip + sign * 1.6, lane - 0.15),
                     (tip + sign * 1.6, lane - 0.5), (tip, lane), (tip + sign * 1.6, lane + 0.5),
                     (tip + sign * 1.6, lane + 0.15), (tip + sign * 5.0, lane + 0.15)], swap))
    return [(white, whites), (yellow, yellows)]


def _draw_plan(layout: Layout, mpp: float, extent: float, rng: np.random.Generator) -> Image:
    """Top view of the street around the camera, (n, n) BGR; row ↔ b, column ↔ a.

    Pixel i is centred at (i + 0.5)·mpp - extent metres. The rasters are big, so the work is
    in-place float32 arithmetic on a handful of buffers: fresh allocations (first-touch page
    faults) cost as much as the arithmetic here.
    """
    n = round(2 * extent / mpp)
    coords = (np.arange(n, dtype=np.float32) + 0.5) * mpp - extent
    a, b = coords, coords
    px = float(mpp)
    lum, tmp = _paving(layout, coords, px)
    # Large-scale light and dirt: one coarse grid fixed to the world, shared by both plans so
    # they agree where they meet (4 m cells from -192 m).
    cell, origin = 4.0, -192.0
    shift = (0.5 * mpp - extent - origin) / cell - 0.5
    affine = np.array([[mpp / cell, 0, shift], [0, mpp / cell, shift]], np.float32)
    var: Arr = cv2.warpAffine(layout.ground_var, affine, (n, n),
                               flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP,
                               borderMode=cv2.BORDER_REFLECT)
    var *= 0.35
    var += 0.8
    # Roads: asphalt with grain, kerbs of light stone along the edges.
    d1 = np.abs(b - layout.b1)
    d2 = np.abs(a - layout.a2)
    road1 = np.clip((layout.hw1 - d1) / px + 0.5, 0, 1)
    road2 = np.clip((layout.hw2 - d2) / px + 0.5, 0, 1)
    road = np.maximum(road1[:, None], road2[None, :])
    grain = rng.random((n, n), dtype=np.float32)
    grain *= 0.24  # asphalt brightness: 1 ± 0.12 grain
    grain += 0.88
    grain -= lum
    grain *= road
    lum += grain  # tiles off the road, asphalt on it
    kerb1 = interval_cover(d1, px, layout.hw1, layout.hw1 + 0.3)
    kerb2 = interval_cover(d2, px, layout.hw2, layout.hw2 + 0.3)
    np.multiply(kerb1[:, None], (1 - road2)[None, :], out=tmp)
    np.multiply(kerb2[None, :], (1 - road1)[:, None], out=grain)
    np.maximum(tmp, grain, out=tmp)
    tmp *= -0.8
    tmp += 1.0  # 1 - kerb stone coverage
    out = np.empty((n, n, 3), np.uint8)
    plane = grain
    for ch in range(3):
        # colour = (paving or asphalt) · lum, kerbs pulled towards light grey (200), · var
        paving, asphalt = float(layout.paving[ch]), float(layout.asphalt[ch])
        np.multiply(road, asphalt - paving, out=plane)
        plane += paving
        plane *= lum
        plane -= 200.0
        plane *= tmp
        plane += 200.0
        plane *= var
        plane += 0.5
        np.clip(plane, 0, 255, out=plane)
        out[..., ch] = plane
    _draw_plan_details(out, layout, mpp, extent)
    return out


def _paving(layout: Layout, coords: Arr, px: float) -> tuple[Arr, Arr]:
    """Brightness of the paving tiles (slightly different tones, darker joints) over the
    plan grid ``coords`` x ``coords``, and a scratch buffer of the same shape."""
    tile = layout.tile
    index = np.floor(coords / tile).astype(np.int64) % 64
    lum = np.take(np.take(layout.tile_tones, index, axis=0), index, axis=1)
    joints = stripe_cover(coords, px, tile, -0.01, 0.02)
    tmp = np.maximum(joints[:, None], joints[None, :])
    tmp *= -0.45
    tmp += 1.0
    lum *= tmp
    return lum, tmp


def _draw_plan_details(out: Image, layout: Layout, mpp: float, extent: float) -> None:
    """Markings, manhole covers and tree pits, drawn anti-aliased from world-fixed shapes."""
    def to_px(poly: Arr) -> Arr:
        # cv2 draws with 4 fractional bits.
        return np.round(((poly + extent) / mpp - 0.5) * 16).astype(np.int32)

    for colour, polys in _plan_polygons(layout):
        cv2.fillPoly(out, [to_px(p) for p in polys], colour, cv2.LINE_AA, 4)
    inside = np.all(np.abs(layout.manholes) < extent + 1.0, axis=1)
    for centre in to_px(layout.manholes[inside]):
        c = (int(centre[0]), int(centre[1]))
        cv2.circle(out, c, round(0.35 / mpp * 16), (55, 58, 60), -1, cv2.LINE_AA, 4)
        cv2.circle(out, c, max(16, round(0.27 / mpp * 16)), (95, 98, 100), -1, cv2.LINE_AA, 4)
    for prop in layout.props:
        if prop.kind == "tree":  # a square pit of dark soil round each trunk
            pit = np.array([(prop.a - 0.7, prop.b - 0.7), (prop.a + 0.7, prop.b - 0.7),
                            (prop.a + 0.7, prop.b + 0.7), (prop.a - 0.7, prop.b + 0.7)])
            cv2.fillPoly(out, [to_px(pit)], (45, 60, 75), cv2.LINE_AA, 4)


def _pyramid(img: Arr, mpp: float, extent: float) -> list[tuple[Arr, float, float]]:
    """Box-filtered halvings; pixel i of every level is centred at (i + 0.5)·mpp - extent."""
    levels = [(img, mpp, extent)]
    while img.shape[0] % 2 == 0 and img.shape[0] >= 64 and mpp < 6.0:
        img = cv2.resize(img, (img.shape[1] // 2, img.shape[0] // 2),
                         interpolation=cv2.INTER_AREA)
        mpp *= 2
        levels.append((img, mpp, extent))
    return levels


def paint_ground(cv: Canvas, rng: np.random.Generator) -> None:
    """Project the street plans onto every panorama row below the horizon.

    A row at depression φ sees the ground at distance d = h/tan φ, where one panorama pixel
    spans h·Δ/sin²φ metres radially. Each row samples the plan level whose texel matches that
    footprint (blending neighbours where it falls between two): a per-row mip-map that keeps
    distant tiles and lane dashes from aliasing.
    """
    layout, ppd = cv.layout, cv.ppd
    # The near plan's fine levels, then the far plan's: texel sizes increase throughout.
    near = [s for s in _pyramid(_draw_plan(layout, *_NEAR_PLAN, rng), *_NEAR_PLAN)
            if s[1] < _FAR_PLAN[0]]
    sources = near + _pyramid(_draw_plan(layout, *_FAR_PLAN, rng), *_FAR_PLAN)
    n_sky = round(EL_TOP * ppd)
    el = EL_TOP - (np.arange(n_sky, cv.rows) + 0.5) / ppd
    phi = np.radians(-el)
    dist = np.minimum(CAMERA_HEIGHT_M / np.tan(phi), 1e4)
    footprint = CAMERA_HEIGHT_M * math.radians(1.0 / ppd) / np.sin(phi) ** 2
    level = np.interp(np.log(footprint), np.log([1.25 * s[1] for s in sources]),
                      np.arange(len(sources)))
    # Mostly one level per row, cross-fading over the middle quarter between two levels.
    weights = np.clip(2.5 - 4.0 * np.abs(level[None, :] - np.arange(len(sources))[:, None]),
                      0, 1)
    # A plan cannot serve rows that look beyond its edge: their share goes to the finest level
    # that can (the far plan's, which reaches the backdrop).
    usable = dist[None, :] < np.array([0.95 * s[2] for s in sources])[:, None]
    weights *= usable
    finest = np.argmax(usable, axis=0)
    weights[finest, np.arange(len(el))] += 1.0 - weights.sum(axis=0)
    # Aerial perspective: a little haze with distance, none near the pole (those rows can
    # then go straight from the plan into the panorama).
    haze_k = np.clip(1.0 - np.exp(-(dist - 20.0) / 900.0), 0.0, None)
    az = np.radians((np.arange(cv.cols) + 0.5) / ppd) - layout.gamma
    ca, sa = np.cos(az).astype(np.float32), np.sin(az).astype(np.float32)
    chunk = 64
    for r0 in range(0, len(el), chunk):
        r1 = min(len(el), r0 + chunk)
        active = [k for k in range(len(sources)) if weights[k, r0:r1].any()]
        acc: Arr | None = None
        for k in active:
            img, mpp, extent = sources[k]
            # Plan pixel of the ground point (a, b) = d·(cos, sin)(az - gamma).
            scaled = (dist[r0:r1] / mpp).astype(np.float32)
            mx = np.multiply.outer(scaled, ca)
            mx += np.float32(extent / mpp - 0.5)
            my = np.multiply.outer(scaled, sa)
            my += np.float32(extent / mpp - 0.5)
            sample = cv2.remap(img, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            w = weights[k, r0:r1]
            if len(active) == 1 and haze_k[r0] == 0.0:  # (haze grows towards row 0)
                acc = sample  # one level, no haze to speak of: straight in
                break
            term = sample * w.astype(np.float32)[:, None, None]
            acc = term if acc is None else acc + term
        assert acc is not None
        if acc.dtype != np.uint8:
            hk = haze_k[r0:r1].astype(np.float32)[:, None, None]
            acc = acc * (1 - hk) + layout.haze * hk
            acc = np.clip(acc + 0.5, 0, 255).astype(np.uint8)
        cv.pano[n_sky + r0:n_sky + r1] = acc
