"""Buildings: each visible wall evaluated at the panorama pixels it covers, near walls culling far.

Windows, floor slabs and shop signs are box-filtered stripes over each pixel's footprint on
the wall, so they stay crisp near and smooth far.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from simulators.scene.geometry import CAMERA_HEIGHT_M, EL_TOP, Arr
from simulators.scene.world.canvas import Canvas
from simulators.scene.world.layout import Box, Facade
from simulators.scene.world.raster import blend, interval_cover, stripe_cover


@dataclass
class Wall:
    """One visible vertical face of a box, as the panorama columns it spans.

    Per column: ``r`` the horizontal distance at which the ray meets the wall, ``u`` the
    position along the wall, ``du`` the width of the column's footprint on it, ``cover_u`` the
    fraction of the column the wall covers. ``hidden_*`` are the rows that nearer boxes paint
    opaquely over later (none where ``hidden_top > hidden_bot``).
    """

    box: Box
    length: float
    shade: float
    col0: int  # first column, unwrapped (may be negative or beyond 360°)
    r: Arr
    u: Arr
    du: Arr
    cover_u: Arr
    hidden_top: Arr | None = None
    hidden_bot: Arr | None = None

    def columns(self, n_cols: int) -> Arr:
        return (self.col0 + np.arange(len(self.r))) % n_cols

    def opaque_rows(self, ppd: int, n_rows: int) -> tuple[Arr, Arr]:
        """Per column, the first and last row the wall covers completely (alpha 1)."""
        h = CAMERA_HEIGHT_M
        top = np.degrees(np.arctan((self.box.z0 + self.box.height - h) / self.r))
        bot = np.degrees(np.arctan((self.box.z0 - h) / self.r))
        # One pixel of margin each side: the anti-aliased edge rows are not opaque.
        first = np.ceil((EL_TOP - top) * ppd - 0.5 + 1.0).astype(np.int32)
        last = np.floor((EL_TOP - bot) * ppd - 0.5 - 1.0).astype(np.int32)
        solid = self.cover_u > 0.999  # (1.0 up to rounding)
        first = np.where(solid, np.maximum(first, 0), n_rows)
        last = np.where(solid, np.minimum(last, n_rows - 1), -1)
        return first, last


def visible_walls(cv: Canvas, box: Box) -> list[Wall]:
    """The faces of ``box`` that look towards the camera, with their per-column geometry."""
    layout, ppd = cv.layout, cv.ppd
    corners = [(box.a0, box.b0), (box.a1, box.b0), (box.a1, box.b1), (box.a0, box.b1)]
    # Outward normals (grid frame) of the faces corner[i] -> corner[i + 1].
    normals = [(0.0, -1.0), (1.0, 0.0), (0.0, 1.0), (-1.0, 0.0)]
    walls = []
    for i, (na, nb) in enumerate(normals):
        pa, pb = corners[i]
        if na * (0.0 - pa) + nb * (0.0 - pb) <= 0:  # faces away from the camera
            continue
        p0 = layout.world(pa, pb)
        p1 = layout.world(*corners[(i + 1) % 4])
        sun = math.cos(math.radians(math.degrees(math.atan2(*layout.world(na, nb)))
                                    - layout.sun_az))
        shade = 0.62 + 0.38 * max(0.0, sun) - 0.08 * max(0.0, -sun)
        length = math.dist(p0, p1)
        tx, ty = (p1[0] - p0[0]) / length, (p1[1] - p0[1]) / length
        az0 = math.degrees(math.atan2(*p0))
        az1 = math.degrees(math.atan2(*p1))
        az1 += 360.0 * round((az0 - az1) / 360.0)
        c0 = math.floor(min(az0, az1) * ppd - 0.5) - 1
        c1 = math.ceil(max(az0, az1) * ppd - 0.5) + 2
        az = np.radians((np.arange(c0, c1, dtype=np.float64) + 0.5) / ppd)
        sx, sy = np.sin(az), np.cos(az)
        # The ray r·(sx, sy) meets the wall line p0 + u·t.
        denom = sx * ty - sy * tx
        with np.errstate(divide="ignore", invalid="ignore"):
            r = (p0[0] * ty - p0[1] * tx) / denom
        r = np.where(np.isfinite(r) & (r > 0.5), r, 1e4)
        u = (r * sx - p0[0]) * tx + (r * sy - p0[1]) * ty
        du = np.abs(np.gradient(u)) + 1e-4
        cover_u = interval_cover(u, du, 0.0, length)
        keep = np.flatnonzero(cover_u > 0)
        if not keep.size:
            continue
        sl = slice(int(keep[0]), int(keep[-1]) + 1)
        walls.append(Wall(box, length, shade, c0 + int(keep[0]), r[sl], u[sl], du[sl],
                           cover_u[sl]))
    return walls


def mark_occlusion(cv: Canvas, near_to_far: list[list[Wall]]) -> None:
    """Record on every wall the rows that nearer boxes will paint opaquely over it.

    The painter's algorithm paints far walls first; pixels a nearer box later covers with
    alpha 1 need not be evaluated at all (this halves the cost of painting buildings). Walking
    the boxes near to far, each column keeps one interval of opaque rows: nearer buildings
    stand on the ground below farther ones, so their intervals chain into one. The result is
    unchanged: a culled pixel would have been overwritten.
    """
    top = np.full(cv.cols, cv.rows, np.int32)
    bot = np.full(cv.cols, -1, np.int32)
    for walls in near_to_far:
        for wall in walls:  # a box does not hide its own faces
            cols = wall.columns(cv.cols)
            wall.hidden_top, wall.hidden_bot = top[cols], bot[cols]
        for wall in walls:
            cols = wall.columns(cv.cols)
            first, last = wall.opaque_rows(cv.ppd, cv.rows)
            old_top, old_bot = top[cols], bot[cols]
            touch = (first <= old_bot + 1) & (last >= old_top - 1)
            longer = (last - first) > (old_bot - old_top)
            top[cols] = np.where(touch, np.minimum(first, old_top),
                                 np.where(longer, first, old_top))
            bot[cols] = np.where(touch, np.maximum(last, old_bot),
                                 np.where(longer, last, old_bot))


def paint_face(cv: Canvas, wall: Wall) -> None:
    """One vertical wall, evaluated directly at the panorama pixels it covers.

    Per column the ray meets the wall at horizontal distance r and wall coordinate u; per pixel
    the height is z = h + r·tan(el). Windows, slabs and signs are box-filtered stripes in (u, z)
    over each pixel's footprint, so they stay crisp near and smooth far.
    """
    box, h, ppd = wall.box, CAMERA_HEIGHT_M, cv.ppd
    z_top = box.z0 + box.height
    hidden_top, hidden_bot = wall.hidden_top, wall.hidden_bot
    if hidden_top is None or hidden_bot is None:
        raise RuntimeError("mark_occlusion() must run before walls are painted")
    # Column runs, each with its own row range: the bounding box of a receding wall is mostly
    # empty, and nearer buildings hide different rows in different columns.
    step = 32
    for s0 in range(0, len(wall.r), step):
        sl = slice(s0, s0 + step)
        r = wall.r[sl]
        el_hi = math.degrees(math.atan((z_top - h) / float(r.min() if z_top > h else r.max())))
        el_lo = math.degrees(math.atan((box.z0 - h)
                                       / float(r.min() if box.z0 < h else r.max())))
        r0 = max(0, math.floor((EL_TOP - el_hi) * ppd - 0.5) - 1)
        r1 = min(cv.rows, math.ceil((EL_TOP - el_lo) * ppd - 0.5) + 2)
        # Rows hidden in every column of the run.
        hide0, hide1 = int(hidden_top[sl].max()), int(hidden_bot[sl].min()) + 1
        spans = [(r0, r1)] if hide0 >= hide1 else [(r0, min(r1, hide0)), (max(r0, hide1), r1)]
        for a, b in spans:
            if a < b:
                _paint_wall(cv, wall, sl, (a, b))


def _paint_wall(cv: Canvas, wall: Wall, sl: slice, rows: tuple[int, int]) -> None:
    """Rows ``rows`` of the columns ``sl`` of one wall (see :func:`paint_face`)."""
    box, f, h, f32 = wall.box, wall.box.facade, CAMERA_HEIGHT_M, np.float32
    r, u, du = wall.r[sl], wall.u[sl], wall.du[sl]
    tan_el = np.tan(np.radians(EL_TOP - (np.arange(*rows) + 0.5) / cv.ppd))
    # Height above the box's base, and the height span of each pixel's footprint.
    z = (h - box.z0 + np.multiply.outer(tan_el, r)).astype(f32)
    dz = (np.multiply.outer(math.radians(1.0 / cv.ppd) * (1 + tan_el**2), r)
          + 1e-4).astype(f32)
    alpha = interval_cover(z, dz, 0.0, box.height)
    alpha *= wall.cover_u[sl].astype(f32)[None, :]
    # Full coverage computed in float32 can come out a hair under 1; make it 1, so that what
    # this wall hides stays hidden (occlusion culling relies on it).
    alpha[alpha > 0.999] = 1.0
    # Wall material: a world-fixed noise texture (6 cm texels, wrapping) and grime near the
    # ground.
    mx = np.broadcast_to((u / 0.06).astype(f32)[None, :], z.shape)
    lum: Arr = cv2.remap(cv.wall_noise, np.ascontiguousarray(mx), z * f32(1 / 0.06),
                          cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP)
    lum *= 0.85 + 0.15 * np.clip(z / f32(6.0), 0, 1)
    if f.plain:
        colour = lum[..., None] * f.base
    else:
        colour = _facade_colour(wall, sl, z, dz, lum)
        # Rows reaching the shop floor or the parapet. z = h - z0 + r·tan(el) is linear in r
        # for each row, so its extremes over the columns sit at the nearest/farthest column.
        z_a = h - box.z0 + tan_el * float(r.min())
        z_b = h - box.z0 + tan_el * float(r.max())
        z_hi, z_lo = np.maximum(z_a, z_b), np.minimum(z_a, z_b)
        shop_rows = np.flatnonzero((z_lo < f.ground_h + 0.5) & (z_hi > -0.5))
        if shop_rows.size:
            g = slice(int(shop_rows[0]), int(shop_rows[-1]) + 1)
            _paint_shops(colour[g], z[g], dz[g], u=u, du=du, facade=f)
        top_rows = np.flatnonzero(z_hi > box.height - f.parapet - 0.5)
        if top_rows.size:
            g = slice(int(top_rows[0]), int(top_rows[-1]) + 1)
            parapet = interval_cover(z[g], dz[g], box.height - f.parapet, box.height + 1.0)
            colour[g] += (f.trim - colour[g]) * parapet[..., None]
    # Sun-facing walls are brighter; distance adds haze (aerial perspective).
    haze_k = 0.85 * (1.0 - np.exp(-r / 600.0))
    colour *= (wall.shade * (1.0 - haze_k)).astype(f32)[None, :, None]
    colour += cv.layout.haze * haze_k.astype(f32)[None, :, None]
    blend(cv.pano, wall.col0 + (sl.start or 0), rows[0], colour, alpha)


def _facade_colour(wall: Wall, sl: slice, z: Arr, dz: Arr, lum: Arr) -> Arr:
    """Wall colour with floor slabs and the window grid above the shop floor.

    Slabs and windows never overlap, so the wall is one weighted sum:
    material · (1 - slab - window) + trim · slab + glass · window.
    """
    f, f32 = wall.box.facade, np.float32
    u, du = wall.u[sl], wall.du[sl]
    uu = (u - (wall.length % f.bay_w) / 2).astype(f32)  # bays centred on the wall
    du32 = du.astype(f32)
    zu = z - f32(f.ground_h)
    slab = stripe_cover(zu, dz, f.floor_h, -0.12, 0.24)
    slab *= 0.6 * (zu > -0.2)
    win = stripe_cover(zu, dz, f.floor_h, f.sill, f.win_h)
    win *= (zu > 0) & (z < wall.box.height - f.parapet)
    cols = stripe_cover(uu, du32, f.bay_w, f.win_margin, f.bay_w - 2 * f.win_margin)
    cols *= 1.0 - stripe_cover(uu, du32, f.bay_w, f.bay_w / 2 - 0.04, 0.08)  # mullion
    cols *= interval_cover(u, du, 0.8, wall.length - 0.8).astype(f32)  # clear of corners
    win *= cols[None, :]
    rest = 1.0 - slab - win
    rest *= lum
    colour: Arr = rest[..., None] * f.base
    colour += slab[..., None] * f.trim
    n_floors, n_bays = f.windows.shape[:2]
    index = np.floor(zu / f32(f.floor_h)).astype(np.int32) % n_floors
    index *= n_bays
    index += (np.floor(uu / f32(f.bay_w)).astype(np.int32) % n_bays)[None, :]
    glass = np.take(f.windows.reshape(-1, 3), index, axis=0)
    glass *= win[..., None]
    colour += glass
    return colour


def _paint_shops(colour: Arr, z: Arr, dz: Arr, *, u: Arr, du: Arr,
                 facade: Facade) -> None:
    """Shop fronts on the ground floor: glazing, and a sign band with light lettering."""
    f, f32 = facade, np.float32
    shop_i = np.floor(u / f.shop_w).astype(np.int64)
    glaze = interval_cover(z, dz, 0.3, f.ground_h - 1.4)
    glaze *= stripe_cover(u, du, f.shop_w, 0.6, f.shop_w - 1.2).astype(f32)[None, :]
    glass = (f.windows[(shop_i * 7) % 16, (shop_i * 5) % 32] * 1.4).astype(f32)
    colour += (glass[None, :, :] - colour) * glaze[..., None]
    sign = interval_cover(z, dz, f.ground_h - 1.2, f.ground_h - 0.35)
    sign *= stripe_cover(u, du, f.shop_w, 0.3, f.shop_w - 0.6).astype(f32)[None, :]
    board = f.signs[shop_i % len(f.signs)]
    colour += (board[None, :, :] - colour) * sign[..., None]
    letters = interval_cover(z, dz, f.ground_h - 1.0, f.ground_h - 0.55)
    letters *= stripe_cover(u, du, 0.55, 0.1, 0.3).astype(f32)[None, :]
    letters *= sign
    colour += (f32(240.0) - colour) * letters[..., None]
