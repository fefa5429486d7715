"""The simulated world and its pinhole renderer: honest optics, determinism, texture.

Shifts are measured, never assumed: phase correlation of whole frames gives a coarse shift,
then phase correlation of 256x256 crops around the principal point (the second crop taken at
the coarse shift) refines it. Pure rotations are not pure translations away from the image
centre, so only the content at the centre is expected to move by exactly f·tan(θ).
"""

from __future__ import annotations

import hashlib
import math
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from camfleet.model import PtzVector
from simulators.scene import (
    Image,
    Scene,
    panorama,
    render,
    render_state,
    scene_cache_path,
    snapshot_jpeg,
)
from simulators.spec import CameraSpec
from simulators.state import CameraState

SPEC = CameraSpec.example()  # 1280x720, HFOV 60° at zoom 0, 25x zoom, mount heading 90°
F0 = SPEC.optics.focal_px(0.0)  # 1108.5 px


@pytest.fixture
def state() -> CameraState:
    return CameraState(SPEC)


def view(state: CameraState, pan: float, tilt: float, zoom: float = 0.0) -> Image:
    state.ptz.jump_to(PtzVector(pan=pan, tilt=tilt, zoom=zoom))
    return render_state(state)


def gray(frame: Image) -> np.ndarray:
    return cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY).astype(np.float32)


def centre_shift(a: Image, b: Image, half: int = 128) -> tuple[float, float]:
    """How far the content at the centre of ``a`` moved in ``b`` (x right, y down, pixels)."""
    ga, gb = gray(a), gray(b)
    h, w = ga.shape
    # phaseCorrelate(a, b) reports where a's content went in b: (+5, 0) = 5 px to the right.
    (cx, cy), _ = cv2.phaseCorrelate(ga, gb, cv2.createHanningWindow((w, h), cv2.CV_32F))
    ix, iy = round(cx), round(cy)
    y0, x0 = h // 2 - half, w // 2 - half  # the crop is centred on ((w-1)/2, (h-1)/2)
    crop_a = ga[y0:y0 + 2 * half, x0:x0 + 2 * half]
    crop_b = gb[y0 + iy:y0 + iy + 2 * half, x0 + ix:x0 + ix + 2 * half]
    window = cv2.createHanningWindow((2 * half, 2 * half), cv2.CV_32F)
    (rx, ry), _ = cv2.phaseCorrelate(crop_a, crop_b, window)
    return ix + rx, iy + ry


def log_polar(a: np.ndarray, b: np.ndarray, max_r: float = 300.0,
              n_rho: int = 512) -> tuple[float, float]:
    """Scale and rotation (degrees, image coordinates: positive is clockwise on screen) that
    take ``a`` to ``b`` about the principal point, by phase correlation in log-polar space."""
    h, w = a.shape
    centre = ((w - 1) / 2, (h - 1) / 2)
    size, flags = (n_rho, 720), cv2.WARP_POLAR_LOG | cv2.INTER_LINEAR
    la = cv2.warpPolar(a, size, centre, max_r, flags)
    lb = cv2.warpPolar(b, size, centre, max_r, flags)
    (d_rho, d_theta), _ = cv2.phaseCorrelate(la, lb, cv2.createHanningWindow(size, cv2.CV_32F))
    return math.exp(d_rho * math.log(max_r) / n_rho), d_theta * 360.0 / size[1]


def scale_between(a: Image, b: Image) -> float:
    """Scale factor from ``a`` to ``b`` about the principal point.

    One log-polar pass under-reads large scale changes by ~0.4% (the annuli it compares
    hold only partly the same content), so ``a`` is resized by that estimate and the small
    residual is measured again.
    """
    ga, gb = gray(a), gray(b)
    coarse, _ = log_polar(ga, gb)
    h, w = ga.shape
    matrix = cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), 0.0, coarse)
    residual, _ = log_polar(cv2.warpAffine(ga, matrix, (w, h), flags=cv2.INTER_LINEAR), gb)
    return coarse * residual


# -- optics --------------------------------------------------------------------------------------
@pytest.mark.parametrize("pan0", [20.0, -60.0])
@pytest.mark.parametrize("theta", [0.5, 1.0, 2.0, 5.0, -3.0])
def test_panning_moves_the_centre_by_f_tan_theta(state: CameraState, pan0: float,
                                                 theta: float) -> None:
    # Tilt 0: panning (a turn about the vertical) is then a turn about the camera's own
    # vertical axis, and the centre content moves straight sideways by exactly f·tan(θ).
    a = view(state, pan0, 0.0)
    b = view(state, pan0 + theta, 0.0)
    dx, dy = centre_shift(a, b)
    expected = -F0 * math.tan(math.radians(theta))  # panning right moves the content left
    assert math.copysign(1.0, dx) == -math.copysign(1.0, theta)
    assert dx == pytest.approx(expected, abs=1.0)
    assert dy == pytest.approx(0.0, abs=1.0)


@pytest.mark.parametrize("tilt0", [-10.0, -30.0])
@pytest.mark.parametrize("theta", [0.5, 2.0, 5.0])
def test_tilting_up_moves_the_centre_down_by_f_tan_theta(state: CameraState, tilt0: float,
                                                         theta: float) -> None:
    a = view(state, 20.0, tilt0)
    b = view(state, 20.0, tilt0 + theta)
    dx, dy = centre_shift(a, b)
    assert dy > 0  # image y grows downwards
    assert dy == pytest.approx(F0 * math.tan(math.radians(theta)), abs=1.0)
    assert dx == pytest.approx(0.0, abs=1.0)


@pytest.mark.parametrize(("zoom0", "zoom1"), [(0.0, 0.02), (0.1, 0.12), (0.3, 0.32)])
def test_zooming_scales_by_the_focal_length_ratio(state: CameraState, zoom0: float,
                                                  zoom1: float) -> None:
    a = view(state, -60.0, -15.0, zoom0)
    b = view(state, -60.0, -15.0, zoom1)
    expected = SPEC.optics.focal_px(zoom1) / SPEC.optics.focal_px(zoom0)
    # 0.3% is 2 px at the edge of the frame (640 px from the centre). The measurement reads
    # up to ~0.2% low on the 1.48x step: the zoomed frame is resampled afresh from the
    # 16 px/° panorama while the reference is an upsampled copy, so fine detail differs.
    assert scale_between(a, b) == pytest.approx(expected, rel=0.003)


def test_positive_roll_turns_the_picture_counter_clockwise(state: CameraState) -> None:
    a = gray(view(state, 20.0, -10.0))
    state.mount = SPEC.mount.model_copy(update={"roll": 5.0})
    b = gray(render_state(state))
    scale, rotation = log_polar(a, b)
    assert scale == pytest.approx(1.0, abs=0.003)
    assert rotation == pytest.approx(-5.0, abs=0.1)  # negative = counter-clockwise on screen


def test_a_knocked_mount_looks_exactly_like_a_pan(state: CameraState) -> None:
    d = 7.5  # exactly representable: both poses give the same azimuth, bit for bit
    before = view(state, 20.0, 0.0)
    panned = view(state, 20.0 + d, 0.0)
    panned_direction = state.view_direction()
    # Knocked: the unit turned on its bracket; the PTZ still reports the old pan.
    state.mount = SPEC.mount.model_copy(update={"heading": SPEC.mount.heading + d})
    knocked = view(state, 20.0, 0.0)
    assert state.view_direction() == panned_direction
    np.testing.assert_array_equal(knocked, panned)
    dx, _ = centre_shift(before, knocked)
    assert dx == pytest.approx(-F0 * math.tan(math.radians(d)), abs=1.0)


# -- determinism ---------------------------------------------------------------------------------
POSE = (123.0, -12.0, 0.0, 60.0, 640, 360)

_HASH_SNIPPET = """
import hashlib
from simulators.scene import Scene, render
scene = Scene.for_seed({seed})
frame = render(scene, *{pose})
print(hashlib.sha256(scene.pano.tobytes()).hexdigest(), hashlib.sha256(frame.tobytes()).hexdigest())
"""


def test_same_seed_renders_byte_identical_frames_in_a_fresh_process() -> None:
    scene = Scene.for_seed(0)
    here = (hashlib.sha256(scene.pano.tobytes()).hexdigest(),
            hashlib.sha256(render(scene, *POSE).tobytes()).hexdigest())
    # A different hash seed shows nothing depends on hash randomisation; no disk cache, so
    # the fresh process really generates the world (this one may have read it from disk).
    env = {**os.environ, "PYTHONHASHSEED": "4242", "CAMFLEET_SCENE_CACHE": "off"}
    out = subprocess.run([sys.executable, "-c", _HASH_SNIPPET.format(seed=0, pose=POSE)],
                         env=env, capture_output=True, text=True, check=True, timeout=60)
    assert tuple(out.stdout.split()) == here


def test_a_different_seed_is_a_different_world() -> None:
    a = render(Scene.for_seed(0), *POSE).astype(np.int16)
    b = render(Scene.for_seed(1), *POSE).astype(np.int16)
    assert np.abs(a - b).mean() > 10


def test_scene_is_cached_read_only_and_within_budget() -> None:
    scene = Scene.for_seed(0)
    assert Scene.for_seed(0) is scene
    assert not scene.pano.flags.writeable
    assert scene.panorama.shape == (135 * scene.px_per_deg, 360 * scene.px_per_deg, 3)
    assert scene.nbytes <= 60e6


# -- snapshots -----------------------------------------------------------------------------------
def test_snapshot_is_a_jpeg_of_the_spec_size(state: CameraState) -> None:
    data = snapshot_jpeg(state)
    assert data[:2] == b"\xff\xd8"
    frame = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert frame is not None
    assert frame.shape == (SPEC.optics.height, SPEC.optics.width, 3)


def test_effects_post_process_the_rendered_frame(state: CameraState) -> None:
    plain = render_state(state)
    seen: list[Image] = []

    def invert(frame: Image) -> Image:
        seen.append(frame)
        frame[...] = 255 - frame  # effects own the frame they are given
        return frame

    assert np.array_equal(render_state(state, effects=[invert, invert]), plain)
    assert np.array_equal(render_state(state, effects=[invert]), 255 - plain)
    assert seen
    assert all(f.flags.writeable for f in seen)
    data = snapshot_jpeg(state, effects=[invert])
    decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert decoded is not None
    assert np.abs(decoded.astype(np.int16) - (255 - plain)).mean() < 3  # JPEG noise only


# -- texture -------------------------------------------------------------------------------------
@pytest.mark.parametrize(("azimuth", "elevation"),
                         [(0.0, -5.0), (95.0, -5.0), (200.0, 5.0), (290.0, -12.0),
                          (45.0, -30.0), (250.0, -30.0)])
def test_views_have_plenty_of_orb_features_spread_over_the_frame(azimuth: float,
                                                                  elevation: float) -> None:
    frame = render(Scene.for_seed(0), azimuth, elevation, 0.0, 60.0, 1280, 720)
    keypoints = cv2.ORB.create(1000).detect(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), None)
    assert len(keypoints) >= 500
    # Spread: keypoints in most cells of a 4x4 grid (the sky may leave a top row empty).
    cells = {(int(k.pt[0] * 4 / 1280), int(k.pt[1] * 4 / 720)) for k in keypoints}
    assert len(cells) >= 10


def test_scenes_are_kept_on_disk_and_read_back_identical(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAMFLEET_SCENE_CACHE", str(tmp_path))
    panorama._scene_for.cache_clear()
    try:
        built = Scene.for_seed(5, px_per_deg=4)
        path = scene_cache_path(5, 4)
        assert path is not None
        assert path.parent == tmp_path
        assert path.is_file()
        panorama._scene_for.cache_clear()
        loaded = Scene.for_seed(5, px_per_deg=4)  # another process would do the same
        assert loaded.pano is not built.pano
        assert np.array_equal(loaded.pano, built.pano)
        assert not loaded.pano.flags.writeable

        path.write_bytes(b"not a scene")  # a torn or foreign file: generated again
        panorama._scene_for.cache_clear()
        assert np.array_equal(Scene.for_seed(5, px_per_deg=4).pano, built.pano)
        assert np.load(path).shape == built.pano.shape  # and replaced

        monkeypatch.setenv("CAMFLEET_SCENE_CACHE", "off")
        assert scene_cache_path(5, 4) is None
    finally:
        panorama._scene_for.cache_clear()
