"""Scene fingerprints (devmgr.vision): a view's own scene is found in every light and weather,
another place's is not, and a fingerprint that is not ours is no fingerprint."""

from __future__ import annotations

import base64

import numpy as np
import pytest

from devmgr.vision import SCENE_ELSEWHERE_MAX, SCENE_SHOWN_MIN, scene_fingerprint, scene_match
from simulators.scene import Image, Scene, render
from simulators.scene.living import conditions_at, living_effects
from simulators.spec import LivingWorld

W, H, HFOV = 960, 540, 60.0
EL = -8.0
#: (hour, weather, intensity, traffic)
Moment = tuple[float, str, float, float]
NOON: Moment = (12.0, "clear", 0.0, 0.0)
#: The moments a healthy camera lives through.
MOMENTS: list[Moment] = [
    (8.0, "clear", 0.0, 0.8), (17.5, "clear", 0.0, 0.5), (23.0, "clear", 0.0, 0.3),
    (3.0, "rain", 0.7, 0.2), (12.0, "fog", 0.9, 0.3), (12.0, "snow", 0.7, 0.3)]


def view(seed: int, az: float, moment: Moment = NOON) -> Image:
    hour, weather, intensity, traffic = moment
    world = LivingWorld.model_validate({"enabled": True, "start_hour": hour, "speed": 0.0,
                                        "weather": weather, "intensity": intensity,
                                        "traffic": traffic})
    effects = living_effects(conditions_at(world, 0.0, seed), (az, EL, 0.0, HFOV))
    return render(Scene.for_seed(seed), az, EL, 0.0, HFOV, W, H, effects=effects)


@pytest.mark.parametrize("seed", [1, 4])
def test_the_scene_in_place_is_found_at_every_moment(seed: int) -> None:
    print_ = scene_fingerprint(view(seed, 70.0))
    found = {moment: scene_match(print_, view(seed, 70.0, moment)) for moment in MOMENTS}
    assert all(share is not None and share >= SCENE_SHOWN_MIN for share in found.values()), found


@pytest.mark.parametrize("seed", [1, 4])
def test_another_place_is_not_found(seed: int) -> None:
    print_ = scene_fingerprint(view(seed, 70.0))
    elsewhere = [view(other, 70.0) for other in range(10, 16)] + \
        [view(seed, az) for az in (160.0, 250.0, 340.0)]
    found = [scene_match(print_, picture) for picture in elsewhere]
    assert all(share is not None and share <= SCENE_ELSEWHERE_MAX for share in found), found


def test_a_plain_view_has_no_fingerprint_and_a_foreign_one_is_none() -> None:
    assert scene_fingerprint(np.full((360, 640), 128, np.uint8)) == ""
    picture = view(1, 70.0)
    real = scene_fingerprint(picture)
    record = base64.b64decode(real.removeprefix("orb1:"))
    for foreign in ("", "sha256:abc", "orb1:%%%", "orb1:" + base64.b64encode(b"x" * 35).decode(),
                    "orb1:" + base64.b64encode(record * 5).decode()):
        assert scene_match(foreign, picture) is None, foreign[:20]
    with pytest.raises(ValueError, match="decodable"):
        scene_match(real, b"\xff\xd8 not a picture")
