"""The view comparison on real photographs (scikit-image's sample data), so that its limits
are not tuned to the procedural street alone: a turn is measured in degrees, lighting and
sensor changes raise nothing, a panel in front is an obstruction, defocus is blur."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
from skimage import data

from devmgr.vision import compare_views
from simulators import effects as fx

HFOV = 40.0
W, H = 480, 300


def _photo(name: str) -> np.ndarray:
    rgb = getattr(data, name)()
    bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    return np.asarray(cv2.resize(bgr, (W + 80, H + 60), interpolation=cv2.INTER_AREA))


def _view(photo: np.ndarray, dx: int = 0, dy: int = 0) -> np.ndarray:
    """A W x H window of the photo, moved by (dx, dy) pixels (content moves the other way)."""
    x0, y0 = 40 + dx, 30 + dy
    return np.ascontiguousarray(photo[y0:y0 + H, x0:x0 + W])


PHOTOS = ["astronaut", "coffee", "chelsea", "rocket"]


@pytest.mark.parametrize("name", PHOTOS)
def test_a_shift_is_measured_in_degrees(name: str) -> None:
    photo = _photo(name)
    f = (W / 2) / math.tan(math.radians(HFOV / 2))
    r = compare_views(_view(photo), _view(photo, dx=12), HFOV)
    assert "turned" in r.verdicts, r
    # A window moved right by 12 px is a turn right of about atan(12 / f).
    assert r.pan_deg == pytest.approx(math.degrees(math.atan(12 / f)), abs=0.05)
    assert abs(r.tilt_deg) < 0.05


def _shadow(frame: np.ndarray) -> np.ndarray:
    """A soft shadow over the left half, as a cloud or a building casts."""
    ramp = np.clip((np.arange(frame.shape[1]) - W * 0.4) / (W * 0.2), 0, 1) * 0.45 + 0.55
    return np.asarray(np.clip(frame * ramp[None, :, None], 0, 255), np.uint8)


CONDITIONS = {
    "gamma": fx.gamma(0.7), "darker": fx.brightness(-35), "noise": fx.noise(6.0, seed=2),
    "ir": fx.ir_greyscale(seed=1), "jpeg": fx.jpeg_quality(40), "shadow": _shadow,
}


@pytest.mark.parametrize("condition", list(CONDITIONS))
@pytest.mark.parametrize("name", PHOTOS)
def test_lighting_and_sensor_changes_raise_nothing(name: str, condition: str) -> None:
    photo = _photo(name)
    now = CONDITIONS[condition](_view(photo).copy())
    r = compare_views(_view(photo), now, HFOV)
    assert r.verdicts == {"ok"}, (condition, r)


@pytest.mark.parametrize("name", PHOTOS)
def test_a_panel_in_front_is_an_obstruction_and_defocus_is_blur(name: str) -> None:
    photo = _photo(name)
    panel = fx.obstruction((0.0, 0.45, 0.5, 1.0), "billboard", seed=4)(_view(photo).copy())
    r = compare_views(_view(photo), panel, HFOV)
    assert "obstructed" in r.verdicts, r
    assert r.where.startswith("lower left") or r.where == "left"
    soft = compare_views(_view(photo), fx.blur(4.0)(_view(photo).copy()), HFOV)
    assert "blurred" in soft.verdicts, soft
