"""The acceptance suite's PTZ driver waits as devmgr does: a lazy head is not taken for arrived,
and a head that never settles fails the camera (not an ERROR).

Both paths, devmgr's actions and hil's ``PtzDriver``, are driven through the same scripted
head, which says IDLE at its old position for 0.3 s after a command."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest

from camfleet.errors import ErrorKind
from camfleet.model import PtzVector
from camfleet.protocols.ptz_spaces import PT_POSITION_GENERIC, Z_POSITION_GENERIC
from camfleet.targets import OnvifCredentials, Target
from devmgr.inventory.model import DeviceInfo, Inventory, MediaProfile, PtzInventory, PtzSpace
from devmgr.onvif import ptz as actions
from devmgr.onvif.errors import PtzNotSettled
from hil.camera import Camera, Harness
from hil.errors import DeviceFault
from hil.ptz import HeadBusy, PtzDriver
from hil.settings import HilSettings
from hil.suite.test_ptz_presets_home import restore_home
from tests.heads import LazyHead, RunawayHead, ScriptedHead, StuckHead

TARGET = PtzVector(pan=LazyHead.TARGET)


def _facts(target: Target) -> Inventory:
    return Inventory(
        target_id=target.id, address=target.address, collected_at=datetime.now(UTC),
        device=DeviceInfo(manufacturer="Scripted", model="Head", firmware="1", serial="S1"),
        profiles=(MediaProfile(token="P", name="main", ptz_configuration="C"),),
        ptz=PtzInventory(node="N", configuration="C", home_supported=True, max_presets=8,
                         spaces=(PtzSpace(uri=PT_POSITION_GENERIC),
                                 PtzSpace(uri=Z_POSITION_GENERIC))))


def _driver(head: ScriptedHead) -> Iterator[PtzDriver]:
    harness = Harness(HilSettings(), transport=head)
    target = Target(id="head", address="192.0.2.10",
                    onvif=OnvifCredentials(username="admin", password="secret"))
    camera = Camera(harness, target, facts=_facts(target), capabilities=frozenset({"ptz"}))
    try:
        yield PtzDriver(camera)
    finally:
        harness.close()


@pytest.fixture
def head() -> LazyHead:
    return LazyHead()


@pytest.fixture
def driver(head: LazyHead) -> Iterator[PtzDriver]:
    yield from _driver(head)


#: Each way of sending the head to its preset or home and waiting: where it says it arrived.
PATHS: dict[str, Callable[[PtzDriver], PtzVector | None]] = {
    "devmgr-goto_preset": lambda d: d.camera.harness.run(
        actions.goto_preset(d.camera.session, d.profile, "1", TARGET)).position,
    "devmgr-goto_home": lambda d: d.camera.harness.run(
        actions.goto_home(d.camera.session, d.profile)).position,
    "hil-goto_preset": lambda d: d.goto_preset("1", TARGET)[1],
    "hil-goto_home": lambda d: d.goto_home()[1],
}


@pytest.mark.parametrize("path", PATHS)
def test_a_lazy_head_is_found_at_its_target(path: str, head: LazyHead,
                                            driver: PtzDriver) -> None:
    """IDLE at the old position right after the command is not arrival: every path waits
    until the head has moved and come to rest at its target."""
    began = time.monotonic()
    reached = PATHS[path](driver)
    assert reached == TARGET, f"{path}: reported arrival at {reached}, the head went to {TARGET}"
    assert time.monotonic() - began >= 0.5  # the head's own travel: 0.3 s idle, 0.2 s moving
    assert head.commands[0] in ("GotoPreset", "GotoHomePosition")


def test_the_settle_time_runs_to_the_poll_that_found_the_head_at_rest(
        head: LazyHead, driver: PtzDriver) -> None:
    began = time.monotonic()
    settle_s, reached = driver.goto_preset("1", TARGET)
    assert reached == TARGET
    assert 0.5 <= settle_s <= time.monotonic() - began
    # It ends at the poll that found the head at rest at its target (the second in a row:
    # rest is a position that holds), not at a timeout, and not at the lazy head's early IDLE
    # at the old position.
    at_rest = [when for when, pan, state in head.polls
               if state == "IDLE" and pan == LazyHead.TARGET]
    assert len(at_rest) == 2
    assert at_rest[-1] == head.polls[-1][0]
    assert began + settle_s >= at_rest[-1]


def test_a_head_that_never_settles_is_the_cameras_fault_on_both_paths() -> None:
    """devmgr classifies it as a device error (PROTOCOL), hil fails the camera (DeviceFault):
    not a timeout of ours, which would make the camera untestable instead of rejected."""
    for driver in _driver(RunawayHead()):
        with pytest.raises(PtzNotSettled) as caught:
            driver.camera.harness.run(actions.wait_settled(
                driver.camera.session, driver.profile, timeout_s=0.3, interval_s=0.02))
        assert caught.value.kind is ErrorKind.PROTOCOL
        with pytest.raises(DeviceFault, match=r"did not settle within 0\.3 s"):
            driver.settle(time.monotonic(), timeout_s=0.3)
        assert driver.camera.latch is None


def test_a_busy_head_is_left_alone() -> None:
    """A head on patrol (MOVING, never at rest) is not stopped to test it: the start is read
    without a command, and the test gives up instead."""
    head = RunawayHead()
    for driver in _driver(head):
        with pytest.raises(HeadBusy, match=r"did not come to rest within 0\.3 s"):
            driver.at_rest(wait_s=0.3)
    assert head.commands == []  # no Stop, no move


def test_home_is_set_again_only_once_the_head_is_back_there() -> None:
    """PTZ-5-1-1 restores the old home by moving there and SetHomePosition; when the move
    fails, home is not set at the wrong place, and the failure names the old home loudly."""
    head = StuckHead()
    home = PtzVector(pan=0.5, tilt=-0.25, zoom=0.0)
    for driver in _driver(head):
        with pytest.raises(DeviceFault, match=r"HOME POSITION NOT RESTORED.*pan 0\.5000, "
                                              r"tilt -0\.2500"):
            restore_home(driver, home, "PTZ-5-1-1")
    assert head.commands == ["AbsoluteMove"] * 3
    assert "SetHomePosition" not in head.commands
