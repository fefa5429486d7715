"""Profile T's other halves: Media2 agrees with Media 1, and the event service tells a client
what happens to the camera (a PTZ move raises MotionAlarm).

The event test subscribes with onvif-zeep-async's pull-point client (what Home Assistant and
Frigate use), an independent implementation of the event service's client side. These are
camfleet's own tests; the Event Handling and Media2 test specifications' cases are not
claimed here.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any
from urllib.parse import urlsplit

import pytest

from devmgr.inventory.collect import STREAM_SETUP
from hil.camera import Camera
from hil.ptz import PtzDriver
from hil.suite.helpers import profiles, text

MOTION = "tns1:VideoSource/MotionAlarm"
#: How long a moved head has to raise MotionAlarm.
EVENT_WAIT_S = 10.0


@pytest.mark.hil_requires("media", "media2")
def test_CAMFLEET_media2_agrees_with_media1(camera: Camera) -> None:
    """Media2 GetProfiles has Media 1's profiles, GetStreamUri (RtspUnicast) the same stream,
    GetVideoEncoderConfigurations the same sizes, and GetSnapshotUri a URI."""
    media1 = {p.get("token", ""): p for p in profiles(camera)}
    answer = camera.must_call("media2", "GetProfiles", {"Type": "All"})
    media2 = {p.get("token", ""): p for p in answer.iterfind("{*}Profiles")}
    assert set(media2) == set(media1), (
        f"{camera}: Media2 profiles {sorted(media2)}, Media 1 profiles {sorted(media1)}")
    encoders = camera.must_call("media2", "GetVideoEncoderConfigurations")
    sizes = {c.get("token", ""): (text(c, "{*}Resolution/{*}Width"),
                                  text(c, "{*}Resolution/{*}Height"))
             for c in encoders.iterfind("{*}Configurations")}
    for token, profile in media1.items():
        old = text(camera.must_call("media", "GetStreamUri", {
            "ProfileToken": token, "StreamSetup": STREAM_SETUP}), "{*}MediaUri/{*}Uri")
        new = text(camera.must_call("media2", "GetStreamUri", {
            "Protocol": "RtspUnicast", "ProfileToken": token}), "{*}Uri")
        assert new == old, f"{camera}: profile {token}: Media2 streams {new}, Media 1 {old}"
        encoder = profile.find("{*}VideoEncoderConfiguration")
        if encoder is not None:
            size = (text(encoder, "{*}Resolution/{*}Width"),
                    text(encoder, "{*}Resolution/{*}Height"))
            assert sizes.get(encoder.get("token", "")) == size, (
                f"{camera}: encoder {encoder.get('token')}: Media2 says "
                f"{sizes.get(encoder.get('token', ''))}, Media 1 {size}")
        snapshot = camera.must_call("media2", "GetSnapshotUri", {"ProfileToken": token})
        assert text(snapshot, "{*}Uri"), f"{camera}: profile {token}: no Media2 snapshot URI"


@pytest.mark.hil_requires("events", "absolute_move")
def test_CAMFLEET_ptz_move_raises_motion_event(camera: Camera, ptz: PtzDriver) -> None:
    """A pull-point subscription receives tns1:VideoSource/MotionAlarm true when the head
    moves (something moves in view)."""
    start = ptz.at_rest()
    url = urlsplit(camera.target.device_url)

    async def subscribe() -> tuple[Any, Any]:
        from onvif import ONVIFCamera  # noqa: PLC0415 (its import configures logging)

        client = ONVIFCamera(url.hostname or camera.address, url.port or 80,
                             camera.target.onvif.username, camera.target.onvif_password() or "",
                             adjust_time=True)
        try:
            await client.update_xaddrs()
            manager = await client.create_pullpoint_manager(dt.timedelta(seconds=60),
                                                            lambda: None)
        except BaseException:
            await client.close()
            raise
        return client, manager

    async def until_motion(pullpoint: Any, seen: list[tuple[str, str]]) -> None:
        deadline = time.monotonic() + EVENT_WAIT_S
        while time.monotonic() < deadline and (MOTION, "true") not in seen:
            await _pull(pullpoint, seen, wait_s=1.0)

    async def close(client: Any, manager: Any) -> None:
        try:
            await manager.shutdown()
        finally:
            await client.close()

    client, manager = camera.harness.run(subscribe())
    seen: list[tuple[str, str]] = []
    try:
        camera.harness.run(_pull(manager.get_service(), seen, wait_s=0.5))  # initial states
        ptz.move_to(ptz.nearby(start, 10.0, 0.0))
        camera.harness.run(until_motion(manager.get_service(), seen))
    finally:
        camera.harness.run(close(client, manager))
    assert (MOTION, "true") in seen, (
        f"{camera}: the head moved and no {MOTION} State=true came within {EVENT_WAIT_S:g} s "
        f"(received: {seen[-8:]})")


async def _pull(pullpoint: Any, seen: list[tuple[str, str]], wait_s: float) -> None:
    result = await pullpoint.PullMessages({"Timeout": dt.timedelta(seconds=wait_s),
                                           "MessageLimit": 50})
    for message in result.NotificationMessage or []:
        body = message.Message._value_1
        items = getattr(getattr(body, "Data", None), "SimpleItem", None) or []
        seen.append((str(message.Topic._value_1), str(items[0].Value).lower() if items
                     else ""))
