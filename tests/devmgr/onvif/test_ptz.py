"""PTZ waiting (devmgr.onvif.ptz): a head slow to start is not taken for arrived, a head at its
target is not kept waiting, a head that never settles is the camera's fault."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from camfleet.errors import ErrorKind
from camfleet.model import PtzVector
from devmgr.onvif import ptz
from devmgr.onvif.errors import PtzNotSettled
from devmgr.onvif.session import OnvifPool, OnvifSession
from devmgr.onvif.transport import HttpTransport
from simulators.camera import SimulatedCamera
from simulators.soap.inprocess import InProcessTransport
from simulators.spec import CameraSpec
from tests.heads import LazyHead, RunawayHead


@asynccontextmanager
async def _session(transport: HttpTransport) -> AsyncIterator[OnvifSession]:
    async with OnvifPool(transport=transport) as pool:
        yield OnvifSession(pool, "http://192.0.2.10/onvif/device_service", "admin", "secret")


@pytest.fixture
def head() -> LazyHead:
    return LazyHead()


@pytest.fixture
async def lazy(head: LazyHead) -> AsyncIterator[OnvifSession]:
    async with _session(head) as session:
        yield session


async def test_without_a_target_the_minimum_settle_time_is_waited(
        head: LazyHead, lazy: OnvifSession) -> None:
    status = await ptz.wait_settled(lazy, "P", began=head.commanded, interval_s=0.02)
    assert status.position == PtzVector(pan=0.5, tilt=0.0, zoom=0.0)


async def test_goto_preset_and_home_wait_for_a_lazy_head(head: LazyHead,
                                                          lazy: OnvifSession) -> None:
    began = time.monotonic()
    status = await ptz.goto_preset(lazy, "P", "1", position=PtzVector(pan=0.5))
    assert status.position == PtzVector(pan=0.5)
    home = await ptz.goto_home(lazy, "P")
    assert home.position == PtzVector(pan=0.5)
    assert head.commands == ["GotoPreset", "GotoHomePosition"]
    assert time.monotonic() - began >= 2 * ptz.MIN_SETTLE_S


async def test_a_head_already_at_its_target_is_not_kept_waiting() -> None:
    """A simulated dome at rest, in this process: its position is the target."""
    camera = SimulatedCamera(CameraSpec.example())
    user = camera.spec.users[0]
    async with OnvifPool(transport=InProcessTransport([camera.http])) as pool:
        session = OnvifSession(pool, camera.device_url, user.username, user.password)
        here = (await ptz.ptz_status(session, "Profile_1")).position
        assert here is not None
        began = time.monotonic()
        status = await ptz.wait_settled(session, "Profile_1", target=here, interval_s=0.02)
    assert status.position == here
    assert time.monotonic() - began < ptz.MIN_SETTLE_S


async def test_a_head_that_never_settles_is_a_device_error() -> None:
    """Not a timeout of ours (ERROR): the camera answered every poll, and kept moving."""
    async with _session(RunawayHead()) as session:
        with pytest.raises(PtzNotSettled) as caught:
            await ptz.wait_settled(session, "P", timeout_s=0.3, interval_s=0.02)
    assert caught.value.kind is ErrorKind.PROTOCOL
    assert "did not settle within 0.3 s (status MOVING/IDLE" in str(caught.value)
    assert caught.value.as_device_error().kind is ErrorKind.PROTOCOL
