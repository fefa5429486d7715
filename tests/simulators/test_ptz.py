"""PTZ mechanics with a controlled clock: motion takes time, limits hold."""

from __future__ import annotations

import pytest

from camfleet.model import MoveStatus, PtzVector
from simulators.ptz import PtzError, PtzMechanism
from simulators.spec import CameraSpec, PtzSpec


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def mech(clock: Clock) -> PtzMechanism:
    return PtzMechanism(CameraSpec.example().ptz, clock=clock)


def test_absolute_move_ramps_at_the_axis_speed(mech: PtzMechanism, clock: Clock) -> None:
    start = mech.position()
    mech.absolute_move(PtzVector(pan=60.0, tilt=start.tilt, zoom=0.0))
    assert mech.status()[0] is MoveStatus.MOVING
    clock.now = 0.25  # 120 deg/s
    assert mech.position().pan == pytest.approx(30.0)
    clock.now = 0.5
    assert mech.position().pan == pytest.approx(60.0)
    assert mech.status() == (MoveStatus.IDLE, MoveStatus.IDLE)


def test_speed_fraction_slows_the_move(mech: PtzMechanism, clock: Clock) -> None:
    mech.absolute_move(PtzVector(pan=60.0, tilt=-5.0), speed=PtzVector(pan=0.5, tilt=0.5,
                                                                         zoom=0.5))
    clock.now = 0.5
    assert mech.position().pan == pytest.approx(30.0)


def test_absolute_move_outside_limits_is_refused(mech: PtzMechanism) -> None:
    with pytest.raises(PtzError, match="pan 175 is outside the limits") as caught:
        mech.absolute_move(PtzVector(pan=175.0))
    assert caught.value.subcode == "ter:InvalidPosition"
    assert mech.status()[0] is MoveStatus.IDLE


def test_relative_move_stops_at_the_limit(mech: PtzMechanism, clock: Clock) -> None:
    mech.relative_move(PtzVector(pan=500.0, tilt=-500.0))
    clock.now = 10.0
    assert mech.position().pan == 170.0
    assert mech.position().tilt == -80.0


def test_continuous_move_until_stop_or_timeout(mech: PtzMechanism, clock: Clock) -> None:
    mech.continuous_move(PtzVector(pan=0.5))  # 60 deg/s
    clock.now = 1.0
    assert mech.position().pan == pytest.approx(60.0)
    mech.stop()
    clock.now = 2.0
    assert mech.position().pan == pytest.approx(60.0)
    assert mech.status()[0] is MoveStatus.IDLE

    mech.continuous_move(PtzVector(pan=-1.0), timeout_s=0.5)
    clock.now = 5.0
    assert mech.position().pan == pytest.approx(0.0)  # 120 deg/s for 0.5 s
    assert mech.status()[0] is MoveStatus.IDLE


def test_continuous_move_halts_at_the_limit(mech: PtzMechanism, clock: Clock) -> None:
    mech.continuous_move(PtzVector(pan=1.0))
    clock.now = 100.0
    assert mech.position().pan == 170.0
    assert mech.status()[0] is MoveStatus.IDLE


def test_a_move_ends_exactly_on_its_target_and_reports_idle() -> None:
    """0.3 - 0.24 is 0.06000000000000005 in floating point: the ramp must still arrive."""
    now = [0.0]
    mech = PtzMechanism(PtzSpec(zoom_speed=1.0), clock=lambda: now[0])
    mech.jump_to(PtzVector(pan=0.0, tilt=0.0, zoom=0.3))
    mech.absolute_move(PtzVector(pan=0.0, tilt=0.0, zoom=0.06))
    now[0] = 5.0
    assert mech.position().zoom == 0.06
    assert mech.status() == (MoveStatus.IDLE, MoveStatus.IDLE)
