"""The simulated camera's event service, driven by onvif-zeep-async's pull-point manager (what
Home Assistant uses) and by plain calls: properties, tamper and motion topics, termination,
the subscription cap and bounds on PullMessages."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import zeep.exceptions
from onvif import ONVIFCamera

from simulators import events
from simulators.faults import parse_fault
from simulators.host import CameraHandle, CameraHost

ADMIN = ("admin", "Cam-2024!secure")


@pytest.fixture
async def onvif(camera: CameraHandle) -> AsyncIterator[ONVIFCamera]:
    client = ONVIFCamera(camera.address, camera.http_port, *ADMIN, adjust_time=True)
    await client.update_xaddrs()
    yield client
    await client.close()


def topic_states(result: Any) -> list[tuple[str, str, str]]:
    """(topic, PropertyOperation, first data value) of each message pulled."""
    found = []
    for message in result.NotificationMessage or []:
        body = message.Message._value_1  # onvif-zeep-async decodes tt:Message
        items = body.Data.SimpleItem if body.Data is not None else []
        found.append((message.Topic._value_1, body.PropertyOperation,
                      str(items[0].Value) if items else ""))
    return found


async def pull_until(pullpoint: Any, wanted: tuple[str, str, str],
                     seconds: float = 15.0) -> list[tuple[str, str, str]]:
    seen: list[tuple[str, str, str]] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = await pullpoint.PullMessages({"Timeout": dt.timedelta(seconds=2),
                                               "MessageLimit": 50})
        seen += topic_states(result)
        if wanted in seen:
            return seen
    raise AssertionError(f"{wanted} not among {seen}")


async def test_event_properties_list_the_tamper_motion_and_reboot_topics(
        onvif: ONVIFCamera) -> None:
    service = await onvif.create_events_service()
    properties = await service.GetEventProperties()
    tags = {element.tag for top in properties.TopicSet._value_1 for element in top.iter()}
    for name in ("MotionAlarm", "GlobalSceneChange", "ImageTooBlurry", "LastReboot"):
        assert any(tag.endswith(name) for tag in tags), (name, tags)
    assert properties.FixedTopicSet is True


async def test_a_pull_point_receives_initial_states_then_tamper_and_motion_changes(
        host: CameraHost, camera: CameraHandle, onvif: ONVIFCamera) -> None:
    manager = await onvif.create_pullpoint_manager(dt.timedelta(seconds=60), lambda: None)
    pullpoint = manager.get_service()
    try:
        first = topic_states(await pullpoint.PullMessages({"Timeout": dt.timedelta(seconds=1),
                                                           "MessageLimit": 50}))
        assert (events.MOTION, "Initialized", "false") in first
        assert (events.SCENE_CHANGE, "Initialized", "false") in first
        assert any(t == events.LAST_REBOOT for t, _, _ in first)

        host.run(camera.camera.set_faults([parse_fault({"kind": "mount_shifted",
                                                        "pan_deg": 4})]))
        await pull_until(pullpoint, (events.SCENE_CHANGE, "Changed", "true"))
        host.run(camera.camera.set_faults([parse_fault("blurred")]))
        seen = await pull_until(pullpoint, (events.BLURRY, "Changed", "true"))
        assert (events.SCENE_CHANGE, "Changed", "false") in seen

        ptz = await onvif.create_ptz_service()
        await ptz.AbsoluteMove({"ProfileToken": "Profile_1",
                                "Position": {"PanTilt": {"x": 0.6, "y": 0.1}}})
        await pull_until(pullpoint, (events.MOTION, "Changed", "true"))
        await pull_until(pullpoint, (events.MOTION, "Changed", "false"))

        await manager.set_synchronization_point()
        again = await pull_until(pullpoint, (events.BLURRY, "Initialized", "true"))
        assert (events.MOTION, "Initialized", "false") in again
    finally:
        await manager.shutdown()
    assert camera.camera.state.events.subscriptions == {}  # Unsubscribe was honoured


async def subscribe(onvif: ONVIFCamera, termination: str = "PT60S") -> tuple[Any, Any]:
    """A subscription made by hand: its pull point and its subscription manager."""
    service = await onvif.create_events_service()
    result = await service.CreatePullPointSubscription({"InitialTerminationTime": termination})
    address = result.SubscriptionReference.Address._value_1
    onvif.xaddrs["http://www.onvif.org/ver10/events/wsdl/PullPointSubscription"] = address
    pullpoint = await onvif.create_pullpoint_service()
    manager = await onvif.create_subscription_service("PullPointSubscription")
    return pullpoint, manager


async def test_a_subscription_ends_at_its_termination_time_unless_renewed(
        camera: CameraHandle, onvif: ONVIFCamera) -> None:
    pullpoint, manager = await subscribe(onvif, "PT2S")
    renewed = await manager.Renew({"TerminationTime": "PT30S"})
    assert renewed.TerminationTime - renewed.CurrentTime > dt.timedelta(seconds=20)
    await asyncio.sleep(2.5)
    await pullpoint.PullMessages({"Timeout": dt.timedelta(seconds=0), "MessageLimit": 1})
    await manager.Unsubscribe()
    with pytest.raises(zeep.exceptions.Fault, match="no subscription"):
        await pullpoint.PullMessages({"Timeout": dt.timedelta(seconds=0), "MessageLimit": 1})

    short, _ = await subscribe(onvif, "PT1S")
    await asyncio.sleep(2.5)
    assert camera.camera.state.events.subscriptions == {}  # ended on time, unasked
    with pytest.raises(zeep.exceptions.Fault, match="no subscription"):
        await short.PullMessages({"Timeout": dt.timedelta(seconds=0), "MessageLimit": 1})


async def test_a_subscription_storm_meets_the_cap_and_the_camera_goes_on(
        camera: CameraHandle, onvif: ONVIFCamera) -> None:
    service = await onvif.create_events_service()
    for _ in range(events.MAX_PULL_POINTS):
        await service.CreatePullPointSubscription({"InitialTerminationTime": "PT60S"})
    with pytest.raises(zeep.exceptions.Fault) as refused:
        await service.CreatePullPointSubscription({"InitialTerminationTime": "PT60S"})
    assert [q.localname for q in refused.value.subcodes or []] == ["CapabilityViolated",
                                                                   "MaxPullPoints"]
    device = await onvif.create_devicemgmt_service()
    assert (await device.GetDeviceInformation()).SerialNumber == camera.spec.identity.serial


async def test_absurd_pull_requests_are_bounded_or_refused(
        camera: CameraHandle, onvif: ONVIFCamera) -> None:
    pullpoint, _ = await subscribe(onvif)
    with pytest.raises(zeep.exceptions.Fault, match="MaxTimeout"):
        await pullpoint.PullMessages({"Timeout": dt.timedelta(days=3650),
                                      "MessageLimit": 10})
    result = await pullpoint.PullMessages({"Timeout": dt.timedelta(seconds=0),
                                           "MessageLimit": 2_000_000_000})
    assert len(result.NotificationMessage) <= events.MAX_MESSAGES
    with pytest.raises(zeep.exceptions.Fault):
        await pullpoint.PullMessages({"Timeout": dt.timedelta(seconds=0), "MessageLimit": -5})


async def test_a_reboot_ends_subscriptions_and_a_new_one_sees_the_boot(
        camera: CameraHandle, onvif: ONVIFCamera) -> None:
    pullpoint, _ = await subscribe(onvif)
    camera.reboot()
    with pytest.raises(zeep.exceptions.Fault):
        await pullpoint.PullMessages({"Timeout": dt.timedelta(seconds=0), "MessageLimit": 1})
    fresh, _ = await subscribe(onvif)
    seen = topic_states(await fresh.PullMessages({"Timeout": dt.timedelta(seconds=1),
                                                  "MessageLimit": 50}))
    (boot,) = [value for topic, _, value in seen if topic == events.LAST_REBOOT]
    booted = dt.datetime.fromisoformat(boot.replace("Z", "+00:00"))
    assert abs((dt.datetime.now(dt.UTC) - booted).total_seconds()) < 30
