"""The simulated camera streams its view on the URI GetStreamUri gives, as its encoder
configuration says; FFmpeg (through PyAV) plays it and onvif-zeep-async configures it."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import cv2
import pytest
import zeep.exceptions
from onvif import ONVIFCamera

from camfleet.model import PtzVector
from camfleet.protocols import rtsp
from devmgr.media.stream import StreamError, StreamSample, sample_stream
from simulators.faults import parse_fault
from simulators.host import CameraHandle, CameraHost
from simulators.spec import LivingWorld
from tests.conftest import loopback_spec
from tests.simulators.test_rtsp_server import decode

ADMIN = ("admin", "Cam-2024!secure")
SETUP = {"Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}}


@pytest.fixture
async def onvif(camera: CameraHandle) -> AsyncIterator[ONVIFCamera]:
    client = ONVIFCamera(camera.address, camera.http_port, *ADMIN, adjust_time=True)
    await client.update_xaddrs()
    yield client
    await client.close()


async def stream_uri(onvif: ONVIFCamera, token: str) -> str:
    media = await onvif.create_media_service()
    answer = await media.GetStreamUri({"ProfileToken": token, "StreamSetup": SETUP})
    return str(answer.Uri)


async def play(uri: str, **options: Any) -> StreamSample:
    return await asyncio.to_thread(sample_stream, uri, *ADMIN, **options)


def set_faults(host: CameraHost, camera: CameraHandle, *faults: Any) -> None:
    host.run(camera.camera.set_faults([parse_fault(f) for f in faults]))


@pytest.mark.parametrize("transport", ["tcp", "udp"])
async def test_each_profile_streams_as_its_encoder_configuration_says(
        camera: CameraHandle, onvif: ONVIFCamera, transport: str) -> None:
    media = await onvif.create_media_service()
    configs = {c.token: c for c in await media.GetVideoEncoderConfigurations()}
    for profile in await media.GetProfiles():
        uri = await stream_uri(onvif, profile.token)
        assert uri.startswith(f"rtsp://{camera.address}:{camera.camera.streams.port}/")
        config = configs[profile.VideoEncoderConfiguration.token]
        sample = await play(uri, transport=transport, seconds=1.5)
        assert sample.codec == {"H264": "h264", "JPEG": "mjpeg"}[config.Encoding]
        assert (sample.width, sample.height) == (config.Resolution.Width,
                                                 config.Resolution.Height)
        # Never faster than configured; how close it comes on a loaded machine is measured
        # by hil.suite (with limits) and bench/streams.py, not asserted here.
        assert sample.frames >= 2
        assert sample.fps <= config.RateControl.FrameRateLimit * 1.25
    # Nobody plays any more: nothing encodes.
    assert await eventually(lambda: camera.camera.streams.server.encoders_running == 0)


async def test_set_video_encoder_configuration_changes_the_stream(
        camera: CameraHandle, onvif: ONVIFCamera) -> None:
    media = await onvif.create_media_service()
    options = await media.GetVideoEncoderConfigurationOptions(
        {"ConfigurationToken": "VideoEncoderConfig_1"})
    smallest = options.JPEG.ResolutionsAvailable[-1]
    config = await media.GetVideoEncoderConfiguration(
        {"ConfigurationToken": "VideoEncoderConfig_1"})
    config.Encoding = "JPEG"
    config.Resolution = {"Width": smallest.Width, "Height": smallest.Height}
    config.RateControl.FrameRateLimit = 5
    config.H264 = None
    await media.SetVideoEncoderConfiguration({"Configuration": config,
                                              "ForcePersistence": True})
    again = await media.GetVideoEncoderConfiguration(
        {"ConfigurationToken": "VideoEncoderConfig_1"})
    assert (again.Encoding, again.Resolution.Width, again.RateControl.FrameRateLimit) == (
        "JPEG", smallest.Width, 5)
    sample = await play(await stream_uri(onvif, "Profile_1"), seconds=2.0)
    assert (sample.codec, sample.width, sample.height) == ("mjpeg", smallest.Width,
                                                           smallest.Height)
    assert sample.fps <= 5 * 1.25


async def test_an_encoder_configuration_outside_the_options_is_refused_whole(
        camera: CameraHandle, onvif: ONVIFCamera) -> None:
    media = await onvif.create_media_service()
    before = await media.GetVideoEncoderConfiguration(
        {"ConfigurationToken": "VideoEncoderConfig_1"})
    config = await media.GetVideoEncoderConfiguration(
        {"ConfigurationToken": "VideoEncoderConfig_1"})
    config.Resolution = {"Width": 1234, "Height": 567}
    config.RateControl.FrameRateLimit = 5
    with pytest.raises(zeep.exceptions.Fault) as refused:
        await media.SetVideoEncoderConfiguration({"Configuration": config,
                                                  "ForcePersistence": True})
    assert [q.localname for q in refused.value.subcodes or []] == ["InvalidArgVal",
                                                                   "ConfigModify"]
    with pytest.raises(zeep.exceptions.Fault):
        await media.GetVideoEncoderConfiguration({"ConfigurationToken": "no-such-config"})
    after = await media.GetVideoEncoderConfiguration(
        {"ConfigurationToken": "VideoEncoderConfig_1"})
    assert after.RateControl.FrameRateLimit == before.RateControl.FrameRateLimit


async def test_the_stream_shows_the_view_and_its_faults(
        host: CameraHost, camera: CameraHandle, onvif: ONVIFCamera) -> None:
    uri = await stream_uri(onvif, "Profile_2")
    live = await play(uri, seconds=2.5)
    assert live.changed, "the on-screen clock of a live stream moves"
    assert live.mean_luma > 40

    set_faults(host, camera, "black")
    assert (await play(uri, seconds=1.0)).mean_luma < 20
    set_faults(host, camera, "frozen")
    assert not (await play(uri, seconds=2.5)).changed
    # low_fps and wrong_resolution: tests/simulators/test_rtsp_server.py, and hil.suite's.
    set_faults(host, camera, "stream_down")
    with pytest.raises(StreamError):
        await play(uri, timeout_s=3.0)
    set_faults(host, camera)
    assert (await play(uri, seconds=0.5)).mean_luma > 40


def saturation(uri: str) -> float:
    """Mean colour saturation (HSV, 0..255) of a picture the stream sends now."""
    credentialed = uri.replace("rtsp://", f"rtsp://{ADMIN[0]}:{quote(ADMIN[1])}@", 1)
    picture = decode(credentialed, frames=2)[-1].image
    return float(cv2.cvtColor(picture, cv2.COLOR_BGR2HSV)[..., 1].mean())


async def test_the_stream_lives_in_the_cameras_world(
        camera: CameraHandle, onvif: ONVIFCamera) -> None:
    """The living world is in the stream as in the snapshots: night is grey IR where noon
    has colour, and the frozen world is back once the world is switched off."""
    uri = await stream_uri(onvif, "Profile_2")
    seen = {}
    for hour in (12.0, 1.0):
        camera.camera.set_world(LivingWorld(enabled=True, start_hour=hour, speed=0.0,
                                            traffic=0.0))
        seen[hour] = await asyncio.to_thread(saturation, uri)
    camera.camera.set_world(LivingWorld())
    seen[0.0] = await asyncio.to_thread(saturation, uri)
    assert seen[1.0] < 5, seen
    assert min(seen[12.0], seen[0.0]) > 20, seen


async def test_a_ptz_move_shows_in_the_stream(camera: CameraHandle, onvif: ONVIFCamera) -> None:
    uri = await stream_uri(onvif, "Profile_2")
    before = await play(uri, seconds=0.3)
    camera.jump_to(PtzVector(pan=90.0, tilt=-10.0, zoom=0.0))
    after = await play(uri, seconds=0.3)
    assert abs(after.mean_luma - before.mean_luma) > 0.5


async def test_the_stream_needs_the_cameras_credentials(
        camera: CameraHandle, onvif: ONVIFCamera) -> None:
    uri = await stream_uri(onvif, "Profile_1")
    with pytest.raises(StreamError, match=r"401|nauthori"):
        await asyncio.to_thread(sample_stream, uri, "admin", "wrong", timeout_s=5.0)
    with pytest.raises(StreamError, match=r"401|nauthori"):
        await asyncio.to_thread(sample_stream, uri, timeout_s=5.0)


async def test_a_reboot_closes_the_stream_port_and_opens_the_same_one_again(
        camera: CameraHandle, onvif: ONVIFCamera) -> None:
    uri = await stream_uri(onvif, "Profile_2")
    port = camera.camera.streams.port
    camera.reboot()
    assert camera.camera.streams.port == port
    assert (await play(uri, seconds=0.5)).frames > 0


async def test_bad_rtsp_requests_get_rtsp_errors(camera: CameraHandle) -> None:
    port = camera.camera.streams.port
    reader, writer = await asyncio.open_connection(camera.address, port)
    answers = []
    for request in (b"OPTIONS * RTSP/1.0\r\nCSeq: 99999999999999999999999999\r\n\r\n",
                    b"FROB * RTSP/1.0\r\nCSeq: 2\r\n\r\n",
                    b"OPTIONS * RTSP/1.0\r\nCSeq: 3\r\nno colon here\r\n\r\n"):
        writer.write(request)
        answers.append(await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10))
    writer.close()
    statuses = [int(answer.split()[1]) for answer in answers]
    assert all(400 <= status < 600 for status in statuses), statuses
    # And the camera goes on serving.
    with socket.create_connection((camera.address, port), timeout=5) as again:
        again.sendall(rtsp.build_request("OPTIONS", "*", 1, []))
        assert again.recv(4096).startswith(b"RTSP/1.0 200")


async def test_an_idle_fleet_encodes_nothing(host: CameraHost) -> None:
    cameras = [host.start(loopback_spec()) for _ in range(3)]
    try:
        assert all(c.camera.streams.server.encoders_running == 0 for c in cameras)
        assert all(c.camera.streams.server.serving for c in cameras)
    finally:
        for cam in cameras:
            cam.stop()


async def eventually(condition: Any, seconds: float = 5.0) -> bool:
    for _ in range(int(seconds / 0.05)):
        if condition():
            return True
        await asyncio.sleep(0.05)
    return bool(condition())
