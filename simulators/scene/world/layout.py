"""Where everything stands in the world, before any pixel is painted: roads, blocks, props.

Positions are in a street-grid frame aligned with the roads (metres, camera at the origin):
``a`` along road 1, ``b`` across it (90° clockwise of ``a``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from simulators.scene.geometry import Arr

# Everything beyond this distance is a backdrop ring of distant buildings; the ground plans
# cover exactly this far, so no ground beyond them is ever visible.
FAR_RING_M = 150.0


@dataclass(frozen=True)
class Facade:
    """How a building's walls look: colours and the window grid, in metres."""

    base: Arr  # BGR wall colour
    trim: Arr  # slab lines, parapet
    floor_h: float
    ground_h: float  # shop floor
    bay_w: float
    win_margin: float  # wall between windows in a bay, each side
    sill: float
    win_h: float
    parapet: float
    windows: Arr  # (16, 32, 3) colour per (floor, bay)
    signs: Arr  # (8, 3) shop sign colours
    shop_w: float
    plain: bool = False  # rooftop plant: no windows, no shops


@dataclass(frozen=True)
class Box:
    """An upright box in the street-grid frame (a along road 1, b across it), metres."""

    a0: float
    a1: float
    b0: float
    b1: float
    z0: float
    height: float
    facade: Facade

    def distance(self) -> float:
        da = max(self.a0, 0.0, -self.a1)
        db = max(self.b0, 0.0, -self.b1)
        return math.hypot(da, db)


@dataclass(frozen=True)
class Prop:
    """Street furniture: ``kind`` is lamp, tree, signal or sign; (a, b) in the grid frame."""

    kind: str
    a: float
    b: float
    height: float
    size: float
    toward_a: float  # unit vector (grid frame) the arm / sign faces: towards the road
    toward_b: float
    colour: tuple[float, float, float]
    seed: int


@dataclass(frozen=True)
class Layout:
    """Everything placed in the world, before any pixel is painted.

    Positions are in a street-grid frame aligned with the roads (metres, camera at the origin):
    ``a`` along road 1, ``b`` across it (90° clockwise of ``a``).
    """

    gamma: float  # azimuth (radians) of the grid's a axis (road 1)
    b1: float  # road 1 centreline b = b1, half width hw1
    hw1: float
    lanes1: int
    a2: float  # road 2 centreline a = a2
    hw2: float
    lanes2: int
    sidewalk: float
    sun_az: float  # degrees
    haze: Arr  # BGR colour of the horizon sky
    paving: Arr  # BGR
    asphalt: Arr
    tile: float
    tile_tones: Arr  # (64, 64) brightness of each paving tile
    ground_var: Arr  # coarse world-fixed brightness variation of the ground
    manholes: Arr  # (n, 2) grid-frame positions of manhole covers
    boxes: tuple[Box, ...]
    props: tuple[Prop, ...]

    def world(self, a: float, b: float) -> tuple[float, float]:
        """Grid frame -> (east, north)."""
        s, c = math.sin(self.gamma), math.cos(self.gamma)
        return a * s + b * c, a * c - b * s


_SIGN_COLOURS = np.array([[40, 40, 200], [170, 90, 30], [60, 150, 40], [40, 200, 230],
                          [235, 235, 235], [30, 120, 230], [140, 40, 120], [20, 20, 20]],
                         np.float32)


def random_facade(rng: np.random.Generator, haze: Arr, plain: bool = False) -> Facade:
    """A random wall style: tiled, concrete, brick, glass curtain wall or stone."""
    kind = rng.choice(["tile", "tile", "concrete", "brick", "glass", "stone"])
    tone = rng.uniform(0.85, 1.1)
    base = {
        "tile": np.array([215, 220, 222]) - rng.uniform(0, 25, 3),
        "concrete": np.array([160, 170, 175]) + rng.uniform(-20, 20),
        "brick": np.array([70, 90, 150]) + rng.uniform(-15, 15, 3),
        "glass": np.array([110, 105, 95]) + rng.uniform(-15, 15),
        "stone": np.array([150, 175, 195]) + rng.uniform(-20, 10, 3),
    }[str(kind)] * tone
    trim = np.clip(base * rng.uniform(0.7, 1.25), 0, 255)
    glass = kind == "glass"
    floor_h = rng.uniform(3.6, 4.2) if glass else rng.uniform(2.9, 3.5)
    bay_w = rng.uniform(1.4, 1.8) if glass else rng.uniform(2.6, 4.2)
    # Window colours per (floor, bay): dark glass, sky reflections, lit rooms, curtains. The
    # variety gives every window its own corners for feature matchers.
    n = (16, 32)
    dark = rng.uniform(30, 80, n)[..., None] * np.array([1.15, 1.05, 1.0])
    sky_mix = rng.uniform(0.1, 0.55 if glass else 0.35, n)[..., None]
    windows = dark * (1 - sky_mix) + haze * sky_mix
    pick = rng.random(n)
    lit = np.array([110, 180, 235]) * rng.uniform(0.75, 1.0, n)[..., None]
    curtain = np.array([165, 182, 200]) * rng.uniform(0.8, 1.05, n)[..., None]
    p_lit, p_curtain = (0.04, 0.04) if glass else (0.1, 0.2)
    windows = np.where((pick < p_lit)[..., None], lit, windows)
    windows = np.where(((pick >= p_lit) & (pick < p_lit + p_curtain))[..., None], curtain,
                       windows)
    return Facade(
        base=base.astype(np.float32), trim=trim.astype(np.float32),
        floor_h=floor_h, ground_h=rng.uniform(4.0, 5.5), bay_w=bay_w,
        win_margin=rng.uniform(0.06, 0.12) if glass else rng.uniform(0.45, 0.9),
        sill=0.15 if glass else rng.uniform(0.8, 1.0),
        win_h=floor_h - 0.45 if glass else rng.uniform(1.3, 1.7),
        parapet=rng.uniform(0.6, 1.5), windows=windows.astype(np.float32),
        signs=_SIGN_COLOURS[rng.permutation(len(_SIGN_COLOURS))],
        shop_w=rng.uniform(5.0, 12.0), plain=plain)


def _building_height(rng: np.random.Generator, tall: bool) -> float:
    if tall:
        return float(rng.choice([rng.uniform(40, 80), rng.uniform(70, 130)]))
    return float(rng.choice([rng.uniform(14, 24), rng.uniform(20, 45), rng.uniform(35, 70)]))


def street_layout(rng: np.random.Generator) -> Layout:
    """Where everything stands: two crossing roads, the camera on one corner, city blocks."""
    gamma = rng.uniform(0, 2 * math.pi)
    lanes1, lanes2 = int(rng.integers(2, 4)), int(rng.integers(1, 3))
    hw1, hw2 = lanes1 * 3.5 + 0.5, lanes2 * 3.5 + 0.5
    sidewalk = rng.uniform(4.5, 7.0)
    # The camera pole stands on a corner, 2 m back from both kerbs.
    # Plain Python floats throughout the layout: a numpy float64 scalar would silently promote
    # every float32 raster it touches to float64 (twice the memory traffic).
    s1, s2 = (float(s) for s in rng.choice([-1.0, 1.0], 2))
    b1, a2 = s1 * (hw1 + 2.0), s2 * (hw2 + 2.0)
    sun_az = rng.uniform(0, 360)
    haze = np.array([232, 222, 208]) + rng.uniform(-12, 12, 3)
    paving = np.array([150, 162, 172]) + rng.uniform(-15, 15, 3)
    asphalt = np.array([78, 80, 82]) + rng.uniform(-10, 10)

    boxes = place_buildings(rng, haze.astype(np.float32), b1=b1, hw1=hw1, a2=a2, hw2=hw2,
                       sidewalk=sidewalk)
    props = place_props(rng, b1=b1, hw1=hw1, a2=a2, hw2=hw2, sidewalk=sidewalk)
    tile = float(rng.choice([0.4, 0.5, 0.6]))
    tile_tones = rng.uniform(0.82, 1.12, (64, 64)).astype(np.float32)
    ground_var = rng.random((96, 96), dtype=np.float32)
    manholes = rng.uniform(-FAR_RING_M, FAR_RING_M, (160, 2))
    return Layout(gamma=gamma, b1=b1, hw1=hw1, lanes1=lanes1, a2=a2, hw2=hw2, lanes2=lanes2,
                   sidewalk=sidewalk, sun_az=sun_az, haze=haze.astype(np.float32),
                   paving=paving.astype(np.float32), asphalt=asphalt.astype(np.float32),
                   tile=tile, tile_tones=tile_tones, ground_var=ground_var,
                   manholes=manholes, boxes=tuple(boxes), props=tuple(props))


def place_buildings(rng: np.random.Generator, haze: Arr, *, b1: float, hw1: float, a2: float,
               hw2: float, sidewalk: float) -> list[Box]:
    """City blocks in the four corners of the crossing: street fronts along both roads,
    towers behind, some rooftop plant; the camera's own block is an open plaza."""
    boxes: list[Box] = []
    limit = FAR_RING_M - 8.0

    def fits(box: Box) -> bool:
        far = max(math.hypot(a, b) for a in (box.a0, box.a1) for b in (box.b0, box.b1))
        if far > limit:
            return False
        return not any(box.a0 < o.a1 + 1.0 and o.a0 < box.a1 + 1.0 and box.b0 < o.b1 + 1.0
                       and o.b0 < box.b1 + 1.0 for o in boxes)

    def add(a_lo: float, a_hi: float, b_lo: float, b_hi: float, height: float) -> bool:
        box = Box(min(a_lo, a_hi), max(a_lo, a_hi), min(b_lo, b_hi), max(b_lo, b_hi), 0.0,
                   height, random_facade(rng, haze))
        if not fits(box):
            return False
        boxes.append(box)
        if rng.random() < 0.5:  # rooftop plant: water tank, lift house
            w, d = rng.uniform(3, 7), rng.uniform(3, 6)  # boxes are >= 12 m each way
            ca = rng.uniform(box.a0 + w / 2 + 1, box.a1 - w / 2 - 1)
            cb = rng.uniform(box.b0 + d / 2 + 1, box.b1 - d / 2 - 1)
            boxes.append(Box(ca - w / 2, ca + w / 2, cb - d / 2, cb + d / 2, height,
                              rng.uniform(2.5, 5.0), random_facade(rng, haze, plain=True)))
        return True

    for sa in (-1.0, 1.0):
        for sb in (-1.0, 1.0):
            a_edge = a2 + sa * (hw2 + sidewalk)
            b_edge = b1 + sb * (hw1 + sidewalk)
            # The camera's own block is a plaza: its near corner stays open so the dome is
            # not staring into a wall from 5 m.
            own = sa * a2 < 0 and sb * b1 < 0
            setback = rng.uniform(14, 22) if own else 0.0
            # Frontage on road 1: facades along b = b_edge, marching away from road 2.
            a = a_edge + sa * (setback + rng.uniform(0, 3))
            first_depth = 0.0
            while abs(a) < limit:
                w, d = rng.uniform(12, 40), rng.uniform(12, 30)
                s = setback + rng.uniform(0, 4)
                if add(a, a + sa * w, b_edge + sb * s, b_edge + sb * (s + d),
                       _building_height(rng, False)) and not first_depth:
                    first_depth = s + d
                a += sa * (w + float(rng.choice([rng.uniform(0.5, 4), rng.uniform(8, 20)])))
            # Frontage on road 2, starting behind the corner building.
            b = b_edge + sb * (max(first_depth, setback) + rng.uniform(1, 6))
            while abs(b) < limit:
                w, d = rng.uniform(12, 35), rng.uniform(12, 30)
                s = setback + rng.uniform(0, 4)
                add(a_edge + sa * s, a_edge + sa * (s + d), b, b + sb * w,
                    _building_height(rng, False))
                b += sb * (w + float(rng.choice([rng.uniform(0.5, 4), rng.uniform(8, 20)])))
            # A second row of towers behind, showing above the street fronts.
            for _ in range(6):
                da, db = rng.uniform(40, 110), rng.uniform(40, 110)
                w, d = rng.uniform(18, 35), rng.uniform(18, 35)
                add(a_edge + sa * da, a_edge + sa * (da + w), b_edge + sb * db,
                    b_edge + sb * (db + d), _building_height(rng, True))

    return boxes


def place_props(rng: np.random.Generator, *, b1: float, hw1: float, a2: float, hw2: float,
           sidewalk: float) -> list[Prop]:
    """Lamps and trees along the kerbs, signals and sign posts on the corners, and trees on
    the camera's own plaza."""
    props: list[Prop] = []

    def keep(a: float, b: float) -> bool:
        # Nothing right next to the camera (it would fill the view) and nothing standing in
        # the other road.
        return math.hypot(a, b) > 9.0 and abs(a - a2) > hw2 + 0.5 and abs(b - b1) > hw1 + 0.5

    def seed() -> int:
        return int(rng.integers(2**31))

    lamp_colour = (70.0, 75.0, 70.0) if rng.random() < 0.5 else (90.0, 100.0, 60.0)
    for side in (-1.0, 1.0):
        # Along road 1: lamps at the kerb, trees between them.
        kerb_b = b1 + side * (hw1 + 0.8)
        phase = rng.uniform(0, 30)
        for a in (float(v) for v in np.arange(-140 + phase, 140, 30.0)):
            if keep(a, kerb_b):
                props.append(Prop("lamp", a, kerb_b, rng.uniform(8, 10), 2.5, 0.0, -side,
                                   lamp_colour, seed()))
            ta, tb = a + 15.0, b1 + side * (hw1 + 1.8)
            if keep(ta, tb) and rng.random() < 0.8:
                props.append(Prop("tree", ta, tb, rng.uniform(6, 11), rng.uniform(1.8, 3.2),
                                   0.0, 0.0, (40.0, 55.0, 70.0), seed()))
        # Along road 2.
        kerb_a = a2 + side * (hw2 + 0.8)
        phase = rng.uniform(0, 30)
        for b in (float(v) for v in np.arange(-140 + phase, 140, 30.0)):
            if keep(kerb_a, b):
                props.append(Prop("lamp", kerb_a, b, rng.uniform(8, 10), 2.5, -side, 0.0,
                                   lamp_colour, seed()))
            ta, tb = a2 + side * (hw2 + 1.8), b + 15.0
            if keep(ta, tb) and rng.random() < 0.8:
                props.append(Prop("tree", ta, tb, rng.uniform(6, 11), rng.uniform(1.8, 3.2),
                                   0.0, 0.0, (40.0, 55.0, 70.0), seed()))
    # Traffic signals on the corners, arms reaching over the approaching lanes.
    for sa in (-1.0, 1.0):
        for sb in (-1.0, 1.0):
            a, b = a2 + sa * (hw2 + 1.0), b1 + sb * (hw1 + 1.0)
            if not keep(a, b):
                continue
            if rng.random() < 0.5:
                props.append(Prop("signal", a, b, 6.5, hw1, 0.0, -sb, (60, 60, 60), seed()))
            else:
                props.append(Prop("signal", a, b, 6.5, hw2, -sa, 0.0, (60, 60, 60), seed()))
            # And a sign post a little further along.
            sa_, sb_ = a + sa * rng.uniform(6, 12), b + sb * 0.2
            if keep(sa_, sb_):
                props.append(Prop("sign", sa_, sb_, 2.8, 0.9, 0.0, -sb, (170, 90, 30),
                                   seed()))
    # Trees on the plaza of the camera's own block.
    own_a, own_b = -math.copysign(1.0, a2), -math.copysign(1.0, b1)
    for _ in range(int(rng.integers(4, 9))):
        a = own_a * rng.uniform(hw2 - abs(a2) + sidewalk + 2, 24)
        b = own_b * rng.uniform(hw1 - abs(b1) + sidewalk + 2, 24)
        if keep(a, b):
            props.append(Prop("tree", a, b, rng.uniform(7, 12), rng.uniform(2.2, 3.5), 0.0,
                               0.0, (40.0, 55.0, 70.0), seed()))
    return props
