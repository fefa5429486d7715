"""The living world: a clock, the sun, night IR, weather, traffic, a bus at the lens; set in
the spec, the fleet file and the control API, and told by ``truth``."""

from __future__ import annotations

import dataclasses
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from camfleet.targets import TargetsFile
from simulators.fleet.fleet import Fleet
from simulators.fleet.generate import load_fleet_file
from simulators.scene import Scene, render
from simulators.scene.living import conditions_at, living_effects, sun_position
from simulators.spec import LivingWorld
from tests.conftest import free_udp_port

POSE = (120.0, -12.0, 0.0, 60.0)


def _frame(world: LivingWorld, elapsed_s: float = 0.0, pose: tuple[float, ...] = POSE,
           ) -> np.ndarray:
    c = conditions_at(world, elapsed_s, seed=3)
    az, el, roll, hfov = pose
    return render(Scene.for_seed(3), az, el, roll, hfov, 640, 360,
                  effects=living_effects(c, (az, el, roll, hfov)))


def _world(**changes: object) -> LivingWorld:
    return LivingWorld.model_validate({"enabled": True, "speed": 0.0, "traffic": 0.0,
                                       **changes})


def test_the_clock_runs_at_its_speed_and_the_sun_follows() -> None:
    fast = _world(start_hour=6.0, speed=1440.0)  # a day in a minute
    assert conditions_at(fast, 15.0, seed=0).hour == pytest.approx(12.0)
    assert conditions_at(fast, 60.0, seed=0).hour == pytest.approx(6.0)
    # Wuhan, midsummer: the sun high in the south at noon, below the horizon at midnight.
    _az, el = sun_position(12.0, 172, 30.6)
    assert el == pytest.approx(90 - 30.6 + 23.44, abs=0.1)
    assert sun_position(0.0, 172, 30.6)[1] < -30
    assert 60 < sun_position(7.0, 172, 30.6)[0] < 110  # morning: east


def test_night_is_grey_ir_and_day_is_colour() -> None:
    day, night = _frame(_world(start_hour=12.0)), _frame(_world(start_hour=23.0))
    assert conditions_at(_world(start_hour=23.0), 0, seed=3).ir
    b, g, r = (night[..., k].astype(int) for k in range(3))
    assert np.abs(b - g).max() == 0
    assert np.abs(g - r).max() == 0
    assert np.abs(day[..., 0].astype(int) - day[..., 2]).mean() > 5
    dark = _frame(_world(start_hour=23.0, ir=False))
    assert dark.mean() < 12  # night without IR: nothing to see


def test_the_trees_turn_in_autumn_and_are_bare_in_winter() -> None:
    """Only the crowns change with the season (the sun's path changes too, so the frames
    are drawn with the seasons' foliage under one sun); the truth says which season it is."""
    def leaves(day: int) -> np.ndarray:
        c = conditions_at(_world(day_of_year=day, start_hour=12.0), 0, seed=3)
        summer = conditions_at(_world(start_hour=12.0), 0, seed=3)
        same_sun = dataclasses.replace(summer, season=c.season, turned=c.turned, bare=c.bare)
        return render(Scene.for_seed(3), *POSE, 640, 360, effects=living_effects(same_sun, POSE))

    assert [conditions_at(_world(day_of_year=d), 0, seed=3).truth()["season"]
            for d in (172, 300, 20, 95)] == ["summer", "autumn", "winter", "spring"]
    # South of the equator the seasons swap.
    assert conditions_at(_world(day_of_year=20, latitude=-34.0), 0, seed=3).season == "summer"
    summer, autumn, winter = leaves(172), leaves(330), leaves(20)
    drawn = render(Scene.for_seed(3), *POSE, 640, 360).astype(int)  # the panorama's colours
    crowns = (drawn[..., 1] > drawn[..., 2] + 8) & (drawn[..., 1] > drawn[..., 0] + 8)
    assert crowns.mean() > 0.01, "this view shows no tree"
    changed = np.abs(autumn.astype(int) - summer).sum(axis=2) > 0
    assert changed[crowns].mean() > 0.9
    assert not changed[~crowns].any()  # nothing but the leaves
    _, ag, ar = (autumn[..., k][crowns].astype(int) for k in range(3))
    assert (ar > ag).mean() > 0.9  # yellow to brown: red above green
    _, sg, sr = (summer[..., k][crowns].astype(int) for k in range(3))
    _, wg, wr = (winter[..., k][crowns].astype(int) for k in range(3))
    assert np.mean(np.abs(wg - wr)) < np.mean(np.abs(sg - sr))  # grey twigs, not green


def test_fog_takes_contrast_and_rain_changes_every_frame() -> None:
    clear, fog = _frame(_world(start_hour=10.0)), _frame(
        _world(start_hour=10.0, weather="fog", intensity=1.0))
    assert fog.std() < 0.2 * clear.std()
    rain = _world(start_hour=10.0, weather="rain", intensity=0.8, speed=1.0)
    assert np.abs(_frame(rain, 0.0).astype(int) - _frame(rain, 1.0)).mean() > 0.5


def test_traffic_moves_with_the_clock_and_a_bus_covers_the_lower_frame() -> None:
    busy = _world(start_hour=8.0, traffic=1.0, speed=10.0)
    first, later = (conditions_at(busy, t, seed=3).movers for t in (0.0, 5.0))
    assert len(first) >= 10
    assert [m.azimuth for m in first] != [m.azimuth for m in later]
    clear = _frame(_world(start_hour=14.0))
    bus = _frame(_world(start_hour=14.0, bus_minutes_per_hour=10.0))
    changed = np.abs(clear.astype(int) - bus).max(axis=2) > 20
    assert changed[220:, :].mean() > 0.6
    assert changed[:180, :].mean() < 0.05
    gone = _frame(_world(start_hour=14.25, bus_minutes_per_hour=10.0))  # minute 15
    assert np.array_equal(gone, _frame(_world(start_hour=14.25)))


def test_shadows_move_with_the_sun_on_the_ground() -> None:
    unlit = render(Scene.for_seed(3), POSE[0], POSE[1], POSE[2], POSE[3], 640, 360)
    ratios = []
    for hour in (10.0, 15.0):
        lit = _frame(_world(start_hour=hour))  # shadows: where lit/unlit falls
        ratio = lit.mean(axis=2) / np.maximum(unlit.mean(axis=2), 1.0)
        ratios.append(ratio / np.median(ratio))
    ground = slice(200, 360)
    shaded = [(r[ground] < 0.8).mean() for r in ratios]
    assert all(s > 0.02 for s in shaded)  # there are shadows on the ground
    moved = np.abs((ratios[0] < 0.8)[ground].astype(int) - (ratios[1] < 0.8)[ground]).mean()
    assert moved > 0.02  # and they moved between 10:00 and 15:00


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    fleet_file = tmp_path_factory.mktemp("living") / "fleet.yaml"
    fleet_file.write_text("""
defaults:
  world: {enabled: true, start_hour: 23.0, speed: 0.0}
cameras:
  - id: corner
    seed: 2
""")
    with Fleet(load_fleet_file(fleet_file), discovery_port=free_udp_port()) as running:
        yield running


def _snapshot(manifest: TargetsFile) -> np.ndarray:
    import asyncio  # noqa: PLC0415

    from devmgr.compliance.commission import capture_for  # noqa: PLC0415
    from devmgr.inventory.parallel import sweep_with_snmp  # noqa: PLC0415
    from devmgr.onvif.session import DEFAULT_TIMEOUTS, OnvifPool  # noqa: PLC0415

    target = manifest.targets[0]

    async def take() -> bytes:
        inv = (await sweep_with_snmp([target], concurrency=1, timeouts=DEFAULT_TIMEOUTS,
                                     snmp=False, progress=None))[0]
        async with OnvifPool() as pool:
            capture = await capture_for(pool, target, inv, move=False)
        return capture.views[0].jpeg

    jpeg = asyncio.run(take())
    return np.asarray(cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR))


def test_the_world_is_set_in_the_fleet_file_and_the_control_api(fleet: Fleet) -> None:
    manifest = fleet.manifest()
    truth = fleet.truth("corner")
    assert truth["world"]["start_hour"] == 23.0
    assert truth["conditions"]["phase"] == "night"
    assert truth["conditions"]["ir"]
    night = _snapshot(manifest)
    assert np.abs(night[..., 0].astype(int) - night[..., 2]).max() <= 8  # grey (JPEG)
    assert manifest.fleet is not None
    request = urllib.request.Request(
        f"{manifest.fleet.control_url}/cameras/corner/world", method="PUT",
        data=b'{"start_hour": 12.0, "weather": "rain"}',
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as reply:
        assert reply.status == 200
    truth = fleet.truth("corner")
    assert (truth["conditions"]["phase"], truth["conditions"]["weather"]) == ("day", "rain")
    day = _snapshot(manifest)
    assert np.abs(day[..., 0].astype(int) - day[..., 2]).mean() > 3  # colour again


def test_a_bad_world_is_refused_with_the_field(fleet: Fleet) -> None:
    from simulators.fleet.errors import FleetError  # noqa: PLC0415

    with pytest.raises(FleetError, match="speed"):
        fleet.set_world("corner", {"speed": -1})


def test_spec_world_defaults_to_the_frozen_world(tmp_path: Path) -> None:
    from simulators.spec import CameraSpec  # noqa: PLC0415

    assert CameraSpec.example().world.enabled is False
