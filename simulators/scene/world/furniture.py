"""Street furniture: lamps, traffic signals, sign posts and trees, drawn as anti-aliased shapes."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from simulators.scene.geometry import CAMERA_HEIGHT_M, EL_TOP
from simulators.scene.world.canvas import Canvas
from simulators.scene.world.layout import Prop
from simulators.scene.world.raster import Patch, blend, project


def paint_prop(cv: Canvas, prop: Prop) -> None:
    # Each prop carries its own seed: its look cannot depend on the order things are drawn in.
    rng = np.random.default_rng(prop.seed)
    x, y = cv.layout.world(prop.a, prop.b)
    if prop.kind == "tree":
        crown_z = prop.height - prop.size
        _paint_cylinder(cv, x, y, radius=0.12 + 0.02 * prop.size, z0=0.0, z1=crown_z,
                        colour=(45, 60, 75))
        _paint_crown(cv, rng, (x, y, crown_z), prop.size)
        return
    radius = {"lamp": 0.11, "signal": 0.14, "sign": 0.045}[prop.kind]
    _paint_cylinder(cv, x, y, radius=radius, z0=0.0, z1=prop.height, colour=prop.colour)
    dist = math.hypot(x, y)
    az_ref = math.degrees(math.atan2(x, y))
    # Where the arm reaches (towards the road), in the world.
    fx, fy = cv.layout.world(prop.toward_a, prop.toward_b)
    reach = prop.size if prop.kind != "sign" else 0.0
    top = project(x, y, prop.height, az_ref)
    end = project(x + fx * reach, y + fy * reach, prop.height - 0.1, az_ref)
    # A generous window: heads hang below the arm and signs stick out sideways.
    span = math.degrees(math.atan(2.0 / max(dist - 3.0, 1.0)))
    patch = Patch(cv.ppd, min(top[0], end[0]) - span, max(top[0], end[0]) + span,
                   min(top[1], end[1]) - span, max(top[1], end[1]) + span)
    px_per_m = cv.ppd * math.degrees(1.0 / max(dist, 1.0))
    if prop.kind == "lamp":
        patch.line(top, end, 0.12 * px_per_m, prop.colour)
        _lamp_head(patch, (x + fx * reach, y + fy * reach, prop.height - 0.05), (fx, fy),
                   az_ref, px_per_m)
    elif prop.kind == "signal":
        patch.line(top, end, 0.12 * px_per_m, prop.colour)
        for t in (0.55, 0.95):
            _signal_head(patch, rng, (x + fx * reach * t, y + fy * reach * t,
                                      prop.height - 0.15), az_ref)
    else:
        _sign_plate(patch, rng, (x, y, prop.height - 0.2), prop, az_ref)
    patch.paste(cv.pano)


def _lamp_head(patch: Patch, at: tuple[float, float, float], facing: tuple[float, float],
               az_ref: float, px_per_m: float) -> None:
    """A flat box at the end of the arm; its glowing underside shows only from below."""
    hx, hy, z = at
    fx, fy = facing
    sx, sy = -fy, fx  # sideways
    body = [(hx - fx * 0.4 - sx * 0.2, hy - fy * 0.4 - sy * 0.2, z),
            (hx + fx * 0.4 - sx * 0.2, hy + fy * 0.4 - sy * 0.2, z),
            (hx + fx * 0.4 + sx * 0.2, hy + fy * 0.4 + sy * 0.2, z - 0.25),
            (hx - fx * 0.4 + sx * 0.2, hy - fy * 0.4 + sy * 0.2, z - 0.25)]
    patch.poly([project(*p, az_ref) for p in body], (60, 62, 64))
    if z - 0.25 > CAMERA_HEIGHT_M:
        lens = project(hx, hy, z - 0.22, az_ref)
        patch.ellipse(lens, 0.3 * px_per_m, 0.08 * px_per_m, (215, 235, 245))


def _signal_head(patch: Patch, rng: np.random.Generator, at: tuple[float, float, float],
                 az_ref: float) -> None:
    """A black box hanging from the mast arm with red/amber/green lamps, one of them lit."""
    hx, hy, z = at
    c_az, c_top = project(hx, hy, z, az_ref)
    _, c_bot = project(hx, hy, z - 1.1, az_ref)
    dist = max(math.hypot(hx, hy), 1.0)
    half = math.degrees(math.atan(0.2 / dist))
    patch.poly([(c_az - half, c_top), (c_az + half, c_top), (c_az + half, c_bot),
                (c_az - half, c_bot)], (25, 25, 25))
    lit = int(rng.integers(3))
    rad = 0.12 * patch.ppd * math.degrees(1.0 / dist)
    for k, colour in enumerate([(40.0, 40.0, 230.0), (40.0, 190.0, 240.0), (120.0, 220.0, 60.0)]):
        _, ce = project(hx, hy, z - 0.2 - 0.35 * k, az_ref)
        patch.ellipse((c_az, ce), rad, rad, colour if k == lit else [0.3 * v for v in colour])


def _sign_plate(patch: Patch, rng: np.random.Generator, at: tuple[float, float, float],
                prop: Prop, az_ref: float) -> None:
    """A coloured plate with a white border and white bars (an information sign)."""
    x, y, z = at
    dist = math.hypot(x, y)
    c_az, c_el = project(x, y, z, az_ref)
    hw = math.degrees(math.atan(prop.size / 2 / dist))
    hh = math.degrees(math.atan(0.35 / dist))

    def rect(k: float) -> list[tuple[float, float]]:
        return [(c_az - hw * k, c_el + hh * k), (c_az + hw * k, c_el + hh * k),
                (c_az + hw * k, c_el - hh * k), (c_az - hw * k, c_el - hh * k)]

    patch.poly(rect(1.0), (235, 235, 235))
    patch.poly(rect(0.85), prop.colour)
    px_per_m = patch.ppd * math.degrees(1.0 / dist)
    for k in range(3):
        e = c_el + hh * (0.45 - 0.45 * k)
        length = rng.uniform(0.3, 0.75)
        patch.line((c_az - hw * 0.7, e), (c_az - hw * 0.7 + 2 * hw * length, e),
                   0.06 * px_per_m, (240, 240, 240))


def _paint_cylinder(cv: Canvas, x: float, y: float, *, radius: float, z0: float, z1: float,
                    colour: Sequence[float]) -> None:
    """An upright pole or trunk, shaded round, anti-aliased at every edge."""
    h, ppd = CAMERA_HEIGHT_M, cv.ppd
    dist = math.hypot(x, y)
    az = math.degrees(math.atan2(x, y))
    half = math.degrees(math.asin(min(radius / dist, 0.99)))
    c0 = math.floor((az - half) * ppd - 0.5) - 1
    c1 = math.ceil((az + half) * ppd - 0.5) + 2
    az_c = (np.arange(c0, c1) + 0.5) / ppd
    off = (az_c - az) / half
    cover_c = np.clip((half - np.abs(az_c - az)) * ppd + 0.5, 0, 1)
    el_lo = math.degrees(math.atan((z0 - h) / dist))
    el_hi = math.degrees(math.atan((z1 - h) / dist))
    r0 = max(0, math.floor((EL_TOP - el_hi) * ppd - 0.5) - 1)
    r1 = min(cv.rows, math.ceil((EL_TOP - el_lo) * ppd - 0.5) + 2)
    if r0 >= r1:
        return
    el = EL_TOP - (np.arange(r0, r1) + 0.5) / ppd
    cover_r = np.clip(np.minimum(el_hi - el, el - el_lo) * ppd + 0.5, 0, 1)
    side = math.sin(math.radians(cv.layout.sun_az - az))
    light = 0.55 + 0.3 * np.sqrt(np.clip(1 - off**2, 0, 1)) + 0.2 * np.clip(off, -1, 1) * side
    alpha = (cover_r[:, None] * cover_c[None, :]).astype(np.float32)
    rgb = np.broadcast_to(np.asarray(colour, np.float32)[None, None, :]
                          * light.astype(np.float32)[None, :, None], (*alpha.shape, 3))
    blend(cv.pano, c0, r0, rgb, alpha)


def _paint_crown(cv: Canvas, rng: np.random.Generator, centre: tuple[float, float, float],
                 size: float) -> None:
    """Foliage: a cloud of overlapping leaf clumps, lit from the sun's side."""
    x, y, z = centre
    az_ref = math.degrees(math.atan2(x, y))
    c_az, c_el = project(x, y, z, az_ref)
    d3 = math.hypot(math.hypot(x, y), z - CAMERA_HEIGHT_M)
    ang = math.degrees(math.asin(min(size / d3, 0.95)))
    stretch = 1.0 / max(math.cos(math.radians(c_el)), 0.2)  # equirect widens near the poles
    patch = Patch(cv.ppd, c_az - 1.3 * ang * stretch, c_az + 1.3 * ang * stretch,
                   c_el - 1.3 * ang, c_el + 1.3 * ang)
    side = math.sin(math.radians(cv.layout.sun_az - az_ref))
    base = np.array([50, 105, 60], np.float32) * rng.uniform(0.8, 1.15, 3).astype(np.float32)
    pts = rng.standard_normal((220, 2)) * 0.42
    pts = pts[np.hypot(pts[:, 0], pts[:, 1]) < 1.05]
    pts = pts[np.argsort(pts[:, 1])]  # lower, shadowed clumps first
    light = (0.7 + 0.25 * pts[:, 1] + 0.2 * pts[:, 0] * side
             + rng.uniform(-0.15, 0.15, len(pts)))
    colours = np.clip(base[None, :] * light[:, None], 0, 255)
    radii = ang * cv.ppd * rng.uniform(0.11, 0.24, len(pts))
    for (px, py), colour, r in zip(pts, colours, radii, strict=True):
        patch.ellipse((c_az + px * ang * stretch, c_el + py * ang), r * stretch, r, colour)
    patch.paste(cv.pano)
