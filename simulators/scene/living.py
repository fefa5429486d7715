"""The world living around a camera: a clock, the sun and its shadows, night IR, weather,
traffic, the seasons' trees, and the camera's own drift (exposure, white balance, JPEG
quality).

These are conditions, not faults: a healthy camera lives in them, and an audit must not call
them turned or obstructed. :func:`conditions_at` says what the world is like at a moment
(the ground truth, also served by the fleet's ``truth``); :func:`living_effects` draws it
onto a frame rendered for a camera pose.

    >>> from simulators.spec import LivingWorld
    >>> c = conditions_at(LivingWorld(enabled=True, start_hour=23.0, speed=0.0), 0.0, seed=1)
    >>> c.phase, c.ir
    ('night', True)

Everything is deterministic in (world, simulated time, seed, pose): the same moment draws
the same picture. World-tied things (shadows, vehicles, pedestrians, lamps) are placed in
azimuth and elevation around the camera and projected with its pose, so they stay put when
the head turns and move only with the clock; lens-tied things (rain on the dome, noise,
vignetting, a bus right in front of the lens) belong to the frame.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from simulators.scene.geometry import CAMERA_HEIGHT_M, Arr, Image, ImageEffect
from simulators.scene.lens import camera_axes
from simulators.spec import LivingWorld
from simulators.state import CameraState

#: Sun elevations (degrees) of dusk's ends, and where the camera switches to IR.
DUSK_LOW, DUSK_HIGH, IR_BELOW = -6.0, 6.0, -3.0


@dataclass(frozen=True)
class Mover:
    """A vehicle or pedestrian on the ground: where it is (azimuth, ground distance), how big
    (length, height in metres), and what it is."""

    kind: str  # "car", "bus", "person"
    azimuth: float
    distance_m: float
    length_m: float
    height_m: float
    colour: tuple[int, int, int]


@dataclass(frozen=True)
class Conditions:
    """The ground truth of a moment in a camera's world."""

    hour: float
    sun_azimuth: float
    sun_elevation: float
    phase: str  # "day", "dusk", "night"
    ir: bool
    weather: str
    intensity: float
    #: Simulated seconds since the world's epoch: moving things and per-frame noise follow it.
    t_s: float
    movers: tuple[Mover, ...] = ()
    bus_at_lens: bool = False
    seed: int = 0
    #: The camera's own drift this moment: exposure gain, white balance, JPEG quality.
    gain: float = 1.0
    white_balance: tuple[float, float, float] = (1.0, 1.0, 1.0)
    jpeg_quality: int = 85
    #: The trees' season: "summer" (as the panorama draws them), "autumn", "winter", "spring".
    season: str = "summer"
    #: How far the leaves have turned (autumn) and fallen (winter), 0..1.
    turned: float = 0.0
    bare: float = 0.0
    extra: dict[str, float] = field(default_factory=dict)

    def truth(self) -> dict[str, object]:
        """JSON-able ground truth (``/cameras/{id}`` and ``Fleet.truth``)."""
        return {"hour": round(self.hour, 3), "phase": self.phase, "ir": self.ir,
                "sun": {"azimuth": round(self.sun_azimuth, 2),
                        "elevation": round(self.sun_elevation, 2)},
                "weather": self.weather, "intensity": self.intensity,
                "bus_at_lens": self.bus_at_lens, "jpeg_quality": self.jpeg_quality,
                "season": self.season, "leaves_turned": round(self.turned, 2),
                "leaves_fallen": round(self.bare, 2),
                "movers": [{"kind": m.kind, "azimuth": round(m.azimuth, 2),
                            "distance_m": m.distance_m} for m in self.movers]}


def sun_position(hour: float, day_of_year: int, latitude: float) -> tuple[float, float]:
    """(azimuth clockwise from north, elevation), degrees, at local solar ``hour``."""
    decl = math.radians(23.44 * math.sin(2 * math.pi * (284 + day_of_year) / 365.0))
    lat = math.radians(latitude)
    ha = math.radians(15.0 * (hour - 12.0))
    sin_el = math.sin(lat) * math.sin(decl) + math.cos(lat) * math.cos(decl) * math.cos(ha)
    el = math.asin(max(-1.0, min(1.0, sin_el)))
    az = math.atan2(-math.sin(ha) * math.cos(decl),
                    math.cos(lat) * math.sin(decl) - math.sin(lat) * math.cos(decl) * math.cos(ha))
    return math.degrees(az) % 360.0, math.degrees(el)


def conditions_at(world: LivingWorld, elapsed_s: float, seed: int) -> Conditions:
    """The world ``elapsed_s`` real seconds after its clock was set (``start_hour``)."""
    t_s = world.start_hour * 3600.0 + world.speed * max(0.0, elapsed_s)
    hour = (t_s / 3600.0) % 24.0
    sun_az, sun_el = sun_position(hour, world.day_of_year, world.latitude)
    phase = "day" if sun_el >= DUSK_HIGH else "dusk" if sun_el >= DUSK_LOW else "night"
    # Busier by day, a rush at 8 and 18, quiet at night.
    rush = 0.5 + 0.5 * max(math.exp(-((hour - 8.0) / 1.5) ** 2),
                           math.exp(-((hour - 18.0) / 1.5) ** 2))
    density = world.traffic * (rush if 6.0 <= hour <= 22.0 else 0.2)
    minute = (t_s / 60.0) % 60.0
    rng = np.random.default_rng([seed, int(t_s // 600)])  # drift changes every 10 minutes
    return Conditions(
        hour=hour, sun_azimuth=sun_az, sun_elevation=sun_el, phase=phase,
        ir=world.ir and sun_el < IR_BELOW, weather=world.weather,
        intensity=world.intensity if world.weather != "clear" else 0.0, t_s=t_s,
        movers=_movers(seed, t_s, density),
        bus_at_lens=minute < world.bus_minutes_per_hour, seed=seed,
        gain=float(rng.uniform(0.88, 1.12)),
        white_balance=(float(rng.uniform(0.93, 1.07)), 1.0, float(rng.uniform(0.93, 1.07))),
        jpeg_quality=int(rng.integers(60, 92)),
        **_foliage(world.day_of_year, world.latitude))


def _foliage(day_of_year: int, latitude: float) -> dict[str, Any]:
    """The trees through the year (a temperate city; the seasons swap south of the equator):
    green from late April to late September, turning yellow and brown through October and
    November, bare until March, leafing out again in April."""
    day = (day_of_year + (182 if latitude < 0 else 0) - 1) % 365 + 1

    def ramp(a: int, b: int) -> float:
        return min(1.0, max(0.0, (day - a) / (b - a)))

    if 110 <= day < 270:
        return {"season": "summer", "turned": 0.0, "bare": 0.0}
    if 270 <= day < 335:
        return {"season": "autumn", "turned": ramp(270, 305), "bare": 0.6 * ramp(300, 335)}
    if 80 <= day < 110:
        return {"season": "spring", "turned": 0.0, "bare": 1.0 - ramp(80, 110)}
    return {"season": "winter", "turned": 1.0, "bare": 1.0}


def _movers(seed: int, t_s: float, density: float) -> tuple[Mover, ...]:
    """Vehicles and people going round the camera on the streets below it."""
    rng = np.random.default_rng([seed, 7])
    out: list[Mover] = []
    for i in range(40):
        kind = "person" if i % 3 == 0 else "bus" if i % 11 == 1 else "car"
        if rng.random() > density:
            continue
        dist = float(rng.uniform(8.0, 45.0)) if kind != "person" else float(rng.uniform(6, 25))
        speed = float(rng.uniform(6.0, 14.0)) if kind != "person" else float(rng.uniform(1, 2))
        direction = 1.0 if rng.random() < 0.5 else -1.0
        az0 = float(rng.uniform(0.0, 360.0))
        az = (az0 + direction * math.degrees(speed * t_s / dist)) % 360.0
        size = {"car": (4.5, 1.5), "bus": (12.0, 3.2), "person": (0.6, 1.75)}[kind]
        colour = tuple(int(v) for v in rng.integers(30, 230, 3))
        out.append(Mover(kind, az, dist, size[0], size[1], (colour[0], colour[1], colour[2])))
    return tuple(out)


Pose = tuple[float, float, float, float]  # azimuth, elevation, roll, hfov (degrees)


def living_effects(c: Conditions, pose: Pose) -> list[ImageEffect]:
    """What the moment does to a frame rendered at ``pose``, in order: the season's trees,
    light and shadows, movers, weather, night IR (or darkness), the camera's drift."""
    effects: list[ImageEffect] = [_light(c, pose)]
    if c.turned > 0 or c.bare > 0:
        effects.insert(0, _season(c))
    if c.movers:
        effects.append(_draw_movers(c, pose))
    if c.bus_at_lens:
        effects.append(_bus_at_lens(c))
    if c.weather in ("fog", "haze") and c.intensity > 0:
        effects.append(_fog(c.intensity * (1.0 if c.weather == "fog" else 0.4)))
    elif c.weather in ("rain", "snow") and c.intensity > 0:
        effects.append(_precipitation(c))
    effects.append(_night(c, pose) if c.ir or c.phase == "night" else _drift(c))
    return effects


# -- seasons -------------------------------------------------------------------------------------
def _season(c: Conditions) -> ImageEffect:
    """The panorama's green crowns as the season has them: leaves turning yellow and brown,
    then thinning to grey-brown twigs (their clumps, hence their texture, stay: what stands
    behind a crown is not in the panorama). Only leaf-green pixels change."""
    def apply(frame: Image) -> Image:
        f = frame.astype(np.float32)
        b, g, r = f[..., 0], f[..., 1], f[..., 2]
        leaf = ((g > r + 8.0) & (g > b + 8.0))[..., None]
        luma = (0.114 * b + 0.587 * g + 0.299 * r)[..., None]
        autumn = np.stack([0.4 * b, 1.05 * g, 1.6 * g + 10.0], axis=-1)
        twigs = luma * np.array([1.0, 1.1, 1.25], np.float32) + 15.0
        out = f + c.turned * (autumn - f)
        out = out + c.bare * (twigs - out)
        return np.where(leaf, np.clip(out, 0, 255), f).astype(np.uint8)

    return apply


# -- light ---------------------------------------------------------------------------------------
def _light(c: Conditions, pose: Pose) -> ImageEffect:
    """Daylight level, warm dusk, and the sun's shadows on the ground and the facades: a
    shading field tied to the world, shifting as the sun goes round."""
    # In IR the illuminator lights the scene (``_night``); else the sky does.
    level = 0.9 if c.ir else float(np.clip((c.sun_elevation + 8.0) / 30.0, 0.08, 1.0))
    overcast = c.weather in ("rain", "fog", "snow")
    sun = 0.0 if overcast or c.sun_elevation <= 0 else min(1.0, c.sun_elevation / 15.0)
    warm = (0.85, 0.95, 1.1) if c.phase == "dusk" else (1.0, 1.0, 1.0)

    def apply(frame: Image) -> Image:
        h, w = frame.shape[:2]
        gains = np.array(warm) * level * (0.8 if overcast else 1.0)
        out = np.asarray(cv2.transform(frame, np.diag(gains), dst=frame), np.uint8)
        if sun > 0.05:
            shade = _shading(c.seed, (round(c.sun_azimuth / 2) * 2, sun), pose, (w, h))
            out = np.asarray(cv2.multiply(out, cv2.merge([shade, shade, shade]),
                                          dtype=cv2.CV_8U), np.uint8)
        return out

    return apply


def _ray_angles(pose: Pose, w: int, h: int) -> tuple[Arr, Arr]:
    """Azimuth and elevation (degrees) of each pixel of a small (w x h) grid at ``pose``."""
    az, el, roll, hfov = pose
    f = (w / 2) / math.tan(math.radians(hfov) / 2)
    xs = np.arange(w) - (w - 1) / 2
    ys = (h - 1) / 2 - np.arange(h)
    right, up, fwd = camera_axes(az, el, roll)
    ray = xs[None, :, None] * right + ys[:, None, None] * up + f * fwd
    azimuth = np.degrees(np.arctan2(ray[..., 0], ray[..., 1])) % 360.0
    elevation = np.degrees(np.arctan2(ray[..., 2], np.hypot(ray[..., 0], ray[..., 1])))
    return azimuth, elevation


@functools.lru_cache(maxsize=64)
def _shade_noise(seed: int) -> Callable[[Arr, Arr], Arr]:
    rng = np.random.default_rng([seed, 3])
    freqs = rng.uniform(0.5, 3.0, (6, 2))
    phases = rng.uniform(0, 2 * math.pi, 6)

    def field(az: Arr, ground: Arr) -> Arr:
        out = np.zeros_like(az)
        for (fa, fg), ph in zip(freqs, phases, strict=True):
            out += np.sin(np.radians(az) * round(fa * 4) + ground * fg + ph)
        return out / 6.0

    return field


def _shading(seed: int, sunlight: tuple[float, float], pose: Pose, size: tuple[int, int]) -> Arr:
    """Per-pixel light factor: shadows of buildings on the ground, which swing with the sun's
    azimuth, and facades facing away from it darker. Computed at 1/8 size, smooth."""
    (sun_az, sun), (w, h) = sunlight, size
    sw, sh = max(8, w // 8), max(6, h // 8)
    az, el = _ray_angles(pose, sw, sh)
    ground = np.log(CAMERA_HEIGHT_M / np.tan(np.radians(np.clip(-el, 0.5, 90.0))))
    field = _shade_noise(seed)(az - 0.6 * sun_az, ground)
    shadow = np.clip((field - 0.1) * 6.0, 0.0, 1.0) * (el < -0.5)
    facade = (el >= -0.5) * (0.5 - 0.5 * np.cos(np.radians(az - sun_az)))
    factor = 1.0 - sun * (0.45 * shadow + 0.3 * facade)
    small = factor.astype(np.float32)
    out: Arr = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    return out


# -- things moving through -----------------------------------------------------------------------
def _project(pose: Pose, w: int, h: int, az: float, el: float) -> tuple[float, float] | None:
    caz, cel, roll, hfov = pose
    f = (w / 2) / math.tan(math.radians(hfov) / 2)
    right, up, fwd = camera_axes(caz, cel, roll)
    a, e = math.radians(az), math.radians(el)
    ray = np.array([math.sin(a) * math.cos(e), math.cos(a) * math.cos(e), math.sin(e)])
    depth = float(ray @ fwd)
    if depth <= 0.05:
        return None
    return (w - 1) / 2 + f * float(ray @ right) / depth, (h - 1) / 2 - f * float(ray @ up) / depth


@dataclass(frozen=True)
class Placed:
    """A mover as drawn on a frame: its box (x0, y0, x1, y1, pixels) and, for a person, the
    face (the head's box), for a vehicle, the number plate's box."""

    mover: Mover
    box: tuple[int, int, int, int]
    face: tuple[int, int, int, int] | None = None
    plate: tuple[int, int, int, int] | None = None


#: A Chinese number plate (GA 36): 440 x 140 mm, seven characters.
PLATE_M = (0.44, 0.14)


def placed_movers(c: Conditions, pose: Pose, w: int, h: int) -> list[Placed]:
    """Where the moment's movers fall on a ``w`` x ``h`` frame at ``pose``, farthest first
    (the order they are drawn in): the simulator's ground truth of people and plates."""
    f = (w / 2) / math.tan(math.radians(pose[3]) / 2)
    out = []
    for m in sorted(c.movers, key=lambda m: -m.distance_m):
        el_ground = -math.degrees(math.atan2(CAMERA_HEIGHT_M, m.distance_m))
        centre = _project(pose, w, h, m.azimuth, el_ground)
        if centre is None:
            continue
        slant = math.hypot(CAMERA_HEIGHT_M, m.distance_m)
        half = 0.5 * f * m.length_m / slant
        tall = f * m.height_m / slant * math.cos(math.radians(el_ground)) ** 0.5
        x, y = centre
        if x + half < 0 or x - half > w or y < 0 or y - tall > h or half < 0.5:
            continue
        box = (round(x - half), round(y - tall), round(x + half), round(y))
        if m.kind == "person":
            r = max(1, round(half * 0.6))
            out.append(Placed(m, box, face=(round(x) - r, box[1] - r, round(x) + r, box[1] + r)))
            continue
        pw, ph = 0.5 * f * PLATE_M[0] / slant, f * PLATE_M[1] / slant
        plate = (round(x - pw), round(y - 0.1 * tall - ph), round(x + pw),
                 round(y - 0.1 * tall)) if pw >= 1.5 else None
        out.append(Placed(m, box, plate=plate))
    return out


def _draw_movers(c: Conditions, pose: Pose) -> ImageEffect:
    night = c.phase != "day"

    def apply(frame: Image) -> Image:
        h, w = frame.shape[:2]
        for placed in placed_movers(c, pose, w, h):
            m, (x0, y0, x1, y1) = placed.mover, placed.box
            colour = tuple(int(v * (0.5 if night else 1.0)) for v in m.colour)
            cv2.rectangle(frame, (x0, y0), (x1, y1), colour, -1)
            if placed.face is not None:
                fx0, fy0, fx1, fy1 = placed.face
                cv2.circle(frame, ((fx0 + fx1) // 2, (fy0 + fy1) // 2), max(1, (fx1 - fx0) // 2),
                           (90, 120, 170), -1)
                continue
            band = (y0 + round(0.15 * (y1 - y0)), y0 + round(0.45 * (y1 - y0)))
            cv2.rectangle(frame, (x0 + 2, band[0]), (x1 - 2, band[1]), (40, 40, 45), -1)
            if placed.plate is not None:
                _draw_plate(frame, placed.plate, night)
            if night:
                r = max(1, round(0.06 * (x1 - x0)))
                for hx in (x0 + 2 * r, x1 - 2 * r):
                    cv2.circle(frame, (hx, y1 - 2 * r), r, (235, 245, 255), -1)
        return frame

    return apply


def _draw_plate(frame: Image, plate: tuple[int, int, int, int], night: bool) -> None:
    """A blue plate with seven white characters (bars and gaps, readable in shape)."""
    x0, y0, x1, y1 = plate
    cv2.rectangle(frame, (x0, y0), (x1, y1), (140, 60, 20) if not night else (70, 30, 10), -1)
    step = (x1 - x0) / 7.5
    for k in range(7):
        cx0 = round(x0 + step * (0.5 + k))
        cv2.rectangle(frame, (cx0, y0 + max(1, (y1 - y0) // 5)),
                      (cx0 + max(1, round(step * (0.35 + 0.3 * (k % 2)))),
                       y1 - max(1, (y1 - y0) // 5)), (235, 235, 235), -1)


def _bus_at_lens(c: Conditions) -> ImageEffect:
    """A bus standing at its stop right below the camera: its roof and side cover the lower
    part of the frame, the same for every pose (it is that close)."""
    rng = np.random.default_rng([c.seed, 11])
    colour = tuple(int(v) for v in rng.integers(40, 220, 3))

    def apply(frame: Image) -> Image:
        h, w = frame.shape[:2]
        top = round(0.55 * h)
        frame[top:, :] = colour
        for k in range(6):  # windows along its side
            x0 = round((0.04 + 0.16 * k) * w)
            cv2.rectangle(frame, (x0, top + round(0.08 * h)),
                          (x0 + round(0.12 * w), top + round(0.25 * h)), (50, 55, 60), -1)
        return frame

    return apply


# -- weather -------------------------------------------------------------------------------------
def _fog(strength: float) -> ImageEffect:
    """Contrast lost to a grey veil (fog: up to 92 % at intensity 1)."""
    s = 0.92 * strength

    def apply(frame: Image) -> Image:
        out: Arr = cv2.addWeighted(frame, 1.0 - s, np.full_like(frame, 200), s, 0.0)
        return np.asarray(out, np.uint8)

    return apply


def _precipitation(c: Conditions) -> ImageEffect:
    """Rain streaks or snowflakes, new on every frame (seeded by the clock)."""
    snow = c.weather == "snow"

    def apply(frame: Image) -> Image:
        h, w = frame.shape[:2]
        rng = np.random.default_rng([c.seed, int(c.t_s * 10) % (2 ** 31)])
        n = int(c.intensity * (0.002 if snow else 0.0015) * w * h / 4)
        xs, ys = rng.integers(0, w, n), rng.integers(0, h, n)
        if snow:
            for x, y in zip(xs, ys, strict=True):
                cv2.circle(frame, (int(x), int(y)), 1 + int(x) % 2, (235, 235, 235), -1)
            return np.asarray(cv2.addWeighted(frame, 0.85, np.full_like(frame, 220), 0.15, 0),
                              np.uint8)
        length = max(4, h // 40)
        for x, y in zip(xs, ys, strict=True):
            cv2.line(frame, (int(x), int(y)), (int(x) + length // 4, int(y) + length),
                     (200, 200, 200), 1)
        return np.asarray(cv2.addWeighted(frame, 0.9, np.full_like(frame, 150), 0.1, 0),
                          np.uint8)

    return apply


# -- night and the camera ------------------------------------------------------------------------
def _night(c: Conditions, pose: Pose) -> ImageEffect:
    """IR (late dusk and night): grey, noisy, vignetted by the illuminator, street lamps
    glaring. Night without IR is dark."""

    def apply(frame: Image) -> Image:
        h, w = frame.shape[:2]
        if not c.ir:
            return np.asarray(cv2.transform(frame, np.eye(3) * 0.04, dst=frame), np.uint8)
        grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        # The illuminator lights the centre (IR vignetting); gain lifts it, and adds noise.
        gain = np.float32(1.1)
        grey = np.asarray(cv2.multiply(grey, _vignette(h, w), scale=float(gain),
                                       dtype=cv2.CV_8U), np.uint8)
        grey = np.asarray(cv2.add(grey, _sensor_noise(h, w, int(c.t_s) % 8), dtype=cv2.CV_8U),
                          np.uint8)
        for k in range(6):  # street lamps round the camera
            spot = _project(pose, w, h, (c.seed * 37 + 60 * k) % 360, 2.0 - 1.5 * (k % 3))
            if spot is not None and 0 <= spot[0] < w and 0 <= spot[1] < h:
                cv2.circle(grey, (round(spot[0]), round(spot[1])), max(3, w // 80), 255, -1)
        return np.asarray(cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR), np.uint8)

    return apply


@functools.lru_cache(maxsize=16)
def _sensor_noise(h: int, w: int, k: int) -> Arr:
    """One of a few temporal noise fields (5 grey levels), int16, cached."""
    rng = np.random.default_rng([h, w, k])
    out: Arr = np.rint(rng.standard_normal((h, w), dtype=np.float32) * 5.0).astype(np.int16)
    return out


@functools.lru_cache(maxsize=8)
def _vignette(h: int, w: int) -> Arr:
    """The IR illuminator's falloff: 35 % darker in the corners."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r2 = ((xx - w / 2) / (w / 2)) ** 2 + ((yy - h / 2) / (h / 2)) ** 2
    out: Arr = (1.0 - 0.35 * np.clip(r2 / 2.0, 0, 1)).astype(np.float32)
    return out


def _drift(c: Conditions) -> ImageEffect:
    """Auto-exposure and white balance drifting a little from one hour to the next."""
    gains = np.diag(np.array(c.white_balance) * c.gain)

    def apply(frame: Image) -> Image:
        return np.asarray(cv2.transform(frame, gains, dst=frame), np.uint8)

    return apply


def pose_of(state: CameraState) -> Pose:
    """Where a live camera looks: azimuth, elevation, roll and field of view."""
    azimuth, elevation, zoom = state.view_direction()
    return azimuth, elevation, state.mount.roll, state.spec.optics.hfov_at(zoom)
