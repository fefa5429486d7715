"""Image effects: obstructions and blur are faults; photometric changes keep the geometry.

Frames are real renders of scene 0 at 640x360. "Edge density" is the fraction of Canny
(50, 150) edge pixels, the measure an obstruction detector compares per tile with a baseline.
Shifts are measured by phase correlation of whole (Hann-windowed) greyscale frames.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import cv2
import numpy as np
import pytest

from simulators import effects
from simulators.effects import (
    Region,
    blur,
    brightness,
    gamma,
    haze,
    ir_greyscale,
    jpeg_quality,
    noise,
    obstruction,
)
from simulators.scene import Image, ImageEffect, Scene, render

W, H = 640, 360
POSE = (123.0, -12.0)  # buildings, shop fronts and paving: a textured view
CORNER: Region = (0.0, 0.0, 0.45, 0.6)  # a branch hanging in from the top left
MIDDLE: Region = (0.3, 0.25, 0.7, 0.75)  # all four sides inside the frame
KINDS = ["foliage", "billboard"]


def frame(azimuth: float = POSE[0], elevation: float = POSE[1],
          effects: Sequence[ImageEffect] = ()) -> Image:
    return render(Scene.for_seed(0), azimuth, elevation, 0.0, 60.0, W, H, effects=effects)


def gray(image: Image) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


def pixels(region: Region) -> tuple[slice, slice]:
    """Row and column slices of ``region`` in a W x H frame (as the effect rounds them)."""
    x0, y0, x1, y1 = region
    return slice(round(y0 * H), round(y1 * H)), slice(round(x0 * W), round(x1 * W))


def edge_density(image: Image, region: Region) -> float:
    edges = cv2.Canny(gray(image), 50, 150)
    return float((edges[pixels(region)] > 0).mean())


def opaque(effect: ImageEffect) -> np.ndarray:
    """Where ``effect`` hides the input completely: its output there is the same for an all
    black and an all white frame."""
    black = effect(np.zeros((H, W, 3), np.uint8))
    white = effect(np.full((H, W, 3), 255, np.uint8))
    same: np.ndarray = (black == white).all(axis=2)
    return same


def shift(a: Image, b: Image) -> tuple[float, float, float]:
    """(dx, dy, response) of phase correlation from ``a`` to ``b``."""
    window = cv2.createHanningWindow((W, H), cv2.CV_32F)
    (dx, dy), response = cv2.phaseCorrelate(gray(a).astype(np.float32),
                                            gray(b).astype(np.float32), window)
    return dx, dy, response


# -- obstruction ---------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("region", [CORNER, MIDDLE])
def test_obstruction_changes_only_its_region(kind: effects.ObstructionKind,
                                             region: Region) -> None:
    plain = frame()
    hidden = frame(effects=[obstruction(region, kind)])
    inside = np.zeros((H, W), bool)
    inside[pixels(region)] = True
    np.testing.assert_array_equal(hidden[~inside], plain[~inside])
    assert np.abs(hidden[inside].astype(np.int16) - plain[inside]).mean() > 30


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("region", [CORNER, MIDDLE])
@pytest.mark.parametrize("pose", [POSE, (45.0, -30.0), (290.0, -12.0)])
def test_obstruction_halves_the_edge_density_of_its_region(
        kind: effects.ObstructionKind, region: Region, pose: tuple[float, float]) -> None:
    before = edge_density(frame(*pose), region)
    after = edge_density(frame(*pose, effects=[obstruction(region, kind)]), region)
    assert before > 0.03  # the view is textured there: there is something to lose
    assert after < 0.5 * before


def test_foliage_and_billboard_look_different() -> None:
    rows, cols = pixels(CORNER)
    bush = frame(effects=[obstruction(CORNER, "foliage")])[rows, cols].astype(np.float32)
    panel = frame(effects=[obstruction(CORNER, "billboard")])[rows, cols].astype(np.float32)
    assert np.abs(bush - panel).mean() > 30
    # Foliage: dark green, and partly see-through (the billboard is opaque throughout).
    b, g, r = bush.reshape(-1, 3).mean(axis=0)
    assert g > 1.3 * max(b, r)
    assert gray(bush.astype(np.uint8)).mean() < 100
    see_through = ~opaque(obstruction(CORNER, "foliage"))[rows, cols]
    assert 0.03 < see_through.mean() < 0.4
    assert opaque(obstruction(CORNER, "billboard"))[rows, cols].all()
    # Billboard: large flat colour areas; the bush blurs less evenly, and shows the street.
    def flat(patch: np.ndarray) -> float:
        g8 = gray(patch.astype(np.uint8)).astype(np.float32)
        grad = np.abs(cv2.Sobel(g8, cv2.CV_32F, 1, 0)) + np.abs(cv2.Sobel(g8, cv2.CV_32F, 0, 1))
        return float((grad < 8).mean())

    assert flat(panel) > 0.6
    assert flat(panel) > flat(bush) + 0.2


def test_foliage_covers_right_up_to_the_frame_edges_it_lies_on() -> None:
    covered = opaque(obstruction(CORNER, "foliage"))
    rows, cols = pixels(CORNER)
    # Top and left sides are the frame's edges: leaves run out of the picture there. The inner
    # sides fade out, so the bush has no straight outline.
    assert covered[0, : cols.stop // 2].mean() > 0.8
    assert covered[: rows.stop // 2, 0].mean() > 0.8
    assert not covered[rows.stop - 1, cols].any()
    assert not covered[rows, cols.stop - 1].any()


@pytest.mark.parametrize("kind", KINDS)
def test_obstruction_stays_put_in_the_image_when_the_camera_pans(
        kind: effects.ObstructionKind) -> None:
    effect = obstruction(MIDDLE, kind)
    a = frame(POSE[0], POSE[1], effects=[effect])
    b = frame(POSE[0] + 10.0, POSE[1], effects=[effect])
    covered = opaque(effect)
    assert covered.mean() > 0.5 * 0.4 * 0.5  # most of the region (0.4 x 0.5 of the frame)
    np.testing.assert_array_equal(a[covered], b[covered])
    # ... while the street behind it did move.
    assert np.abs(a[~covered].astype(np.int16) - b[~covered]).mean() > 10


def test_obstruction_is_deterministic_and_seeded() -> None:
    plain = frame()
    first = obstruction(MIDDLE, "foliage", seed=5)(plain.copy())
    effects._obstruction_layer.cache_clear()  # rebuild the texture from scratch
    again = obstruction(MIDDLE, "foliage", seed=5)(plain.copy())
    np.testing.assert_array_equal(first, again)
    other = obstruction(MIDDLE, "foliage", seed=6)(plain.copy())
    region = pixels(MIDDLE)
    assert np.abs(first[region].astype(np.int16) - other[region]).mean() > 5


def test_obstruction_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="region"):
        obstruction((0.5, 0.0, 0.4, 1.0), "foliage")
    with pytest.raises(ValueError, match="region"):
        obstruction((0.0, 0.0, 1.2, 1.0), "billboard")
    with pytest.raises(ValueError, match="kind"):
        obstruction((0.0, 0.0, 0.5, 0.5), "pipe")  # type: ignore[arg-type]


# -- blur and haze -------------------------------------------------------------------------------
def laplacian_variance(image: Image) -> float:
    return float(cv2.Laplacian(gray(image), cv2.CV_64F).var())


def test_blur_wipes_out_fine_detail() -> None:
    plain = frame()
    sharpness = [laplacian_variance(blur(s)(plain.copy())) for s in (0.0, 1.0, 3.0, 8.0)]
    assert sharpness[0] == laplacian_variance(plain)
    assert sharpness[2] < 0.2 * sharpness[0]
    assert sharpness == sorted(sharpness, reverse=True)


@pytest.mark.parametrize("sigma", [2.0, 3.0, 5.0, 11.0])
def test_large_blurs_match_an_exact_gaussian(sigma: float) -> None:
    # Sigma >= 2 is blurred at reduced size; it must still be a centred Gaussian of sigma.
    plain = frame()
    exact = np.asarray(cv2.GaussianBlur(plain, (0, 0), sigma), np.uint8)
    fast = blur(sigma)(plain.copy())
    assert fast.shape == plain.shape
    assert np.abs(fast.astype(np.int16) - exact).mean() < 0.5
    # Phase correlation of frames this smooth is good to ~0.1 px; a half-pixel slip of the
    # shrink-and-grow would read as 0.5.
    dx, dy, _ = shift(exact, fast)
    assert abs(dx) < 0.15
    assert abs(dy) < 0.15


def test_blur_keeps_odd_frame_sizes() -> None:
    # Sizes the shrink factor does not divide are padded, not stretched.
    plain = np.ascontiguousarray(frame()[:357, :637])
    fast = blur(7.0)(plain.copy())
    assert fast.shape == plain.shape
    exact = cv2.GaussianBlur(plain, (0, 0), 7.0)
    assert np.abs(fast.astype(np.int16) - exact).mean() < 0.5


def test_factories_reject_bad_parameters() -> None:
    makers: list[Callable[[], ImageEffect]] = [
        lambda: blur(-1.0), lambda: haze(1.5), lambda: gamma(0.0), lambda: noise(-2.0),
        lambda: noise(2.0, seed=-1), lambda: jpeg_quality(0), lambda: ir_greyscale(gain=0.0)]
    for make in makers:
        with pytest.raises(ValueError, match=r"must|need"):
            make()


def test_haze_lowers_contrast_and_lifts_the_veil() -> None:
    plain = frame()
    hazy = haze(0.5)(plain.copy())
    assert gray(hazy).std() == pytest.approx(0.5 * gray(plain).std(), rel=0.05)
    assert gray(hazy).mean() > gray(plain).mean() + 20
    dx, dy, response = shift(plain, hazy)
    assert abs(dx) < 0.1
    assert abs(dy) < 0.1
    assert response > 0.8


# -- photometric changes: not faults -------------------------------------------------------------
HARMLESS = {
    "gamma 0.6": gamma(0.6),
    "gamma 1.8": gamma(1.8),
    "brightness +30": brightness(30),
    "brightness -40": brightness(-40),
    "noise 8": noise(8.0, seed=1),
    "night IR": ir_greyscale(),
    "JPEG q30": jpeg_quality(30),
}


@pytest.mark.parametrize("name", list(HARMLESS))
@pytest.mark.parametrize("pose", [POSE, (45.0, -30.0)])
def test_photometric_changes_keep_the_geometry(name: str, pose: tuple[float, float]) -> None:
    plain = frame(*pose)
    changed = HARMLESS[name](plain.copy())
    assert changed.shape == plain.shape
    assert changed.dtype == np.uint8
    dx, dy, response = shift(plain, changed)
    assert abs(dx) < 0.1
    assert abs(dy) < 0.1
    assert response > 0.8
    # The measure is not blind: a real 4 px shift reads as one.
    moved = np.roll(plain, 4, axis=1)
    assert shift(plain, moved)[0] == pytest.approx(4.0, abs=0.1)


def test_gamma_and_brightness_are_tone_curves() -> None:
    plain = frame()
    v = plain.astype(np.float64)
    lifted, darker = gamma(0.6)(plain.copy()), gamma(1.8)(plain.copy())
    np.testing.assert_array_equal(lifted, np.rint(255 * (v / 255) ** 0.6).astype(np.uint8))
    assert darker.mean() < plain.mean() < lifted.mean()
    np.testing.assert_array_equal(brightness(30)(plain.copy()), np.clip(v + 30, 0, 255))
    np.testing.assert_array_equal(brightness(-40)(plain.copy()), np.clip(v - 40, 0, 255))


def test_noise_is_zero_mean_gaussian_of_sigma_and_seeded() -> None:
    plain = frame()
    noisy = noise(8.0, seed=3)(plain.copy())
    diff = noisy.astype(np.float64) - plain
    unclipped = (plain > 40) & (plain < 215)
    assert diff[unclipped].mean() == pytest.approx(0.0, abs=0.1)
    assert diff[unclipped].std() == pytest.approx(8.0, rel=0.05)
    np.testing.assert_array_equal(noise(8.0, seed=3)(plain.copy()), noisy)
    assert not np.array_equal(noise(8.0, seed=4)(plain.copy()), noisy)
    np.testing.assert_array_equal(noise(0.0)(plain.copy()), plain)


def test_ir_mode_is_grey_brighter_and_noisier() -> None:
    plain = frame()
    night = ir_greyscale(gain=1.2, noise_sigma=4.0, seed=0)(plain.copy())
    assert (night[..., 0] == night[..., 1]).all()
    assert (night[..., 1] == night[..., 2]).all()
    grey = gray(plain).astype(np.float64)
    residual = night[..., 0] - np.clip(np.rint(1.2 * grey), 0, 255)
    unclipped = (grey > 20) & (grey < 180)
    assert residual[unclipped].std() == pytest.approx(4.0, rel=0.1)
    assert night.mean() > 1.1 * grey.mean()
    np.testing.assert_array_equal(ir_greyscale(seed=0)(plain.copy()), night)


def test_jpeg_round_trip_loses_more_at_lower_quality() -> None:
    plain = frame()
    error = {q: np.abs(jpeg_quality(q)(plain.copy()).astype(np.int16) - plain).mean()
             for q in (95, 60, 20)}
    assert 0 < error[95] < error[60] < error[20] < 8
    np.testing.assert_array_equal(jpeg_quality(60)(plain.copy()), jpeg_quality(60)(plain.copy()))
