"""What is hidden or soft: edge density and coarse appearance per tile, and sharpness.

Both work on histogram-equalized grey, so gamma, brightness, noise, JPEG and IR night mode
leave them alone.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from devmgr.vision._limits import (
    EDGE_THRESHOLD,
    GLOBAL_LOSS_RATIO,
    GRID_COLS,
    GRID_ROWS,
    OBSTRUCTED_SHARE_MIN,
    PLAIN_PATCH_MIN,
    REFLECTANCE_SCALE,
    REFLECTANCE_SIGMA,
    STRUCTURE_CELLS,
    STRUCTURE_NCC_MIN,
    TEXTURE_FLOOR,
    TEXTURE_KEPT_NCC,
    TEXTURE_MEDIAN_PX,
    TEXTURE_MISMATCH_MIN,
    TILE_EDGE_RATIO,
    TILE_FLAT_STD,
    TILE_GAIN_RATIO,
    TILE_MIN_BASELINE_DENSITY,
    TILE_NCC_MIN,
    Arr,
)


def _edges(eq: Arr) -> Arr:
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
    result: Arr = out
    return result


def _tile_density(mask: Arr, valid: Arr | None = None) -> tuple[Arr, Arr]:
    """Edge density per tile, and the share of each tile that is valid (inside the view)."""
    h, w = mask.shape
    dens = cv2.resize(mask.astype(np.float32), (GRID_COLS, GRID_ROWS),
                      interpolation=cv2.INTER_AREA) if (w % GRID_COLS == 0 and h % GRID_ROWS
                                                       == 0) else _block_mean(mask)
    cover = np.ones_like(dens) if valid is None else _block_mean(valid)
    return dens, cover


def _block_mean(a: Arr) -> Arr:
    h, w = a.shape
    xs = np.linspace(0, w, GRID_COLS + 1).round().astype(int)
    ys = np.linspace(0, h, GRID_ROWS + 1).round().astype(int)
    s = cv2.integral(a.astype(np.float32), sdepth=cv2.CV_64F)
    tot = s[np.ix_(ys[1:], xs[1:])] - s[np.ix_(ys[:-1], xs[1:])] \
        - s[np.ix_(ys[1:], xs[:-1])] + s[np.ix_(ys[:-1], xs[:-1])]
    area = np.outer(np.diff(ys), np.diff(xs)).astype(np.float64)
    out: Arr = (tot / area).astype(np.float32)
    return out


def obstruction(raw: tuple[Arr, Arr], eq: tuple[Arr, Arr], hom: Arr,
                ) -> tuple[tuple[tuple[int, int], ...], float, str]:
    """Obstructed tiles: lost their sharp edges or their coarse appearance, where the texture
    the baseline saw is no longer there under whatever light falls on it now.

    ``raw`` is the (baseline, current) grey pair as the camera gave it, ``eq`` the same
    histogram-equalized. A tile that only *gained* fine texture is not obstructed: the
    baseline held something passing (a car) or a deep shadow, and what hangs in front of a
    lens is out of focus. A plain tile (sky, asphalt, a blank wall: too few edges to judge)
    counts only as part of an obstruction found on judged tiles next to it, or of a patch of
    ``PLAIN_PATCH_MIN``: alone, a shadow's edge or noise on it looks like anything. Nor does a
    tile whose own fine texture still shows in place: the obstruction must be found without
    those, and then takes in the ones next to it (it covers them in part).
    """
    (g0, g1), (e0, e1) = raw, eq
    h, w = e0.shape
    valid: Arr | None = None
    if np.abs(hom - np.eye(3)).max() > 1e-3:
        # The camera moved: compare each current tile with what the baseline saw there.
        valid = cv2.warpPerspective(np.ones_like(e0), hom, (w, h), flags=cv2.INTER_NEAREST)
        # What the baseline never saw (the strip the turn brought in) is today's picture in
        # both: a black strip there would read as lost edges and a changed appearance in
        # every tile along that side.
        unseen = valid == 0
        e0 = np.where(unseen, e1, cv2.warpPerspective(e0, hom, (w, h), flags=cv2.INTER_LINEAR))
        g0 = np.where(unseen, g1, cv2.warpPerspective(g0, hom, (w, h), flags=cv2.INTER_LINEAR))
    d0, cover = _tile_density(_edges(e0), valid)
    d1, _ = _tile_density(_edges(e1))
    inside = cover >= 0.9
    judged = (d0 >= TILE_MIN_BASELINE_DENSITY) & inside
    ratio = d1 / np.maximum(d0, 1e-6)
    # Judged against the frame's typical tile: a defocused lens loses edges everywhere, which
    # is "blurred", not an obstruction; a local obstruction leaves the median tile alone.
    typical = float(np.median(ratio[judged])) if judged.any() else 1.0
    typical = 1.0 if typical >= GLOBAL_LOSS_RATIO else typical
    # Has something appeared in front? Edges lost, or the coarse appearance (8x8 px per
    # tile, so noise and JPEG average out; NCC ignores exposure) changed. Appearance is
    # compared on the raw grey without its smooth lighting (``_reflectance``): shadows move
    # all day, and equalizing a plain view first would blow its noise up into texture.
    changed = _changed(_reflectance(g0), _reflectance(g1))
    plain = inside & (d0 < TILE_MIN_BASELINE_DENSITY)
    # Where there are edges, a change counts only if the structure is gone too (a moved
    # shadow, dusk or an IR illuminator's falloff lower the contrast of edges still there;
    # leaves or a panel replace them), and the baseline's fine texture no longer shows
    # through the change of light (``_texture_change``: a shadow's edge crossing the tile).
    # And where the baseline's own fine texture still shows, in place, the tile is what it
    # was: a shadow's edge moved across a smooth facade, and took its edges with it.
    replaced, gained, kept = _texture_change(g0, g1)
    lost = (judged & ((ratio < TILE_EDGE_RATIO * typical) | changed)
            & (_structure(e0, e1) < STRUCTURE_NCC_MIN) & replaced & ~gained)
    bad = _with_plain_neighbours(lost & ~kept, plain & changed & ~kept)
    if bad.sum() >= OBSTRUCTED_SHARE_MIN * GRID_COLS * GRID_ROWS:
        # Found where the texture is gone, an obstruction also covers part of the tiles
        # along its border, where some of the baseline's texture still shows.
        bad = _grown(bad, (lost | (plain & changed)) & kept)
    rows, cols = np.nonzero(bad)
    tiles = tuple((int(c), int(r)) for r, c in zip(rows, cols, strict=True))
    share = len(tiles) / (GRID_COLS * GRID_ROWS)
    return tiles, share, _where(tiles)


def _with_plain_neighbours(lost: Arr, plain_changed: Arr) -> Arr:
    """``lost`` grown over the changed plain tiles 4-connected to it; changed plain tiles
    apart from it count only as a patch of ``PLAIN_PATCH_MIN`` tiles or more."""
    return _grown(lost, plain_changed, PLAIN_PATCH_MIN)


def _grown(core: Arr, part: Arr, patch_min: int = 0) -> Arr:
    """``core`` grown over the ``part`` tiles 4-connected to it, and any patch of ``part``
    tiles alone of ``patch_min`` tiles or more (0: none)."""
    both = (core | part).astype(np.uint8)
    count, labels = cv2.connectedComponents(both, connectivity=4)
    keep = (np.bincount(labels.ravel(), minlength=count) >= patch_min if patch_min
            else np.zeros(count, bool))
    keep[np.unique(labels[core])] = True
    keep[0] = False
    out: Arr = keep[labels]
    return out


def _texture_change(g0: Arr, g1: Arr) -> tuple[Arr, Arr, Arr]:
    """Per tile: the baseline's fine texture no longer shows through today's light
    (replaced), today shows much more fine texture than the baseline did (gained), and the
    baseline's fine texture is still there, in place (kept).

    A change of light multiplies the picture, so in logs it adds a field that is flat in
    each lit or shaded patch with steps at a shadow's edge; a median filter keeps such steps
    and drops the rest. What remains of the log ratio after it is what the light cannot
    explain: what stands in front. Its energy against the baseline's own fine texture
    (floored: a plain tile has none to lose) is the mismatch. A tile that gained texture
    was hidden at commissioning (deep shadow, a passing car), not now: what hangs in front of
    a lens is close and out of focus.

    The mismatch is measured against a texture that can be faint (a rendered or painted
    facade: 3-6 % contrast), so a thin shadow (a lamp post's, narrower than the median) or
    the noise of a shaded patch reaches it on a wall that is all there. Whether the same
    texture is still in place tells those apart: the correlation of the two fine textures
    (log grey minus its blur) is 0.6 on the median tile a moved shadow takes edges from, 0.0
    on one something covers (``TEXTURE_KEPT_NCC``).
    """
    l0, l1 = (np.log1p(cv2.GaussianBlur(g, (0, 0), 1.0).astype(np.float32)) for g in (g0, g1))
    change = l1 - l0
    steps = cv2.medianBlur(np.clip(change * 64.0 + 128.0, 0, 255).astype(np.uint8),
                           TEXTURE_MEDIAN_PX).astype(np.float32)
    residual = change - (steps - 128.0) / 64.0
    fine0, fine1 = (lg - cv2.GaussianBlur(lg, (0, 0), TEXTURE_MEDIAN_PX / 2) for lg in (l0, l1))
    own0, own1 = _tile_rms(fine0), _tile_rms(fine1)
    unexplained = _tile_rms(residual)
    replaced: Arr = unexplained / np.maximum(own0, TEXTURE_FLOOR) >= TEXTURE_MISMATCH_MIN
    gained: Arr = own1 > TILE_GAIN_RATIO * np.maximum(own0, TEXTURE_FLOOR)
    kept: Arr = _block_mean(fine0 * fine1) >= TEXTURE_KEPT_NCC * np.maximum(own0 * own1, 1e-9)
    return replaced, gained, kept


def _tile_rms(a: Arr) -> Arr:
    """Per tile: the root mean square of ``a`` (its block means come from an integral image,
    whose rounding can dip below zero: clamped)."""
    out: Arr = np.sqrt(np.maximum(_block_mean(a * a), 0.0))
    return out


def _reflectance(eq: Arr) -> Arr:
    """The picture without its smooth lighting (log grey minus its blur over ~20 px, scaled
    back to grey levels): a shadow that moved, a veil of haze or an illuminator's falloff
    mostly go; what stands in front stays."""
    log = np.log1p(eq.astype(np.float32))
    h, w = log.shape
    # The lighting is smooth: blurred at a quarter of the size and brought back, it is the
    # same field to a fiftieth of a grey level, for a quarter of the work of a 120 px kernel.
    small = cv2.resize(log, (max(1, w // 4), max(1, h // 4)), interpolation=cv2.INTER_AREA)
    smooth = cv2.resize(cv2.GaussianBlur(small, (0, 0), REFLECTANCE_SIGMA / 4), (w, h),
                        interpolation=cv2.INTER_LINEAR)
    detail = log - smooth
    out: Arr = detail * np.float32(REFLECTANCE_SCALE) + np.float32(128.0)
    return out


def _structure(e0: Arr, e1: Arr) -> Arr:
    """Per tile: correlation of the gradient magnitude, pooled in cells of ~8x8 px. Contrast
    changes scale gradients (correlation stays); something in front replaces them."""
    def grad(eq: Arr) -> Arr:
        smooth = cv2.GaussianBlur(eq, (0, 0), 1.0)
        gx = cv2.Sobel(smooth, cv2.CV_32F, 1, 0)
        gy = cv2.Sobel(smooth, cv2.CV_32F, 0, 1)
        return np.asarray(cv2.magnitude(gx, gy), np.float32)

    return _tile_ncc(grad(e0), grad(e1), STRUCTURE_CELLS)


def _tile_ncc(x: Arr, y: Arr, n: int) -> Arr:
    return _tile_stats(x, y, n)[0]


def _tile_stats(x: Arr, y: Arr, n: int) -> tuple[Arr, Arr, Arr]:
    """Per tile, on an ``n`` x ``n`` sampling of each: the normalized cross-correlation of
    ``x`` and ``y``, and the standard deviation of each."""
    size = (GRID_COLS * n, GRID_ROWS * n)
    a = cv2.resize(x, size, interpolation=cv2.INTER_AREA).astype(np.float32)
    b = cv2.resize(y, size, interpolation=cv2.INTER_AREA).astype(np.float32)
    a = a.reshape(GRID_ROWS, n, GRID_COLS, n).transpose(0, 2, 1, 3).reshape(
        GRID_ROWS, GRID_COLS, n * n)
    b = b.reshape(GRID_ROWS, n, GRID_COLS, n).transpose(0, 2, 1, 3).reshape(
        GRID_ROWS, GRID_COLS, n * n)
    a -= a.mean(axis=2, keepdims=True)
    b -= b.mean(axis=2, keepdims=True)
    sa, sb = np.sqrt((a * a).mean(axis=2)), np.sqrt((b * b).mean(axis=2))
    ncc: Arr = (a * b).mean(axis=2) / np.maximum(sa * sb, 1e-6)
    return ncc, sa, sb


def _changed(e0: Arr, e1: Arr) -> Arr:
    """Per tile: coarse appearance changed (NCC below ``TILE_NCC_MIN``, or flat became
    textured)."""
    ncc, sa, sb = _tile_stats(e0, e1, 8)
    flat_a, flat_b = sa < TILE_FLAT_STD, sb < TILE_FLAT_STD
    changed: Arr = np.where(flat_a & flat_b, False,
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


def sharpness(eq: Arr, mask: Arr | None = None) -> float:
    """Variance of the Laplacian over the image variance: focus, independent of contrast
    (over ``mask``'s non-zero pixels, if given)."""
    lap = cv2.Laplacian(eq, cv2.CV_32F)
    _, lstd = cv2.meanStdDev(lap, mask=mask)
    _, istd = cv2.meanStdDev(eq, mask=mask)
    return float(lstd[0, 0]) ** 2 / max(float(istd[0, 0]) ** 2, 1e-9)


def uncovered_mask(shape: tuple[int, ...], tiles: Sequence[tuple[int, int]]) -> Arr | None:
    """A mask of the frame without the ``tiles`` (column, row) of the grid; None: no tiles,
    or so many that too little would be left to judge focus on."""
    if not tiles or len(tiles) > GRID_COLS * GRID_ROWS // 2:
        return None
    h, w = shape[:2]
    xs = np.linspace(0, w, GRID_COLS + 1).round().astype(int)
    ys = np.linspace(0, h, GRID_ROWS + 1).round().astype(int)
    mask = np.full((h, w), 255, np.uint8)
    for col, row in tiles:
        mask[ys[row]:ys[row + 1], xs[col]:xs[col + 1]] = 0
    return mask
