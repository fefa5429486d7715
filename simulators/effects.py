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
from typing import Any, Literal

import cv2
import numpy as np
import numpy.typing as npt

from simulators.scene import Image, ImageEffect

__all__ = ["blur", "brightness", "gamma", "haze", "ir_greyscale", "jpeg_quality", "noise",
           "obstruction"]

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
    compares edge density per tile with a baseline. Pixels outside the region are never
    touched. The texture is tied to the image, not to the world: it stays put when the camera
    pans. It is generated once per (frame size, region, kind, seed) and cached.
    """
    x0, y0, x1, y1 = (float(v) for v in region)
    if not (0.0 <= x0 < x1 <= 1.0 and 0.0 <= y0 < y1 <= 1.0):
        raise ValueError(f"region must be fractions x0 < x1, y0 < y1 within [0, 1]: {region}")
    if kind not in ("foliage", "billboard"):
        raise ValueError(f"unknown obstruction kind {kind!r}")
    seed = int(seed)

    def apply(frame: Image) -> Image:
        height, width = frame.shape[:2]
        c0, c1 = round(x0 * width), round(x1 * width)
        r0, r1 = round(y0 * height), round(y1 * height)
        if c0 >= c1 or r0 >= r1:
            return frame  # the region rounds to nothing at this size
        layer = _obstruction_layer(height, width, (c0, r0, c1, r1), kind, seed)
        roi = frame[r0:r1, c0:c1]
        if layer.alpha is None:
            roi[...] = layer.colour
        else:
            cv2.blendLinear(layer.colour, roi, layer.alpha, layer.rest, dst=roi)
        return frame

    return apply


class _Layer:
    """A cached obstruction texture: colour and coverage (``None``: opaque everywhere)."""

    def __init__(self, colour: Image, alpha: _Arr | None) -> None:
        # Shared between calls through the cache, so freeze them.
        colour.flags.writeable = False
        self.colour = colour
        self.alpha = self.rest = None
        if alpha is not None:
            rest = (1.0 - alpha).astype(np.float32)
            alpha = alpha.astype(np.float32)
            alpha.flags.writeable = rest.flags.writeable = False
            self.alpha, self.rest = alpha, rest


# A fleet simulation renders each camera at its own size, but a handful of live textures per
# process is plenty; a 1080p foliage layer is ~23 MB.
@functools.lru_cache(maxsize=6)
def _obstruction_layer(height: int, width: int, rect: tuple[int, int, int, int],
                       kind: ObstructionKind, seed: int) -> _Layer:
    # The kind is part of the seed so that foliage and a billboard with the same seed are not
    # built from the same random stream.
    rng = np.random.default_rng([seed, 0 if kind == "foliage" else 1])
    if kind == "foliage":
        colour, alpha = _foliage(rng, height, width, rect)
        return _Layer(colour, alpha)
    return _Layer(_billboard(rng, height, width, rect), None)


def _smooth_noise(rng: np.random.Generator, rows: int, cols: int, cell: float) -> _Arr:
    """Value noise in about [0, 1], (rows, cols) float32, features ``cell`` pixels across."""
    gy, gx = math.ceil(rows / cell) + 3, math.ceil(cols / cell) + 3
    grid = rng.random((gy, gx), dtype=np.float32)
    up: _Arr = cv2.resize(grid, (round(gx * cell), round(gy * cell)),
                          interpolation=cv2.INTER_CUBIC)
    off = round(cell)  # skip the first cell: bicubic borders are clamped, not smooth
    out: _Arr = up[off:off + rows, off:off + cols]
    return out


def _foliage(rng: np.random.Generator, height: int, width: int,
             rect: tuple[int, int, int, int]) -> tuple[Image, _Arr]:
    """Colour (uint8) and coverage (float32, 0..1) of leaves over ``rect`` = (c0, r0, c1, r1)."""
    c0, r0, c1, r1 = rect
    rw, rh = c1 - c0, r1 - r0
    # Sizes follow the frame, not the region: a leaf 2 cm from the lens looks the same size
    # whether it covers a corner or the whole picture.
    s = float(min(height, width))
    # Leaves are drawn on a canvas wider than the region so they run across its borders
    # instead of stopping at a straight line.
    m = math.ceil(0.12 * s)
    ch, cw = rh + 2 * m, rw + 2 * m
    # Shadowed depths of the bush: what shows between the nearer leaves.
    colour = np.empty((ch, cw, 3), np.uint8)
    colour[...] = (22, 42, 28)
    cover = np.zeros((ch, cw), np.uint8)

    # A few branches: thick, dark, wandering lines right across the canvas.
    for _ in range(int(rng.integers(2, 5))):
        p = np.array([rng.uniform(0, cw), rng.uniform(0, ch)])
        heading = rng.uniform(0, 2 * math.pi)
        pts = [p.copy()]
        for _ in range(8):
            heading += rng.normal(0.0, 0.35)
            p = p + 0.1 * s * np.array([math.cos(heading), math.sin(heading)])
            pts.append(p.copy())
        poly = [np.round(np.array(pts) * 16).astype(np.int32)]
        thick = max(2, round(rng.uniform(0.015, 0.035) * s))
        shade = rng.uniform(0.7, 1.1)
        cv2.polylines(colour, poly, False, (30 * shade, 42 * shade, 55 * shade), thick,
                      cv2.LINE_AA, 4)
        cv2.polylines(cover, poly, False, 255, thick, cv2.LINE_AA, 4)

    # Leaves: big ellipses, densest where a smooth "clump" field is high. Drawn darkest first,
    # so the brighter (nearer, sunlit) leaves end up on top and the bush has some depth.
    mean_area = math.pi * (0.06 * s) * (0.025 * s)
    n = int(2.4 * ch * cw / mean_area)
    clump = _smooth_noise(rng, ch, cw, 0.35 * s)
    xs, ys = rng.uniform(0, cw, n), rng.uniform(0, ch, n)
    keep = rng.random(n) < 0.35 + 0.65 * clump[ys.astype(int), xs.astype(int)]
    xs, ys = xs[keep], ys[keep]
    k = len(xs)
    light = np.sort(rng.uniform(0.45, 1.2, k))
    base = np.array([38.0, 92.0, 52.0])
    for x, y, li, length, ratio, angle, tint in zip(
            xs, ys, light, rng.uniform(0.045, 0.085, k) * s, rng.uniform(0.35, 0.5, k),
            rng.uniform(0, 180, k), rng.uniform(-12, 12, k), strict=True):
        c = np.clip(base * li + np.array([-0.3, 0.1, 1.0]) * tint, 0, 255)
        centre = (round(x * 16), round(y * 16))
        axes = (max(16, round(length * 16)), max(16, round(length * ratio * 16)))
        cv2.ellipse(colour, centre, axes, angle, 0, 360, c.tolist(), -1, cv2.LINE_AA, 4)
        cv2.ellipse(cover, centre, axes, angle, 0, 360, 255, -1, cv2.LINE_AA, 4)

    # Out of focus: the whole bush is a few percent of the frame from the lens.
    sigma = 0.012 * s
    colour = cv2.GaussianBlur(colour, (0, 0), sigma)
    alpha = cv2.GaussianBlur(cover.astype(np.float32) * np.float32(1 / 255), (0, 0), sigma)

    # Fade out towards the region's inner borders over a ragged band, so the bush has no
    # straight outline; sides lying on the frame's edge stay covered right up to it.
    band = 0.06 * s
    rows = np.arange(ch, dtype=np.float32) - m + 0.5  # distance below the region's top
    cols = np.arange(cw, dtype=np.float32) - m + 0.5
    inf = np.float32(np.inf)
    d_row = np.minimum(rows if r0 > 0 else inf, (rh - rows) if r1 < height else inf)
    d_col = np.minimum(cols if c0 > 0 else inf, (rw - cols) if c1 < width else inf)
    dist = np.minimum.outer(d_row, d_col)
    ragged = dist - band * _smooth_noise(rng, ch, cw, 0.08 * s)
    fade = np.clip(ragged / np.float32(band), 0.0, 1.0)
    alpha *= fade * fade * (3.0 - 2.0 * fade)

    inner = (slice(m, m + rh), slice(m, m + rw))
    out_colour: Image = np.ascontiguousarray(colour[inner])
    out_alpha: _Arr = np.ascontiguousarray(alpha[inner])
    return out_colour, out_alpha


_PANEL_COLOURS = [(40, 40, 190), (170, 90, 20), (30, 170, 240), (235, 235, 235),
                  (60, 140, 40), (120, 40, 120), (20, 20, 20), (200, 200, 60)]
_LETTERS = "ABCDEFGHKLMNOPRSTUVZ"


def _billboard(rng: np.random.Generator, height: int, width: int,
               rect: tuple[int, int, int, int]) -> Image:
    """An advertising panel filling ``rect`` = (c0, r0, c1, r1): frame, flat colour areas,
    a soft-shaded picture block and one short line of big letters."""
    c0, r0, c1, r1 = rect
    rw, rh = c1 - c0, r1 - r0
    s = float(min(height, width))
    picks = rng.permutation(len(_PANEL_COLOURS))
    ground, accent, ink = (np.array(_PANEL_COLOURS[i], np.float32) for i in picks[:3])

    # Background: one flat colour under a faint top-to-bottom light falloff (big smooth areas
    # keep the edge density low).
    shade = np.linspace(1.05, 0.9, rh, dtype=np.float32)[:, None, None]
    panel = np.clip(ground[None, None, :] * shade, 0, 255).repeat(rw, axis=1)

    # The "picture": a block in the accent colour with a smooth radial highlight.
    frame_t = max(2, round(0.035 * min(rw, rh)))
    bw, bh = round(rw * rng.uniform(0.3, 0.45)), round(rh * rng.uniform(0.45, 0.7))
    bx = frame_t + round(0.06 * rw) if rng.random() < 0.5 else rw - frame_t - round(0.06 * rw) - bw
    by = frame_t + round((rh - 2 * frame_t - bh) * rng.uniform(0.2, 0.8))
    yy, xx = np.mgrid[0:bh, 0:bw].astype(np.float32)
    glow = 1.25 - 0.5 * np.hypot((xx / bw - 0.35) * 1.2, yy / bh - 0.3)
    block = np.clip(accent[None, None, :] * glow[..., None], 0, 255)
    if bw > 0 and bh > 0:
        panel[by:by + bh, bx:bx + bw] = block

    # A stripe along the bottom, and a short word in big letters beside the picture.
    stripe = max(1, round(0.12 * rh))
    panel[rh - frame_t - stripe:rh - frame_t, :] = accent * 0.8
    panel_u8: Image = np.ascontiguousarray(np.clip(panel, 0, 255).astype(np.uint8))
    word = "".join(rng.choice(list(_LETTERS), int(rng.integers(3, 6))))
    text_x0 = frame_t + round(0.05 * rw) if bx > rw / 2 else bx + bw + round(0.05 * rw)
    text_w = max(1, (bx if bx > rw / 2 else rw - frame_t) - text_x0 - round(0.05 * rw))
    font = cv2.FONT_HERSHEY_DUPLEX
    (tw, th), _ = cv2.getTextSize(word, font, 1.0, 2)
    scale = min(text_w / tw, 0.3 * rh / th)
    thick = max(1, round(scale * 2.5))
    (tw, th), _ = cv2.getTextSize(word, font, scale, thick)
    org = (text_x0 + max(0, (text_w - tw) // 2), round(rh * 0.42 + th / 2))
    cv2.putText(panel_u8, word, org, font, scale, ink.tolist(), thick, cv2.LINE_AA)

    # The metal frame, then a touch of defocus: the panel is near the camera, and the
    # anti-aliased drawing should not look sharper than the scene's optics.
    cv2.rectangle(panel_u8, (0, 0), (rw - 1, rh - 1), (70, 72, 76), frame_t)
    sigma = 0.003 * s
    if sigma >= 0.5:
        panel_u8 = cv2.GaussianBlur(panel_u8, (0, 0), sigma, borderType=cv2.BORDER_REPLICATE)
    return panel_u8


# ------------------------------------------------------------------------------------------------
# Optical faults
# ------------------------------------------------------------------------------------------------
def blur(sigma_px: float) -> ImageEffect:
    """Gaussian defocus of ``sigma_px`` pixels (a lens knocked out of focus, a dirty dome).

    Up to sigma 4 this is an exact Gaussian; beyond, the frame is blurred at a reduced size
    and scaled back up (same overall variance, ~4x faster at 1080p, visually identical: what
    is left after such a blur has no detail a smaller image could lose).
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
    if sigma <= 4.0:
        out: Image = cv2.GaussianBlur(frame, (0, 0), sigma, borderType=cv2.BORDER_REPLICATE)
        return out
    height, width = frame.shape[:2]
    k = int(sigma // 2)  # shrink factor: leaves a sigma of at least ~1.9 px to blur at
    small_size = (max(1, width // k), max(1, height // k))
    small = cv2.resize(frame, small_size, interpolation=cv2.INTER_AREA)
    # Variances add: the box filter of the shrink (k²/12) and the linear upscale (k²/6) each
    # blur a little already.
    rest = math.sqrt(max((sigma / k) ** 2 - 0.25, 0.25))
    small = cv2.GaussianBlur(small, (0, 0), rest, borderType=cv2.BORDER_REPLICATE)
    big: Image = cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)
    return big


def haze(strength: float) -> ImageEffect:
    """A dirty dome: light scattered by the dirt lays a milky veil over the picture.

    ``out = (1 - strength)·frame + strength·veil`` per channel, where the veil is the frame's
    mean colour lifted halfway to a light grey (scatter spreads the scene's own light evenly,
    and sunlit dirt adds some). Contrast drops by ``1 - strength``.
    """
    s = float(strength)
    if not 0.0 <= s <= 1.0:
        raise ValueError(f"strength must be in [0, 1], got {strength}")

    def apply(frame: Image) -> Image:
        mean = np.array(cv2.mean(frame)[:3], np.float32)
        veil = 0.5 * mean + 0.5 * 225.0
        v = np.arange(256, dtype=np.float32)[:, None]
        lut = np.clip(np.rint((1.0 - s) * v + s * veil[None, :]), 0, 255).astype(np.uint8)
        return _lut(frame, lut.reshape(256, 1, 3))

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
    sigma, seed = float(sigma), int(seed)
    if sigma < 0:
        raise ValueError(f"sigma must be >= 0, got {sigma}")

    def apply(frame: Image) -> Image:
        if sigma == 0:
            return frame
        field = _noise_field(frame.shape, sigma, seed)
        out: Image = cv2.add(frame, field, dst=frame, dtype=cv2.CV_8U)
        return out

    return apply


def ir_greyscale(gain: float = 1.2, noise_sigma: float = 4.0, seed: int = 0) -> ImageEffect:
    """Night (IR) mode: the cut filter is out, so colour is gone; the picture is grey, a bit
    brighter (IR illuminator, raised gain, ``out = gain·Y``) and noisier (``noise_sigma``
    grey levels, the same in all three channels so the frame stays truly grey)."""
    gain, noise_sigma, seed = float(gain), float(noise_sigma), int(seed)
    if gain <= 0 or noise_sigma < 0:
        raise ValueError(f"need gain > 0 and noise_sigma >= 0, got {gain}, {noise_sigma}")
    lut = np.clip(np.rint(np.arange(256) * gain), 0, 255).astype(np.uint8)

    def apply(frame: Image) -> Image:
        grey = cv2.LUT(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), lut)
        if noise_sigma > 0:
            grey = cv2.add(grey, _noise_field(grey.shape, noise_sigma, seed), dtype=cv2.CV_8U)
        out: Image = cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR, dst=frame)
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
        decoded = cv2.imdecode(buf, cv2.IMREAD_COLOR) if ok else None
        if decoded is None:
            raise RuntimeError("JPEG round trip failed")
        out: Image = decoded
        return out

    return apply


# -- helpers -------------------------------------------------------------------------------------
def _lut(frame: Image, lut: _Arr) -> Image:
    out: Image = cv2.LUT(frame, lut, dst=frame)
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
    out = np.clip(field, -255, 255).astype(np.int16)
    out.flags.writeable = False
    return out
