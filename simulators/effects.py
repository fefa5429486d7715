"""Image faults a simulated camera can suffer, and harmless photometric changes, as effects.

Every function here is a factory returning an :data:`~simulators.scene.ImageEffect`: a callable
that takes a BGR ``uint8`` frame (which it may modify in place) and returns the frame to pass on.
Hand them to :func:`~simulators.scene.render` (or ``render_state`` / ``snapshot_jpeg``) as
``effects``; they are applied in order.

Faults, which a health check should flag:

* :func:`obstruction` -- foliage or a billboard in front of the lens (the regulation, Art. 12:
  greenery, pipes and billboards must not obstruct capture). Both kill fine structure where
  they hang, which is what an edge-density detector looks for.
* :func:`blur` -- defocus (a lens knocked out of focus, a dirty dome); :func:`haze` -- the
  milky veil and contrast loss of a dirty dome.

Photometric changes a camera goes through every day, which a detector must *not* flag (tests
and benchmarks of detectors use them as negatives): :func:`gamma`, :func:`brightness`,
:func:`noise`, :func:`ir_greyscale` (night mode) and :func:`jpeg_quality`.

Effects are deterministic: the output depends only on the input frame and the factory's
parameters (seeded ``numpy`` generators, no global RNG, no state carried between calls).

    >>> from simulators.scene import Scene, render
    >>> from simulators.effects import blur, obstruction
    >>> bush = obstruction((0.0, 0.5, 0.4, 1.0), "foliage", seed=3)  # bottom-left corner
    >>> frame = render(Scene.for_seed(7), 90.0, -5.0, 0.0, 60.0, 640, 360,
    ...                effects=[bush, blur(1.5)])
    >>> frame.shape
    (360, 640, 3)
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any, Literal

import cv2
import numpy as np
import numpy.typing as npt

from simulators.scene import Image, ImageEffect

__all__ = ["ObstructionKind", "Region", "blur", "brightness", "gamma", "haze", "ir_greyscale",
           "jpeg_quality", "noise", "obstruction"]

_Arr = npt.NDArray[Any]
ObstructionKind = Literal["foliage", "billboard"]
#: A region of the frame as fractions of its width and height: (x0, y0, x1, y1).
Region = tuple[float, float, float, float]


# ------------------------------------------------------------------------------------------------
# Obstruction
# ------------------------------------------------------------------------------------------------
def obstruction(region: Region, kind: ObstructionKind, seed: int = 0) -> ImageEffect:
    """Something hanging in front of the lens over ``region`` (fractions: x0, y0, x1, y1).

    ``"foliage"``: branches and big dark-green leaves, out of focus because they are close to
    the lens, with partly see-through gaps and a soft, ragged outline that fades out at the
    region's inner borders (sides on the frame's edge stay covered). ``"billboard"``: an
    opaque panel in a frame, with large flat colour areas, a picture block and a few big
    letters.

    Both leave far fewer edges than a street scene, which is the point: an obstruction detector
    compares edge density per tile with a baseline. Measured with Canny (50, 150) over the
    region at 640x360, a billboard keeps 2-10% of the street's edge density and foliage
    10-30% over a large region; over a small one with every side inside the frame (0.3 x 0.4
    of it) foliage keeps up to ~60%, as its ragged outline lets more of the street through.
    Over plain sky either may add edges.

    Pixels outside the region are never touched. The texture is tied to the image, not to the
    world: it stays put when the camera pans. It is generated once per (frame size, region,
    kind, seed) and cached; the first frame at 1080p takes ~0.1 s (0.3 s for full-frame
    foliage), the next ones ~2-8 ms.
    """
    x0, y0, x1, y1 = (float(v) for v in region)
    if not (0.0 <= x0 < x1 <= 1.0 and 0.0 <= y0 < y1 <= 1.0):
        raise ValueError(f"region must be fractions x0 < x1, y0 < y1 within [0, 1]: {region}")
    if kind not in ("foliage", "billboard"):
        raise ValueError(f"unknown obstruction kind {kind!r}")
    seed = _seed(seed)

    def apply(frame: Image) -> Image:
        height, width = frame.shape[:2]
        c0, c1 = round(x0 * width), round(x1 * width)
        r0, r1 = round(y0 * height), round(y1 * height)
        if c0 >= c1 or r0 >= r1:
            return frame  # the region rounds to nothing at this size
        layer = _obstruction_layer(height, width, (c0, r0, c1, r1), kind, seed)
        roi = frame[r0:r1, c0:c1]
        if layer.alpha is None or layer.rest is None:
            roi[...] = layer.colour
        else:
            cv2.blendLinear(layer.colour, roi, layer.alpha, layer.rest, dst=roi)
        return frame

    return apply


@dataclass(frozen=True)
class _Layer:
    """A cached obstruction texture: colour, and coverage with its complement (``None``:
    opaque everywhere). Read-only: every effect with the same parameters shares it."""

    colour: Image
    alpha: _Arr | None = None
    rest: _Arr | None = None


def _frozen(array: _Arr) -> _Arr:
    array.flags.writeable = False
    return array


# A fleet simulation renders each camera at its own size, but a handful of live textures per
# process is plenty; a 1080p full-frame foliage layer is ~23 MB.
@functools.lru_cache(maxsize=6)
def _obstruction_layer(height: int, width: int, rect: tuple[int, int, int, int],
                       kind: ObstructionKind, seed: int) -> _Layer:
    # The kind is part of the seed so that foliage and a billboard with the same seed are not
    # built from the same random stream.
    rng = np.random.default_rng([seed, 0 if kind == "foliage" else 1])
    if kind == "billboard":
        return _Layer(_frozen(_billboard(rng, height, width, rect)))
    colour, alpha = _foliage(rng, height, width, rect)
    return _Layer(_frozen(colour), _frozen(alpha), _frozen(np.float32(1.0) - alpha))


def _smooth_noise(rng: np.random.Generator, rows: int, cols: int, cell: float) -> _Arr:
    """Value noise in about [0, 1], (rows, cols) float32, features ``cell`` pixels across."""
    cell = max(cell, 1.0)
    gy, gx = math.ceil(rows / cell) + 3, math.ceil(cols / cell) + 3
    grid = rng.random((gy, gx), dtype=np.float32)
    up: _Arr = cv2.resize(grid, (round(gx * cell), round(gy * cell)),
                          interpolation=cv2.INTER_CUBIC)
    off = round(cell)  # skip the first cell: bicubic borders are clamped, not smooth
    out: _Arr = up[off:off + rows, off:off + cols]
    return out


def _foliage(rng: np.random.Generator, height: int, width: int,
             rect: tuple[int, int, int, int]) -> tuple[Image, _Arr]:
    """Colour (uint8) and coverage (float32, 0..1) of a bush over ``rect`` = (c0, r0, c1, r1)."""
    c0, r0, c1, r1 = rect
    rw, rh = c1 - c0, r1 - r0
    # Sizes follow the frame, not the region: a leaf 20 cm from the lens looks the same size
    # whether the bush covers a corner or the whole picture.
    s = float(min(height, width))
    # Leaves are drawn on a canvas wider than the region so that, where the region lies on the
    # frame's edge, they run out of the picture instead of stopping short of it.
    m = math.ceil(0.1 * s)
    ch, cw = rh + 2 * m, rw + 2 * m
    # Distance of each canvas pixel inside the region from its inner sides (those not on the
    # frame's edge); negative outside. The bush thins out and fades towards these sides only.
    rows = np.arange(ch, dtype=np.float32) - m + 0.5
    cols = np.arange(cw, dtype=np.float32) - m + 0.5
    inf = np.float32(np.inf)
    d_row = np.minimum(rows if r0 > 0 else inf, (rh - rows) if r1 < height else inf)
    d_col = np.minimum(cols if c0 > 0 else inf, (rw - cols) if c1 < width else inf)
    dist: _Arr = np.minimum.outer(d_row, d_col)

    colour = np.empty((ch, cw, 3), np.uint8)
    colour[...] = (20, 40, 26)  # the shadowed depths of the bush, between the nearer leaves
    cover = np.zeros((ch, cw), np.uint8)
    _draw_branches(rng, colour, cover, s)
    _draw_leaves(rng, colour, cover, s, dist)

    # Out of focus: the bush is far nearer than anything the camera is focused on. That also
    # wipes out any fine structure, so only the street seen through gaps has sharp edges.
    sigma = 0.01 * s
    colour = np.asarray(cv2.GaussianBlur(colour, (0, 0), sigma), np.uint8)
    alpha = cv2.GaussianBlur(cover.astype(np.float32) * np.float32(1 / 255), (0, 0), sigma)
    # Where leaves overlap, the blur must not let the street show through each leaf's rim.
    alpha = np.minimum(alpha * np.float32(1.15), np.float32(1.0))
    # Nothing outside the region may change: fade out just inside its inner sides.
    fade = np.clip(dist / np.float32(0.025 * s), 0.0, 1.0)
    alpha *= fade * fade * (3.0 - 2.0 * fade)

    inner = (slice(m, m + rh), slice(m, m + rw))
    out_alpha: _Arr = np.ascontiguousarray(alpha[inner], np.float32)
    return np.ascontiguousarray(colour[inner]), out_alpha


def _draw_branches(rng: np.random.Generator, colour: Image, cover: Image, s: float) -> None:
    """A few thick, dark, wandering branches right across the canvas."""
    ch, cw = cover.shape
    for _ in range(int(rng.integers(2, 5))):
        p = np.array([rng.uniform(0, cw), rng.uniform(0, ch)])
        heading = rng.uniform(0, 2 * math.pi)
        pts = [p]
        for _ in range(8):
            heading += rng.normal(0.0, 0.35)
            p = p + 0.1 * s * np.array([math.cos(heading), math.sin(heading)])
            pts.append(p)
        poly = [np.round(np.array(pts) * 16).astype(np.int32)]  # 4 fractional bits
        thick = max(2, round(rng.uniform(0.015, 0.03) * s))
        shade = rng.uniform(0.7, 1.1)
        cv2.polylines(colour, poly, False, (28 * shade, 38 * shade, 50 * shade), thick,
                      cv2.LINE_AA, 4)
        cv2.polylines(cover, poly, False, 255, thick, cv2.LINE_AA, 4)


def _draw_leaves(rng: np.random.Generator, colour: Image, cover: Image, s: float,
                 dist: _Arr) -> None:
    """Big dark-green ellipses, densest where a smooth "clump" field is high, thinning out
    towards a ragged outline near the region's inner sides (``dist`` from them)."""
    ch, cw = cover.shape
    mean_area = math.pi * (0.06 * s) * (0.025 * s)
    n = int(4.0 * ch * cw / mean_area)  # ~4 leaves deep: few gaps go right through
    clump = _smooth_noise(rng, ch, cw, 0.3 * s)
    outline = dist - 0.03 * s * _smooth_noise(rng, ch, cw, 0.1 * s)
    xs, ys = rng.uniform(0, cw, n), rng.uniform(0, ch, n)
    lengths = rng.uniform(0.045, 0.085, n) * s  # semi-major axes
    ix, iy = xs.astype(int), ys.astype(int)
    # A leaf may reach a third of its length past the outline; the final fade cuts the rest.
    thin = np.clip((outline[iy, ix] - 0.35 * lengths) / np.float32(0.04 * s), 0.0, 1.0)
    keep = rng.random(n) < (0.3 + 0.7 * clump[iy, ix]) * thin
    xs, ys, lengths = xs[keep], ys[keep], lengths[keep]
    k = len(xs)
    # Darkest first, so the brighter (nearer, sunlit) leaves end up on top: depth.
    light = np.sort(rng.uniform(0.5, 1.15, k))
    base = np.array([34.0, 80.0, 44.0])
    for x, y, li, length, ratio, angle, tint in zip(
            xs, ys, light, lengths, rng.uniform(0.35, 0.5, k), rng.uniform(0, 180, k),
            rng.uniform(-10, 10, k), strict=True):
        c = np.clip(base * li + np.array([-0.3, 0.1, 1.0]) * tint, 0, 255).tolist()
        centre = (round(x * 16), round(y * 16))
        axes = (max(16, round(length * 16)), max(16, round(length * ratio * 16)))
        cv2.ellipse(colour, centre, axes, angle, 0, 360, c, -1, cv2.LINE_AA, 4)
        cv2.ellipse(cover, centre, axes, angle, 0, 360, 255, -1, cv2.LINE_AA, 4)


# Ground colours of advertising panels (BGR), and colours to draw on them.
_PANEL_COLOURS = [(40, 40, 190), (170, 90, 20), (30, 170, 240), (225, 225, 225),
                  (60, 140, 40), (120, 40, 120), (35, 35, 35), (200, 200, 60), (40, 110, 230)]
_LETTERS = "ABCDEFGHKLMNOPRSTUVZ"


def _luma(bgr: _Arr) -> float:
    return float(0.114 * bgr[0] + 0.587 * bgr[1] + 0.299 * bgr[2])


def _against(ground: _Arr, colour: _Arr, contrast: float) -> _Arr:
    """``colour``, pulled towards ``ground`` until their luma differs by at most ``contrast``
    grey levels."""
    diff = abs(_luma(colour) - _luma(ground))
    t = 1.0 if diff <= contrast else contrast / diff
    mixed: _Arr = ground + t * (colour - ground)
    return mixed


def _billboard(rng: np.random.Generator, height: int, width: int,
               rect: tuple[int, int, int, int]) -> Image:
    """An advertising panel filling ``rect`` = (c0, r0, c1, r1): a frame, flat colour areas,
    a softly lit picture block and one short word in big letters."""
    c0, r0, c1, r1 = rect
    rw, rh = c1 - c0, r1 - r0
    picks = rng.permutation(len(_PANEL_COLOURS))
    ground, accent, ink = (np.array(_PANEL_COLOURS[i], np.float32) for i in picks[:3])
    # Print contrast is moderate and the panel, close to the camera, is out of focus: inside
    # it nothing is as crisp as the street it hides. Only its outline is a sharp edge.
    accent = _against(ground, accent, 60.0)
    ink = _against(ground, ink, 80.0)
    metal = _against(ground, np.array([70.0, 72.0, 76.0], np.float32), 50.0)

    # Background: one flat colour under a faint top-to-bottom light falloff.
    shade = np.linspace(1.04, 0.94, rh, dtype=np.float32)[:, None, None]
    panel = np.clip(ground[None, None, :] * shade + 0.5, 0, 255).astype(np.uint8)
    panel_u8 = np.ascontiguousarray(panel.repeat(rw, axis=1))
    frame_t = max(2, round(0.035 * min(rw, rh)))
    if min(rw, rh) >= 16:  # smaller: just the plain panel
        _billboard_print(rng, panel_u8, frame_t, accent, ink)
    cv2.rectangle(panel_u8, (0, 0), (rw - 1, rh - 1), metal.tolist(), frame_t)
    sigma = 0.006 * min(height, width)
    if sigma >= 0.3:
        # Replicated borders: blur inside the panel only; it still ends in a straight edge.
        panel_u8 = np.asarray(cv2.GaussianBlur(panel_u8, (0, 0), sigma,
                                               borderType=cv2.BORDER_REPLICATE), np.uint8)
    return panel_u8


def _billboard_print(rng: np.random.Generator, panel: Image, frame_t: int, accent: _Arr,
                     ink: _Arr) -> None:
    """What is printed on the panel (modified in place): a picture block on
    the left or right, a band along the bottom and a word beside the picture."""
    rh, rw = panel.shape[:2]
    bw, bh = round(rw * rng.uniform(0.3, 0.4)), round(rh * rng.uniform(0.5, 0.7))
    gap = frame_t + round(0.06 * rw)
    left = bool(rng.random() < 0.5)
    bx = gap if left else rw - gap - bw
    by = frame_t + round((rh - 2 * frame_t - bh) * rng.uniform(0.25, 0.6))
    yy, xx = np.mgrid[0:bh, 0:bw].astype(np.float32)
    glow = 1.1 - 0.25 * np.hypot((xx / bw - 0.35) * 1.2, yy / bh - 0.3)
    block = np.clip(accent[None, None, :] * glow[..., None] + 0.5, 0, 255)
    panel[by:by + bh, bx:bx + bw] = block.astype(np.uint8)
    band = max(1, round(0.12 * rh))
    panel[rh - frame_t - band:rh - frame_t, :] = np.rint(accent).astype(np.uint8)

    word = "".join(rng.choice(list(_LETTERS), int(rng.integers(3, 6))))
    text_x0 = bx + bw + gap - frame_t if left else gap
    text_x1 = rw - gap if left else bx - gap + frame_t
    text_w = max(1, text_x1 - text_x0)
    font = cv2.FONT_HERSHEY_DUPLEX
    (tw, th), _ = cv2.getTextSize(word, font, 1.0, 2)
    scale = min(text_w / tw, 0.3 * rh / th)
    thick = max(1, round(scale * 2.5))
    (tw, th), _ = cv2.getTextSize(word, font, scale, thick)
    org = (text_x0 + max(0, (text_w - tw) // 2), round((rh - band) * 0.45 + th / 2))
    cv2.putText(panel, word, org, font, scale, ink.tolist(), thick, cv2.LINE_AA)


# ------------------------------------------------------------------------------------------------
# Optical faults
# ------------------------------------------------------------------------------------------------
def blur(sigma_px: float) -> ImageEffect:
    """Gaussian defocus of ``sigma_px`` pixels (a lens knocked out of focus, a dirty dome).

    Below sigma 2 this is an exact Gaussian. From 2 up the frame is blurred at a reduced size
    and scaled back up, with the same overall variance: a 1080p frame takes ~5 ms instead of
    10-40 ms (one core), and differs from the exact blur by ~0.15-0.25 grey levels on average.
    """
    sigma = float(sigma_px)
    if sigma < 0:
        raise ValueError(f"sigma_px must be >= 0, got {sigma_px}")

    def apply(frame: Image) -> Image:
        if sigma == 0:
            return frame
        return _gaussian(frame, sigma)

    return apply


def _gaussian(frame: Image, sigma: float) -> Image:
    if sigma < 2.0:
        out: _Arr = cv2.GaussianBlur(frame, (0, 0), sigma)
        return out
    height, width = frame.shape[:2]
    # Shrink by k, leaving a sigma of at least 1 small pixel to blur with: the blurred image
    # has no detail the smaller one cannot hold.
    k = max(2, int(sigma // 2))
    # Pad to a multiple of k: a non-integer INTER_AREA shrink shifts the picture by up to
    # half a pixel.
    pad_y, pad_x = -height % k, -width % k
    padded: _Arr = frame
    if pad_y or pad_x:
        padded = cv2.copyMakeBorder(frame, 0, pad_y, 0, pad_x, cv2.BORDER_REFLECT_101)
    small = cv2.resize(padded, ((width + pad_x) // k, (height + pad_y) // k),
                       interpolation=cv2.INTER_AREA)
    # Variances add: the k x k box average (k²/12) and the linear upscale (k²/6) already
    # blur by k²/4, i.e. 1/4 of a small pixel squared.
    rest = math.sqrt((sigma / k) ** 2 - 0.25)
    small = cv2.GaussianBlur(small, (0, 0), rest)
    big: _Arr = cv2.resize(small, (width + pad_x, height + pad_y),
                           interpolation=cv2.INTER_LINEAR)
    return big[:height, :width] if pad_y or pad_x else big


def haze(strength: float) -> ImageEffect:
    """A dirty dome: light scattered by the dirt lays a milky veil over the picture.

    ``out = (1 - strength)·frame + strength·veil`` per channel, where the veil is the frame's
    mean colour lifted halfway to a light grey (scatter spreads the scene's own light evenly,
    and sunlit dirt adds some): contrast is scaled by ``1 - strength``.
    """
    s = float(strength)
    if not 0.0 <= s <= 1.0:
        raise ValueError(f"strength must be in [0, 1], got {strength}")

    def apply(frame: Image) -> Image:
        veil = 0.5 * np.array(cv2.mean(frame)[:3]) + 0.5 * 225.0
        # One affine map per channel (a 3x4 matrix: scale on the diagonal, veil as offset).
        matrix = np.hstack([np.eye(3) * (1.0 - s), (s * veil)[:, None]])
        out: _Arr = cv2.transform(frame, matrix, dst=frame)
        return out

    return apply


# ------------------------------------------------------------------------------------------------
# Photometric changes that are not faults
# ------------------------------------------------------------------------------------------------
def gamma(g: float) -> ImageEffect:
    """Tone curve ``out = 255·(in/255)^g``: ``g < 1`` lifts the mid-tones, ``g > 1`` darkens
    them; black and white stay put (an exposure / WDR / tone-mapping change)."""
    if not g > 0:
        raise ValueError(f"gamma must be > 0, got {g}")
    lut = np.clip(np.rint(255.0 * (np.arange(256) / 255.0) ** float(g)), 0, 255)
    return _lut_effect(lut.astype(np.uint8))


def brightness(delta: float) -> ImageEffect:
    """Add ``delta`` grey levels to every channel, saturating (auto-exposure, a cloud)."""
    lut = np.clip(np.rint(np.arange(256) + float(delta)), 0, 255).astype(np.uint8)
    return _lut_effect(lut)


def noise(sigma: float, seed: int = 0) -> ImageEffect:
    """Additive Gaussian sensor noise of ``sigma`` grey levels, independent per channel.

    The noise field depends only on (frame size, sigma, seed), so it is the same on every
    frame; pass a different seed per frame for temporal noise. It is drawn once per
    combination and cached (drawing 6 M normals takes ~70 ms; adding them, ~2 ms).
    """
    sigma, seed = float(sigma), _seed(seed)
    if sigma < 0:
        raise ValueError(f"sigma must be >= 0, got {sigma}")

    def apply(frame: Image) -> Image:
        if sigma == 0:
            return frame
        field = _noise_field(frame.shape, sigma, seed)
        out: _Arr = cv2.add(frame, field, dst=frame, dtype=cv2.CV_8U)
        return out

    return apply


def ir_greyscale(gain: float = 1.2, noise_sigma: float = 4.0, seed: int = 0) -> ImageEffect:
    """Night (IR) mode: the cut filter is out, so colour is gone; the picture is grey, a bit
    brighter (IR illuminator, raised gain, ``out = gain·Y``) and noisier (``noise_sigma``
    grey levels, the same in all three channels so the frame stays truly grey; a fixed
    pattern per seed, as in :func:`noise`)."""
    gain, noise_sigma, seed = float(gain), float(noise_sigma), _seed(seed)
    if gain <= 0 or noise_sigma < 0:
        raise ValueError(f"need gain > 0 and noise_sigma >= 0, got {gain}, {noise_sigma}")
    lut = np.clip(np.rint(np.arange(256) * gain), 0, 255).astype(np.uint8)

    def apply(frame: Image) -> Image:
        grey = cv2.LUT(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), lut)
        if noise_sigma > 0:
            grey = cv2.add(grey, _noise_field(grey.shape, noise_sigma, seed), dtype=cv2.CV_8U)
        out: _Arr = cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR, dst=frame)
        return out

    return apply


def jpeg_quality(q: int) -> ImageEffect:
    """A JPEG encode/decode round trip at quality ``q`` (1..100): blocking and ringing from a
    lower encoder setting or a starved sub-stream."""
    q = int(q)
    if not 1 <= q <= 100:
        raise ValueError(f"JPEG quality must be 1..100, got {q}")

    def apply(frame: Image) -> Image:
        ok, buf = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, q])
        decoded: _Arr | None = cv2.imdecode(buf, cv2.IMREAD_COLOR) if ok else None
        if decoded is None:
            raise RuntimeError("JPEG round trip failed")
        return decoded

    return apply


# -- helpers -------------------------------------------------------------------------------------
def _seed(seed: int) -> int:
    # Checked up front: numpy would only refuse a negative seed on the first frame.
    if int(seed) < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    return int(seed)


def _lut(frame: Image, lut: _Arr) -> Image:
    out: _Arr = cv2.LUT(frame, lut, dst=frame)
    return out


def _lut_effect(lut: _Arr) -> ImageEffect:
    lut.flags.writeable = False

    def apply(frame: Image) -> Image:
        return _lut(frame, lut)

    return apply


# int16 so that any sigma fits; a 1080p colour field is 12 MB, so keep only a few.
@functools.lru_cache(maxsize=4)
def _noise_field(shape: tuple[int, ...], sigma: float, seed: int) -> _Arr:
    rng = np.random.default_rng(seed)
    field = np.rint(rng.standard_normal(shape, dtype=np.float32) * np.float32(sigma))
    out: _Arr = np.clip(field, -255, 255).astype(np.int16)
    out.flags.writeable = False
    return out
