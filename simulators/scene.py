"""The world a simulated camera looks at, and the renderer that turns a camera pose into a frame.

A :class:`Scene` is everything visible from one spot: a street corner in a city, seen from a
pole 10 m up. It covers the whole sphere of view a PTZ dome can reach (all 360° of azimuth,
elevation from straight down, -90°, to +45°) and is stored as an equirectangular panorama
(azimuth x elevation) generated procedurally from a seed: a sky with soft clouds, a ring of
buildings with window grids, shop signs and rooftop plant, street lamps, traffic signals, signs
and trees, and on the ground roads with lane markings, zebra crossings, kerbs and paving tiles.
The same seed gives the same scene, byte for byte, in every process.

:func:`render` is an ideal pinhole camera sampling that panorama, so the optics are honest:
panning by θ moves the content at the image centre by exactly ``f·tan(θ)`` pixels, zooming
scales it by the focal-length ratio, and a knocked mount (heading change) looks exactly like a
pan. :func:`snapshot_jpeg` renders what a live :class:`~simulators.state.CameraState` sees.

    >>> from simulators.scene import Scene, render
    >>> scene = Scene.for_seed(7)
    >>> frame = render(scene, azimuth_deg=90.0, elevation_deg=-5.0, roll_deg=0.0,
    ...                hfov_deg=60.0, width=640, height=360)
    >>> frame.shape, frame.dtype
    ((360, 640, 3), dtype('uint8'))

Faults that spoil the picture (obstruction, blur, ...) are not part of the world: they are
``effects``, callables applied to the rendered frame (see :data:`ImageEffect`).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
import numpy.typing as npt

from devmgr.files import write_atomic

if TYPE_CHECKING:
    from simulators.state import CameraState

#: A BGR frame, ``uint8`` of shape (height, width, 3).
Image = npt.NDArray[np.uint8]
#: Post-processing applied to a rendered frame, in order (fault injection hooks in here). An
#: effect receives a frame it may modify in place and returns the frame to pass on.
ImageEffect = Callable[[Image], Image]
_Arr = npt.NDArray[Any]

#: Elevation range stored in the panorama, degrees. Below the horizon the ground is modelled
#: down to the nadir, so a dome looking straight down still sees pavement; above +45° the top
#: row (plain sky) is repeated.
EL_TOP = 45.0
EL_BOTTOM = -90.0
#: Panorama resolution. 16 px/° keeps a 1280x720 / 60° camera (21 px/°) close to native
#: sharpness at zoom 1x while the scene stays at 37 MB.
DEFAULT_PX_PER_DEG = 16
#: Height of the camera above the street, metres (a dome on a corner pole).
CAMERA_HEIGHT_M = 10.0

# One extra column on the left and two on the right, copies of the opposite edge, so bilinear
# sampling wraps around north without a modulo per pixel (azimuth 360° maps to column W + 0.5).
_PAD_LEFT, _PAD_RIGHT = 1, 2
# Everything beyond this distance is a backdrop ring of distant buildings; the ground plans
# cover exactly this far, so no ground beyond them is ever visible.
_FAR_RING_M = 150.0
_NEAR_PLAN = (0.035, 36.4)  # metres per pixel, half extent (m): the pavement at your feet
_FAR_PLAN = (0.125, _FAR_RING_M)  # the rest of the street


# ------------------------------------------------------------------------------------------------
# The scene
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False, repr=False)
class Scene:
    """A deterministic equirectangular world. Build with :meth:`for_seed` (cached per process).

    ``pano`` row 0 is elevation ``EL_TOP``; column ``_PAD_LEFT`` is azimuth 0 (north), azimuth
    growing clockwise (east) to the right. It is read-only: many cameras share it.
    """

    seed: int
    px_per_deg: int
    pano: Image

    @classmethod
    def for_seed(cls, seed: int, px_per_deg: int = DEFAULT_PX_PER_DEG) -> Scene:
        """The scene for ``seed``; generated once per process (~1 s), then shared."""
        return _scene_for(int(seed), int(px_per_deg))

    @property
    def panorama(self) -> Image:
        """The panorama without its wrap-around padding: (rows, 360·px_per_deg, 3)."""
        return self.pano[:, _PAD_LEFT:-_PAD_RIGHT]

    @property
    def nbytes(self) -> int:
        return int(self.pano.nbytes)

    def __repr__(self) -> str:
        rows, cols = self.panorama.shape[:2]
        return (f"Scene(seed={self.seed}, {cols}x{rows} px, {self.px_per_deg} px/°, "
                f"{self.nbytes / 1e6:.1f} MB)")


@functools.lru_cache(maxsize=4)
def _scene_for(seed: int, px_per_deg: int) -> Scene:
    if not 4 <= px_per_deg <= 32:
        raise ValueError(f"px_per_deg must be 4..32, got {px_per_deg}")
    path = scene_cache_path(seed, px_per_deg)
    padded = _load_cached(path, px_per_deg) if path is not None else None
    if padded is None:
        pano = _generate(seed, px_per_deg)
        padded = np.concatenate(
            [pano[:, -_PAD_LEFT:], pano, pano[:, :_PAD_RIGHT]], axis=1)
        padded.flags.writeable = False
        if path is not None:
            _store_cached(path, padded)
    return Scene(seed=seed, px_per_deg=px_per_deg, pano=padded)


# A generated scene is kept on disk, memory-mapped by every process that needs it: a fleet's
# worker processes share one copy in the page cache instead of generating ~37 MB each (~1 s
# of CPU per scene). The file name carries a digest of this generator and of the numpy and
# OpenCV versions that drew it, so a changed generator never reads an old world.
_GENERATOR = hashlib.sha256(Path(__file__).read_bytes() + np.__version__.encode()
                            + cv2.__version__.encode()).hexdigest()[:16]


def scene_cache_path(seed: int, px_per_deg: int) -> Path | None:
    """Where scene ``seed`` is kept: ``$CAMFLEET_SCENE_CACHE`` (``off``: nowhere), else
    ``$XDG_CACHE_HOME/camfleet/scenes`` (default ``~/.cache``)."""
    setting = os.environ.get("CAMFLEET_SCENE_CACHE", "")
    if setting == "off":
        return None
    root = Path(setting) if setting else (
        Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "camfleet" / "scenes")
    return root / f"scene-{seed}-{px_per_deg}-{_GENERATOR}.npy"


def _load_cached(path: Path, px_per_deg: int) -> Image | None:
    try:
        pano: Image = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError):
        return None  # absent, or unreadable: generate (and replace it)
    cols = 360 * px_per_deg + _PAD_LEFT + _PAD_RIGHT
    if pano.dtype != np.uint8 or pano.ndim != 3 or pano.shape[1:] != (cols, 3):
        return None
    return pano


def _store_cached(path: Path, pano: Image) -> None:
    """Write atomically (another process may be reading or writing the same scene); a
    read-only or full disk only costs the next process the generation."""
    buffer = io.BytesIO()
    np.save(buffer, pano, allow_pickle=False)
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, buffer.getvalue())


# ------------------------------------------------------------------------------------------------
# Rendering
# ------------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=32)
def _pixel_axes(width: int, height: int, hfov_deg: float) -> tuple[_Arr, _Arr, float]:
    """Pixel-centre coordinates relative to the principal point (x right, y up) and f in px."""
    f = (width / 2) / math.tan(math.radians(hfov_deg) / 2)
    xs = np.arange(width, dtype=np.float64) - (width - 1) / 2
    ys = (height - 1) / 2 - np.arange(height, dtype=np.float64)
    xs.flags.writeable = False
    ys.flags.writeable = False
    return xs, ys, f


def camera_axes(azimuth_deg: float, elevation_deg: float,
                roll_deg: float) -> tuple[_Arr, _Arr, _Arr]:
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
    def component(k: int, sign: float) -> _Arr:
        rows = (sign * (ys * up[k] + f * forward[k])).astype(np.float32)
        cols = (sign * xs * right[k]).astype(np.float32)
        grid: _Arr = np.add.outer(rows, cols)
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
    map_x += np.float32(180.0 * ppd - 0.5 + _PAD_LEFT)
    map_y *= -scale
    map_y += np.float32(EL_TOP * ppd - 0.5)
    sampled: _Arr = cv2.remap(scene.pano, map_x, map_y, cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REPLICATE)
    frame: Image = sampled
    for effect in effects:
        frame = effect(frame)
    return frame


def render_state(state: CameraState, effects: Sequence[ImageEffect] = ()) -> Image:
    """The frame the camera with this live state sees right now (pose, zoom, mount, scene).

    The horizontal FOV comes from the zoom (``Optics.hfov_at``); pixels are square, so an
    explicit ``Optics.vfov`` that disagrees with the aspect ratio is not honoured.
    """
    azimuth, elevation, zoom = state.view_direction()
    optics = state.spec.optics
    return render(Scene.for_seed(state.spec.scene_seed), azimuth, elevation, state.mount.roll,
                  optics.hfov_at(zoom), optics.width, optics.height, effects=effects)


def snapshot_jpeg(state: CameraState, quality: int = 85,
                  effects: Sequence[ImageEffect] = (),
                  size: tuple[int, int] | None = None) -> bytes:
    """The camera's current view as JPEG bytes (what GetSnapshotUri serves).

    ``size`` (width, height) scales the sensor image down for a sub-stream, as encoders do.
    """
    frame = render_state(state, effects)
    if size is not None and (frame.shape[1], frame.shape[0]) != size:
        frame = np.asarray(cv2.resize(frame, size, interpolation=cv2.INTER_AREA), np.uint8)
    ok, buf = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return bytes(buf.tobytes())


# ------------------------------------------------------------------------------------------------
# Scene generation: helpers
# ------------------------------------------------------------------------------------------------
def _smoothstep(lo: float, hi: float, x: _Arr) -> _Arr:
    t = np.clip((x - lo) / (hi - lo), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _interval_cover(x: _Arr, dx: _Arr | float, lo: float, hi: float) -> _Arr:
    """Fraction of each sample's footprint ``[x - dx/2, x + dx/2]`` inside ``[lo, hi]``."""
    result: _Arr = np.clip((np.minimum(x + dx / 2, hi) - np.maximum(x - dx / 2, lo)) / dx,
                           0.0, 1.0)
    return result


def _stripe_cover(x: _Arr, dx: _Arr | float, period: float, start: float,
                  width: float) -> _Arr:
    """Fraction of each footprint ``[x - dx/2, x + dx/2]`` inside the periodic stripes
    ``[start + k·period, start + k·period + width]``.

    A box-filtered stripe pattern: window grids drawn with it do not alias into moiré however
    small they appear, and at a footprint of several periods it fades to the mean tone.
    """
    def integral(t: _Arr) -> _Arr:
        t = t - start
        q = np.floor(t / period)
        result: _Arr = q * width + np.minimum(t - q * period, width)
        return result

    result: _Arr = (integral(x + dx / 2) - integral(x - dx / 2)) / dx
    return result


def _divisor_near(n: int, target: float) -> int:
    """The divisor of ``n`` closest to ``target`` (cells that tile a wrapped axis exactly)."""
    divisors = [d for d in range(1, n + 1) if n % d == 0]
    return min(divisors, key=lambda d: (abs(math.log(d / max(target, 1e-9))), d))


def _wrapped_noise(rng: np.random.Generator, rows: int, cols: int, cells_x: int,
                   cell_rows: int) -> _Arr:
    """Smooth value noise in [0, 1] of shape (rows, cols), periodic in x with ``cells_x``
    cells across (which must divide ``cols``), cells ``cell_rows`` pixels high."""
    cell_cols = cols // cells_x
    grid_rows = rows // cell_rows + 4
    grid = rng.random((grid_rows, cells_x), dtype=np.float32)
    # Bicubic upsampling by an integer factor with three wrapped cells each side: the result's
    # last column continues smoothly into its first.
    grid = np.pad(grid, ((0, 0), (3, 3)), mode="wrap")
    up = cv2.resize(grid, ((cells_x + 6) * cell_cols, grid_rows * cell_rows),
                    interpolation=cv2.INTER_CUBIC)
    out: _Arr = up[cell_rows:cell_rows + rows, 3 * cell_cols:3 * cell_cols + cols]
    return out


def _blend(pano: Image, x0: int, y0: int, colour: _Arr, alpha: _Arr) -> None:
    """Composite ``colour`` (h, w, 3; straight, not premultiplied) with coverage ``alpha``
    (h, w) in [0, 1] onto the panorama at column ``x0`` (any integer: columns wrap around
    360°) and row ``y0`` (rows outside the panorama are dropped)."""
    rows, cols = pano.shape[:2]
    h, w = alpha.shape
    top, bottom = max(0, -y0), min(h, rows - y0)
    if top >= bottom or w <= 0:
        return
    # Saturating, rounding conversion; colours are never negative.
    src = colour if colour.dtype == np.uint8 else cv2.convertScaleAbs(colour)
    weight = np.ascontiguousarray(alpha, dtype=np.float32)
    rest = 1.0 - weight
    start = x0 % cols
    done = 0
    while done < w:
        n = min(w - done, cols - start)
        dst = pano[y0 + top:y0 + bottom, start:start + n]
        part = (slice(top, bottom), slice(done, done + n))
        dst[...] = cv2.blendLinear(np.ascontiguousarray(src[part]), np.ascontiguousarray(dst),
                                   np.ascontiguousarray(weight[part]),
                                   np.ascontiguousarray(rest[part]))
        done += n
        start = 0


class _Patch:
    """A small anti-aliased cv2 drawing canvas over a window of the panorama.

    Shapes are drawn with ``LINE_AA`` in BGR + 255 onto a transparent BGRA canvas, which leaves
    premultiplied colour and coverage in one image; a later shape covers earlier ones.
    """

    def __init__(self, ppd: int, az_lo: float, az_hi: float, el_lo: float,
                 el_hi: float) -> None:
        self.ppd = ppd
        self.x0 = math.floor(az_lo * ppd - 0.5) - 3
        self.y0 = math.floor((EL_TOP - el_hi) * ppd - 0.5) - 3
        w = math.ceil(az_hi * ppd - 0.5) + 4 - self.x0
        h = math.ceil((EL_TOP - el_lo) * ppd - 0.5) + 4 - self.y0
        self.bgra = np.zeros((h, w, 4), np.uint8)

    def _fixed(self, points: Sequence[tuple[float, float]]) -> _Arr:
        # cv2 draws with 4 fractional bits: sub-pixel positions keep small props steady.
        xy = [((az * self.ppd - 0.5 - self.x0) * 16, ((EL_TOP - el) * self.ppd - 0.5 - self.y0)
               * 16) for az, el in points]
        return np.round(np.array(xy)).astype(np.int32)

    @staticmethod
    def _colour(colour: Sequence[float]) -> tuple[float, float, float, float]:
        b, g, r = (float(c) for c in colour)
        return b, g, r, 255.0

    def poly(self, points: Sequence[tuple[float, float]], colour: Sequence[float]) -> None:
        cv2.fillPoly(self.bgra, [self._fixed(points)], self._colour(colour), cv2.LINE_AA, 4)

    def line(self, p: tuple[float, float], q: tuple[float, float], thickness_px: float,
             colour: Sequence[float]) -> None:
        a, b = self._fixed([p, q])
        cv2.line(self.bgra, tuple(a), tuple(b), self._colour(colour),
                 max(1, round(thickness_px)), cv2.LINE_AA, 4)

    def ellipse(self, centre: tuple[float, float], rx_px: float, ry_px: float,
                colour: Sequence[float]) -> None:
        (c,) = self._fixed([centre])
        axes = (max(1, round(rx_px * 16)), max(1, round(ry_px * 16)))
        cv2.ellipse(self.bgra, tuple(c), axes, 0, 0, 360, self._colour(colour), -1,
                    cv2.LINE_AA, 4)

    def paste(self, pano: Image) -> None:
        alpha = self.bgra[..., 3:].astype(np.float32)
        straight = np.zeros((*alpha.shape[:2], 3), np.float32)
        np.divide(self.bgra[..., :3] * np.float32(255.0), alpha, out=straight,
                  where=alpha > 0)
        _blend(pano, self.x0, self.y0, straight, alpha[..., 0] / 255.0)


def _project(x: float, y: float, z: float, az_ref: float) -> tuple[float, float]:
    """(azimuth°, elevation°) of the world point (east, north, height), the azimuth unwrapped
    to within 180° of ``az_ref`` so a prop straddling north draws in one piece."""
    az = math.degrees(math.atan2(x, y))
    az += 360.0 * round((az_ref - az) / 360.0)
    el = math.degrees(math.atan2(z - CAMERA_HEIGHT_M, math.hypot(x, y)))
    return az, el


# ------------------------------------------------------------------------------------------------
# Scene generation: layout
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Facade:
    """How a building's walls look: colours and the window grid, in metres."""

    base: _Arr  # BGR wall colour
    trim: _Arr  # slab lines, parapet
    floor_h: float
    ground_h: float  # shop floor
    bay_w: float
    win_margin: float  # wall between windows in a bay, each side
    sill: float
    win_h: float
    parapet: float
    windows: _Arr  # (16, 32, 3) colour per (floor, bay)
    signs: _Arr  # (8, 3) shop sign colours
    shop_w: float
    plain: bool = False  # rooftop plant: no windows, no shops


@dataclass(frozen=True)
class _Box:
    """An upright box in the street-grid frame (a along road 1, b across it), metres."""

    a0: float
    a1: float
    b0: float
    b1: float
    z0: float
    height: float
    facade: _Facade

    def distance(self) -> float:
        da = max(self.a0, 0.0, -self.a1)
        db = max(self.b0, 0.0, -self.b1)
        return math.hypot(da, db)


@dataclass(frozen=True)
class _Prop:
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
class _Layout:
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
    haze: _Arr  # BGR colour of the horizon sky
    paving: _Arr  # BGR
    asphalt: _Arr
    tile: float
    tile_tones: _Arr  # (64, 64) brightness of each paving tile
    ground_var: _Arr  # coarse world-fixed brightness variation of the ground
    manholes: _Arr  # (n, 2) grid-frame positions of manhole covers
    boxes: tuple[_Box, ...]
    props: tuple[_Prop, ...]

    def world(self, a: float, b: float) -> tuple[float, float]:
        """Grid frame -> (east, north)."""
        s, c = math.sin(self.gamma), math.cos(self.gamma)
        return a * s + b * c, a * c - b * s


_SIGN_COLOURS = np.array([[40, 40, 200], [170, 90, 30], [60, 150, 40], [40, 200, 230],
                          [235, 235, 235], [30, 120, 230], [140, 40, 120], [20, 20, 20]],
                         np.float32)


def _facade(rng: np.random.Generator, haze: _Arr, plain: bool = False) -> _Facade:
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
    return _Facade(
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


def _layout(rng: np.random.Generator) -> _Layout:
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

    boxes = _buildings(rng, haze.astype(np.float32), b1=b1, hw1=hw1, a2=a2, hw2=hw2,
                       sidewalk=sidewalk)
    props = _props(rng, b1=b1, hw1=hw1, a2=a2, hw2=hw2, sidewalk=sidewalk)
    tile = float(rng.choice([0.4, 0.5, 0.6]))
    tile_tones = rng.uniform(0.82, 1.12, (64, 64)).astype(np.float32)
    ground_var = rng.random((96, 96), dtype=np.float32)
    manholes = rng.uniform(-_FAR_RING_M, _FAR_RING_M, (160, 2))
    return _Layout(gamma=gamma, b1=b1, hw1=hw1, lanes1=lanes1, a2=a2, hw2=hw2, lanes2=lanes2,
                   sidewalk=sidewalk, sun_az=sun_az, haze=haze.astype(np.float32),
                   paving=paving.astype(np.float32), asphalt=asphalt.astype(np.float32),
                   tile=tile, tile_tones=tile_tones, ground_var=ground_var,
                   manholes=manholes, boxes=tuple(boxes), props=tuple(props))


def _buildings(rng: np.random.Generator, haze: _Arr, *, b1: float, hw1: float, a2: float,
               hw2: float, sidewalk: float) -> list[_Box]:
    """City blocks in the four corners of the crossing: street fronts along both roads,
    towers behind, some rooftop plant; the camera's own block is an open plaza."""
    boxes: list[_Box] = []
    limit = _FAR_RING_M - 8.0

    def fits(box: _Box) -> bool:
        far = max(math.hypot(a, b) for a in (box.a0, box.a1) for b in (box.b0, box.b1))
        if far > limit:
            return False
        return not any(box.a0 < o.a1 + 1.0 and o.a0 < box.a1 + 1.0 and box.b0 < o.b1 + 1.0
                       and o.b0 < box.b1 + 1.0 for o in boxes)

    def add(a_lo: float, a_hi: float, b_lo: float, b_hi: float, height: float) -> bool:
        box = _Box(min(a_lo, a_hi), max(a_lo, a_hi), min(b_lo, b_hi), max(b_lo, b_hi), 0.0,
                   height, _facade(rng, haze))
        if not fits(box):
            return False
        boxes.append(box)
        if rng.random() < 0.5:  # rooftop plant: water tank, lift house
            w, d = rng.uniform(3, 7), rng.uniform(3, 6)  # boxes are >= 12 m each way
            ca = rng.uniform(box.a0 + w / 2 + 1, box.a1 - w / 2 - 1)
            cb = rng.uniform(box.b0 + d / 2 + 1, box.b1 - d / 2 - 1)
            boxes.append(_Box(ca - w / 2, ca + w / 2, cb - d / 2, cb + d / 2, height,
                              rng.uniform(2.5, 5.0), _facade(rng, haze, plain=True)))
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


def _props(rng: np.random.Generator, *, b1: float, hw1: float, a2: float, hw2: float,
           sidewalk: float) -> list[_Prop]:
    """Lamps and trees along the kerbs, signals and sign posts on the corners, and trees on
    the camera's own plaza."""
    props: list[_Prop] = []

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
                props.append(_Prop("lamp", a, kerb_b, rng.uniform(8, 10), 2.5, 0.0, -side,
                                   lamp_colour, seed()))
            ta, tb = a + 15.0, b1 + side * (hw1 + 1.8)
            if keep(ta, tb) and rng.random() < 0.8:
                props.append(_Prop("tree", ta, tb, rng.uniform(6, 11), rng.uniform(1.8, 3.2),
                                   0.0, 0.0, (40.0, 55.0, 70.0), seed()))
        # Along road 2.
        kerb_a = a2 + side * (hw2 + 0.8)
        phase = rng.uniform(0, 30)
        for b in (float(v) for v in np.arange(-140 + phase, 140, 30.0)):
            if keep(kerb_a, b):
                props.append(_Prop("lamp", kerb_a, b, rng.uniform(8, 10), 2.5, -side, 0.0,
                                   lamp_colour, seed()))
            ta, tb = a2 + side * (hw2 + 1.8), b + 15.0
            if keep(ta, tb) and rng.random() < 0.8:
                props.append(_Prop("tree", ta, tb, rng.uniform(6, 11), rng.uniform(1.8, 3.2),
                                   0.0, 0.0, (40.0, 55.0, 70.0), seed()))
    # Traffic signals on the corners, arms reaching over the approaching lanes.
    for sa in (-1.0, 1.0):
        for sb in (-1.0, 1.0):
            a, b = a2 + sa * (hw2 + 1.0), b1 + sb * (hw1 + 1.0)
            if not keep(a, b):
                continue
            if rng.random() < 0.5:
                props.append(_Prop("signal", a, b, 6.5, hw1, 0.0, -sb, (60, 60, 60), seed()))
            else:
                props.append(_Prop("signal", a, b, 6.5, hw2, -sa, 0.0, (60, 60, 60), seed()))
            # And a sign post a little further along.
            sa_, sb_ = a + sa * rng.uniform(6, 12), b + sb * 0.2
            if keep(sa_, sb_):
                props.append(_Prop("sign", sa_, sb_, 2.8, 0.9, 0.0, -sb, (170, 90, 30),
                                   seed()))
    # Trees on the plaza of the camera's own block.
    own_a, own_b = -math.copysign(1.0, a2), -math.copysign(1.0, b1)
    for _ in range(int(rng.integers(4, 9))):
        a = own_a * rng.uniform(hw2 - abs(a2) + sidewalk + 2, 24)
        b = own_b * rng.uniform(hw1 - abs(b1) + sidewalk + 2, 24)
        if keep(a, b):
            props.append(_Prop("tree", a, b, rng.uniform(7, 12), rng.uniform(2.2, 3.5), 0.0,
                               0.0, (40.0, 55.0, 70.0), seed()))
    return props


# ------------------------------------------------------------------------------------------------
# Scene generation: painting
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Canvas:
    """The panorama being painted and what every painter needs alongside it."""

    pano: Image
    ppd: int
    layout: _Layout
    wall_noise: _Arr  # (257, 257) float32 around 1: texture of wall materials

    @property
    def rows(self) -> int:
        return int(self.pano.shape[0])

    @property
    def cols(self) -> int:
        return int(self.pano.shape[1])


def _generate(seed: int, ppd: int) -> Image:
    # Every random number comes from this seed through PCG64, which yields the same stream on
    # every platform and run; independent children keep each part stable if another changes.
    children = np.random.SeedSequence(seed % 2**64).spawn(5)
    rng_layout, rng_sky, rng_ground, rng_ring, rng_walls = (
        np.random.default_rng(c) for c in children)
    layout = _layout(rng_layout)
    rows = round((EL_TOP - EL_BOTTOM) * ppd)
    noise = cv2.GaussianBlur(rng_walls.random((257, 257), dtype=np.float32), (0, 0), 1.2)
    noise = (0.88 + 0.24 * (noise - noise.min()) / (np.ptp(noise) + 1e-6)).astype(np.float32)
    cv = _Canvas(np.empty((rows, 360 * ppd, 3), np.uint8), ppd, layout, noise)
    _paint_sky(cv, rng_sky)
    _paint_ground(cv, rng_ground)
    _paint_far_ring(cv, rng_ring)
    walls = {id(box): _walls(cv, box) for box in layout.boxes}
    _occlusion(cv, [walls[id(box)] for box in sorted(layout.boxes, key=_Box.distance)])
    # Painter's algorithm: far things first, nearer ones over them.
    items: list[tuple[float, _Box | _Prop]] = [(b.distance(), b) for b in layout.boxes]
    items += [(math.hypot(p.a, p.b), p) for p in layout.props]
    items.sort(key=lambda item: -item[0])
    for _, item in items:
        if isinstance(item, _Box):
            for wall in walls[id(item)]:
                _paint_face(cv, wall)
        else:
            _paint_prop(cv, item)
    return cv.pano


# -- sky -----------------------------------------------------------------------------------------
def _paint_sky(cv: _Canvas, rng: np.random.Generator) -> None:
    """Blue gradient, a glow round the sun, soft clouds. Smooth, so built at 1/4 resolution."""
    q, ppd, layout = 4, cv.ppd, cv.layout
    n_rows = round(EL_TOP * ppd)
    rows, cols = math.ceil(n_rows / q), 360 * ppd // q
    el = (EL_TOP - (np.arange(rows) + 0.5) * q / ppd).astype(np.float32)
    az = ((np.arange(cols) + 0.5) * q / ppd).astype(np.float32)
    zenith = (np.array([165, 105, 50]) + rng.uniform(-15, 15, 3)).astype(np.float32)
    t = (np.clip(el, 0, None) / EL_TOP) ** 0.55
    sky = layout.haze + (zenith - layout.haze) * t[:, None]  # (rows, 3)
    daz = (az - layout.sun_az + 180.0) % 360.0 - 180.0
    glow = 0.12 * np.exp(-(daz / 30.0) ** 2)[None, :] * np.exp(-el / 20.0)[:, None]
    img = sky[:, None, :] * (1.0 + glow[..., None])
    noise = (0.55 * _wrapped_noise(rng, rows, cols, _divisor_near(cols, 36), max(1, rows // 8))
             + 0.3 * _wrapped_noise(rng, rows, cols, _divisor_near(cols, 100),
                                    max(1, rows // 24))
             + 0.15 * _wrapped_noise(rng, rows, cols, _divisor_near(cols, 300),
                                     max(1, rows // 60)))
    threshold = rng.uniform(0.45, 0.6)
    cover = _smoothstep(threshold, threshold + 0.2, noise) * _smoothstep(0.0, 8.0, el)[:, None]
    cloud = np.array([246, 244, 242], np.float32) * (0.78 + 0.3 * noise)[..., None]
    img = img * (1.0 - cover[..., None]) + cloud * cover[..., None]
    small = np.clip(img + 0.5, 0, 255).astype(np.uint8)
    # One wrapped column each side so the upsampled seam at north is continuous.
    small = np.pad(small, ((1, 1), (1, 1), (0, 0)), mode="wrap")
    small[0], small[-1] = small[1], small[-2]
    big = cv2.resize(small, ((cols + 2) * q, (rows + 2) * q), interpolation=cv2.INTER_LINEAR)
    cv.pano[:n_rows] = big[q:q + n_rows, q:q + 360 * ppd]


# -- ground --------------------------------------------------------------------------------------
_Colour = tuple[float, float, float]


def _plan_polygons(layout: _Layout) -> list[tuple[_Colour, list[_Arr]]]:
    """Road markings as (colour, polygons in the grid frame (a, b)), shared by both plans."""
    white, yellow = (225.0, 228.0, 228.0), (40.0, 185.0, 225.0)
    whites: list[_Arr] = []
    yellows: list[_Arr] = []
    e = _FAR_RING_M * 1.5

    def poly(points: Sequence[tuple[float, float]], swap: bool) -> _Arr:
        return np.array([(b, a) if swap else (a, b) for a, b in points])

    def rect(a0: float, a1: float, b0: float, b1: float, swap: bool) -> _Arr:
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


def _draw_plan(layout: _Layout, mpp: float, extent: float, rng: np.random.Generator) -> Image:
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
    var: _Arr = cv2.warpAffine(layout.ground_var, affine, (n, n),
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
    kerb1 = _interval_cover(d1, px, layout.hw1, layout.hw1 + 0.3)
    kerb2 = _interval_cover(d2, px, layout.hw2, layout.hw2 + 0.3)
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


def _paving(layout: _Layout, coords: _Arr, px: float) -> tuple[_Arr, _Arr]:
    """Brightness of the paving tiles (slightly different tones, darker joints) over the
    plan grid ``coords`` x ``coords``, and a scratch buffer of the same shape."""
    tile = layout.tile
    index = np.floor(coords / tile).astype(np.int64) % 64
    lum = np.take(np.take(layout.tile_tones, index, axis=0), index, axis=1)
    joints = _stripe_cover(coords, px, tile, -0.01, 0.02)
    tmp = np.maximum(joints[:, None], joints[None, :])
    tmp *= -0.45
    tmp += 1.0
    lum *= tmp
    return lum, tmp


def _draw_plan_details(out: Image, layout: _Layout, mpp: float, extent: float) -> None:
    """Markings, manhole covers and tree pits, drawn anti-aliased from world-fixed shapes."""
    def to_px(poly: _Arr) -> _Arr:
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


def _pyramid(img: _Arr, mpp: float, extent: float) -> list[tuple[_Arr, float, float]]:
    """Box-filtered halvings; pixel i of every level is centred at (i + 0.5)·mpp - extent."""
    levels = [(img, mpp, extent)]
    while img.shape[0] % 2 == 0 and img.shape[0] >= 64 and mpp < 6.0:
        img = cv2.resize(img, (img.shape[1] // 2, img.shape[0] // 2),
                         interpolation=cv2.INTER_AREA)
        mpp *= 2
        levels.append((img, mpp, extent))
    return levels


def _paint_ground(cv: _Canvas, rng: np.random.Generator) -> None:
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
        acc: _Arr | None = None
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


# -- backdrop ------------------------------------------------------------------------------------
def _paint_far_ring(cv: _Canvas, rng: np.random.Generator) -> None:
    """The backdrop: a hazy skyline standing where the ground plans end, all round."""
    ppd, cols = cv.ppd, cv.cols
    el_base = -math.degrees(math.atan(CAMERA_HEIGHT_M / _FAR_RING_M))
    tops = np.empty(cols, np.float32)
    colours = np.empty((cols, 3), np.float32)
    period = np.empty(cols, np.float32)
    c = 0
    while c < cols:
        w = max(2, round(rng.uniform(0.5, 4.0) * ppd))
        tall = rng.random() < 0.2
        tops[c:c + w] = rng.uniform(4, 11) if tall else rng.uniform(0.6, 4.5)
        colours[c:c + w] = np.array([150, 160, 168]) + rng.uniform(-40, 40, 3)
        period[c:c + w] = rng.uniform(4, 9)
        c += w
    r0 = max(0, math.floor((EL_TOP - float(tops.max())) * ppd) - 2)
    r1 = math.ceil((EL_TOP - el_base) * ppd) + 2
    el = (EL_TOP - (np.arange(r0, r1) + 0.5) / ppd).astype(np.float32)
    cover = (np.clip((tops[None, :] - el[:, None]) * ppd + 0.5, 0, 1)
             * np.clip((el - el_base) * ppd + 0.5, 0, 1)[:, None])
    # Faint window rows and columns, in panorama pixels.
    x = np.arange(cols, dtype=np.float32)
    y = np.arange(r0, r1, dtype=np.float32)
    win_c = _stripe_cover(x / period, 1.0 / period, 1.0, 0.3, 0.45)
    win_r = _stripe_cover(y / np.float32(7.0), 1.0 / 7.0, 1.0, 0.3, 0.45)
    windows = win_r[:, None] * win_c[None, :] * (el[:, None] > 0.3)
    street = _smoothstep(0.6, -0.2, el)[:, None]  # trees and kiosks at street level
    mottle = _wrapped_noise(rng, r1 - r0, cols, _divisor_near(cols, cols / 6), 3)
    lum = (1.0 - 0.3 * windows) * (1.0 - street * (0.45 * mottle))
    tint = colours[None, :, :] * lum[..., None]
    greenish = np.array([60, 95, 75], np.float32)
    tint = tint * (1 - 0.5 * street[..., None]) + greenish * 0.5 * street[..., None]
    _blend(cv.pano, 0, r0, tint * 0.45 + cv.layout.haze * 0.55, cover)


# -- buildings -----------------------------------------------------------------------------------
@dataclass
class _Wall:
    """One visible vertical face of a box, as the panorama columns it spans.

    Per column: ``r`` the horizontal distance at which the ray meets the wall, ``u`` the
    position along the wall, ``du`` the width of the column's footprint on it, ``cover_u`` the
    fraction of the column the wall covers. ``hidden_*`` are the rows that nearer boxes paint
    opaquely over later (none where ``hidden_top > hidden_bot``).
    """

    box: _Box
    length: float
    shade: float
    col0: int  # first column, unwrapped (may be negative or beyond 360°)
    r: _Arr
    u: _Arr
    du: _Arr
    cover_u: _Arr
    hidden_top: _Arr | None = None
    hidden_bot: _Arr | None = None

    def columns(self, n_cols: int) -> _Arr:
        return (self.col0 + np.arange(len(self.r))) % n_cols

    def opaque_rows(self, ppd: int, n_rows: int) -> tuple[_Arr, _Arr]:
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


def _walls(cv: _Canvas, box: _Box) -> list[_Wall]:
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
        cover_u = _interval_cover(u, du, 0.0, length)
        keep = np.flatnonzero(cover_u > 0)
        if not keep.size:
            continue
        sl = slice(int(keep[0]), int(keep[-1]) + 1)
        walls.append(_Wall(box, length, shade, c0 + int(keep[0]), r[sl], u[sl], du[sl],
                           cover_u[sl]))
    return walls


def _occlusion(cv: _Canvas, near_to_far: list[list[_Wall]]) -> None:
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


def _paint_face(cv: _Canvas, wall: _Wall) -> None:
    """One vertical wall, evaluated directly at the panorama pixels it covers.

    Per column the ray meets the wall at horizontal distance r and wall coordinate u; per pixel
    the height is z = h + r·tan(el). Windows, slabs and signs are box-filtered stripes in (u, z)
    over each pixel's footprint, so they stay crisp near and smooth far.
    """
    box, h, ppd = wall.box, CAMERA_HEIGHT_M, cv.ppd
    z_top = box.z0 + box.height
    hidden_top, hidden_bot = wall.hidden_top, wall.hidden_bot
    if hidden_top is None or hidden_bot is None:
        raise RuntimeError("_occlusion() must run before walls are painted")
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


def _paint_wall(cv: _Canvas, wall: _Wall, sl: slice, rows: tuple[int, int]) -> None:
    """Rows ``rows`` of the columns ``sl`` of one wall (see :func:`_paint_face`)."""
    box, f, h, f32 = wall.box, wall.box.facade, CAMERA_HEIGHT_M, np.float32
    r, u, du = wall.r[sl], wall.u[sl], wall.du[sl]
    tan_el = np.tan(np.radians(EL_TOP - (np.arange(*rows) + 0.5) / cv.ppd))
    # Height above the box's base, and the height span of each pixel's footprint.
    z = (h - box.z0 + np.multiply.outer(tan_el, r)).astype(f32)
    dz = (np.multiply.outer(math.radians(1.0 / cv.ppd) * (1 + tan_el**2), r)
          + 1e-4).astype(f32)
    alpha = _interval_cover(z, dz, 0.0, box.height)
    alpha *= wall.cover_u[sl].astype(f32)[None, :]
    # Full coverage computed in float32 can come out a hair under 1; make it 1, so that what
    # this wall hides stays hidden (occlusion culling relies on it).
    alpha[alpha > 0.999] = 1.0
    # Wall material: a world-fixed noise texture (6 cm texels, wrapping) and grime near the
    # ground.
    mx = np.broadcast_to((u / 0.06).astype(f32)[None, :], z.shape)
    lum: _Arr = cv2.remap(cv.wall_noise, np.ascontiguousarray(mx), z * f32(1 / 0.06),
                          cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP)
    lum *= 0.85 + 0.15 * np.clip(z / f32(6.0), 0, 1)
    if f.plain:
        colour = lum[..., None] * f.base
    else:
        colour = _windows(wall, sl, z, dz, lum)
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
            parapet = _interval_cover(z[g], dz[g], box.height - f.parapet, box.height + 1.0)
            colour[g] += (f.trim - colour[g]) * parapet[..., None]
    # Sun-facing walls are brighter; distance adds haze (aerial perspective).
    haze_k = 0.85 * (1.0 - np.exp(-r / 600.0))
    colour *= (wall.shade * (1.0 - haze_k)).astype(f32)[None, :, None]
    colour += cv.layout.haze * haze_k.astype(f32)[None, :, None]
    _blend(cv.pano, wall.col0 + (sl.start or 0), rows[0], colour, alpha)


def _windows(wall: _Wall, sl: slice, z: _Arr, dz: _Arr, lum: _Arr) -> _Arr:
    """Wall colour with floor slabs and the window grid above the shop floor.

    Slabs and windows never overlap, so the wall is one weighted sum:
    material · (1 - slab - window) + trim · slab + glass · window.
    """
    f, f32 = wall.box.facade, np.float32
    u, du = wall.u[sl], wall.du[sl]
    uu = (u - (wall.length % f.bay_w) / 2).astype(f32)  # bays centred on the wall
    du32 = du.astype(f32)
    zu = z - f32(f.ground_h)
    slab = _stripe_cover(zu, dz, f.floor_h, -0.12, 0.24)
    slab *= 0.6 * (zu > -0.2)
    win = _stripe_cover(zu, dz, f.floor_h, f.sill, f.win_h)
    win *= (zu > 0) & (z < wall.box.height - f.parapet)
    cols = _stripe_cover(uu, du32, f.bay_w, f.win_margin, f.bay_w - 2 * f.win_margin)
    cols *= 1.0 - _stripe_cover(uu, du32, f.bay_w, f.bay_w / 2 - 0.04, 0.08)  # mullion
    cols *= _interval_cover(u, du, 0.8, wall.length - 0.8).astype(f32)  # clear of corners
    win *= cols[None, :]
    rest = 1.0 - slab - win
    rest *= lum
    colour: _Arr = rest[..., None] * f.base
    colour += slab[..., None] * f.trim
    n_floors, n_bays = f.windows.shape[:2]
    index = np.floor(zu / f32(f.floor_h)).astype(np.int32) % n_floors
    index *= n_bays
    index += (np.floor(uu / f32(f.bay_w)).astype(np.int32) % n_bays)[None, :]
    glass = np.take(f.windows.reshape(-1, 3), index, axis=0)
    glass *= win[..., None]
    colour += glass
    return colour


def _paint_shops(colour: _Arr, z: _Arr, dz: _Arr, *, u: _Arr, du: _Arr,
                 facade: _Facade) -> None:
    """Shop fronts on the ground floor: glazing, and a sign band with light lettering."""
    f, f32 = facade, np.float32
    shop_i = np.floor(u / f.shop_w).astype(np.int64)
    glaze = _interval_cover(z, dz, 0.3, f.ground_h - 1.4)
    glaze *= _stripe_cover(u, du, f.shop_w, 0.6, f.shop_w - 1.2).astype(f32)[None, :]
    glass = (f.windows[(shop_i * 7) % 16, (shop_i * 5) % 32] * 1.4).astype(f32)
    colour += (glass[None, :, :] - colour) * glaze[..., None]
    sign = _interval_cover(z, dz, f.ground_h - 1.2, f.ground_h - 0.35)
    sign *= _stripe_cover(u, du, f.shop_w, 0.3, f.shop_w - 0.6).astype(f32)[None, :]
    board = f.signs[shop_i % len(f.signs)]
    colour += (board[None, :, :] - colour) * sign[..., None]
    letters = _interval_cover(z, dz, f.ground_h - 1.0, f.ground_h - 0.55)
    letters *= _stripe_cover(u, du, 0.55, 0.1, 0.3).astype(f32)[None, :]
    letters *= sign
    colour += (f32(240.0) - colour) * letters[..., None]


# -- street furniture ----------------------------------------------------------------------------
def _paint_prop(cv: _Canvas, prop: _Prop) -> None:
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
    top = _project(x, y, prop.height, az_ref)
    end = _project(x + fx * reach, y + fy * reach, prop.height - 0.1, az_ref)
    # A generous window: heads hang below the arm and signs stick out sideways.
    span = math.degrees(math.atan(2.0 / max(dist - 3.0, 1.0)))
    patch = _Patch(cv.ppd, min(top[0], end[0]) - span, max(top[0], end[0]) + span,
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


def _lamp_head(patch: _Patch, at: tuple[float, float, float], facing: tuple[float, float],
               az_ref: float, px_per_m: float) -> None:
    """A flat box at the end of the arm; its glowing underside shows only from below."""
    hx, hy, z = at
    fx, fy = facing
    sx, sy = -fy, fx  # sideways
    body = [(hx - fx * 0.4 - sx * 0.2, hy - fy * 0.4 - sy * 0.2, z),
            (hx + fx * 0.4 - sx * 0.2, hy + fy * 0.4 - sy * 0.2, z),
            (hx + fx * 0.4 + sx * 0.2, hy + fy * 0.4 + sy * 0.2, z - 0.25),
            (hx - fx * 0.4 + sx * 0.2, hy - fy * 0.4 + sy * 0.2, z - 0.25)]
    patch.poly([_project(*p, az_ref) for p in body], (60, 62, 64))
    if z - 0.25 > CAMERA_HEIGHT_M:
        lens = _project(hx, hy, z - 0.22, az_ref)
        patch.ellipse(lens, 0.3 * px_per_m, 0.08 * px_per_m, (215, 235, 245))


def _signal_head(patch: _Patch, rng: np.random.Generator, at: tuple[float, float, float],
                 az_ref: float) -> None:
    """A black box hanging from the mast arm with red/amber/green lamps, one of them lit."""
    hx, hy, z = at
    c_az, c_top = _project(hx, hy, z, az_ref)
    _, c_bot = _project(hx, hy, z - 1.1, az_ref)
    dist = max(math.hypot(hx, hy), 1.0)
    half = math.degrees(math.atan(0.2 / dist))
    patch.poly([(c_az - half, c_top), (c_az + half, c_top), (c_az + half, c_bot),
                (c_az - half, c_bot)], (25, 25, 25))
    lit = int(rng.integers(3))
    rad = 0.12 * patch.ppd * math.degrees(1.0 / dist)
    for k, colour in enumerate([(40.0, 40.0, 230.0), (40.0, 190.0, 240.0), (120.0, 220.0, 60.0)]):
        _, ce = _project(hx, hy, z - 0.2 - 0.35 * k, az_ref)
        patch.ellipse((c_az, ce), rad, rad, colour if k == lit else [0.3 * v for v in colour])


def _sign_plate(patch: _Patch, rng: np.random.Generator, at: tuple[float, float, float],
                prop: _Prop, az_ref: float) -> None:
    """A coloured plate with a white border and white bars (an information sign)."""
    x, y, z = at
    dist = math.hypot(x, y)
    c_az, c_el = _project(x, y, z, az_ref)
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


def _paint_cylinder(cv: _Canvas, x: float, y: float, *, radius: float, z0: float, z1: float,
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
    _blend(cv.pano, c0, r0, rgb, alpha)


def _paint_crown(cv: _Canvas, rng: np.random.Generator, centre: tuple[float, float, float],
                 size: float) -> None:
    """Foliage: a cloud of overlapping leaf clumps, lit from the sun's side."""
    x, y, z = centre
    az_ref = math.degrees(math.atan2(x, y))
    c_az, c_el = _project(x, y, z, az_ref)
    d3 = math.hypot(math.hypot(x, y), z - CAMERA_HEIGHT_M)
    ang = math.degrees(math.asin(min(size / d3, 0.95)))
    stretch = 1.0 / max(math.cos(math.radians(c_el)), 0.2)  # equirect widens near the poles
    patch = _Patch(cv.ppd, c_az - 1.3 * ang * stretch, c_az + 1.3 * ang * stretch,
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
