"""Independent ONVIF clients drive the simulated camera: onvif-zeep-async, zeep and aiohttp.

Nothing here uses camfleet's own client code: if these clients accept the camera without
special cases, so will the field's other tools.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import aiohttp
import cv2
import numpy as np
import pytest
import zeep.exceptions
from onvif import ONVIFCamera
from zeep import AsyncClient
from zeep.proxy import AsyncServiceProxy
from zeep.transports import AsyncTransport
from zeep.wsse.username import UsernameToken

from camfleet.protocols.onvif_schema import EXTENSION_WSDL
from simulators.host import CameraHandle, CameraHost
from tests.conftest import loopback_spec

ADMIN = ("admin", "Cam-2024!secure")


@pytest.fixture
async def onvif(camera: CameraHandle) -> AsyncIterator[ONVIFCamera]:
    client = ONVIFCamera(camera.address, camera.http_port, *ADMIN, adjust_time=True)
    await client.update_xaddrs()
    yield client
    await client.close()


def subcodes(fault: zeep.exceptions.Fault) -> list[str]:
    """A fault's subcode local names, outermost first, e.g. ``["InvalidArgVal", "NoToken"]``."""
    return [q.localname for q in fault.subcodes or []]


async def wait_idle(ptz: Any, timeout_s: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        status = await ptz.GetStatus({"ProfileToken": "Profile_1"})
        if status.MoveStatus.PanTilt == "IDLE" and status.MoveStatus.Zoom == "IDLE":
            return status
        assert time.monotonic() < deadline, f"PTZ still moving after {timeout_s} s: {status}"
        await asyncio.sleep(0.05)


async def test_device_information_matches_the_spec(camera: CameraHandle,
                                                   onvif: ONVIFCamera) -> None:
    device = await onvif.create_devicemgmt_service()
    info = await device.GetDeviceInformation()
    ident = camera.spec.identity
    assert (info.Manufacturer, info.Model, info.FirmwareVersion, info.SerialNumber,
            info.HardwareId) == (ident.manufacturer, ident.model, ident.firmware, ident.serial,
                                 ident.hardware_id)
    interfaces = await device.GetNetworkInterfaces()
    assert interfaces[0].Info.HwAddress == ident.mac
    hostname = await device.GetHostname()
    assert hostname.Name == camera.spec.hostname
    scopes = {s.ScopeItem for s in await device.GetScopes()}
    assert "onvif://www.onvif.org/location/country/china/city/wuhan" in scopes
    assert f"onvif://www.onvif.org/SerialNumber/{ident.serial}" in scopes
    users = await device.GetUsers()
    assert [(u.Username, u.UserLevel) for u in users] == [("admin", "Administrator")]
    ntp = await device.GetNTP()
    assert ntp.NTPManual[0].DNSname == camera.spec.network.ntp_servers[0]


async def test_services_and_capabilities_agree(camera: CameraHandle,
                                               onvif: ONVIFCamera) -> None:
    device = await onvif.create_devicemgmt_service()
    services = await device.GetServices({"IncludeCapability": False})
    by_namespace = {s.Namespace: s.XAddr for s in services}
    caps = await device.GetCapabilities({"Category": "All"})
    base = f"http://{camera.address}:{camera.http_port}/onvif/"
    assert caps.Media.XAddr == by_namespace["http://www.onvif.org/ver10/media/wsdl"]
    assert caps.PTZ.XAddr == by_namespace["http://www.onvif.org/ver20/ptz/wsdl"]
    assert caps.Imaging.XAddr == by_namespace["http://www.onvif.org/ver20/imaging/wsdl"]
    assert all(x.startswith(base) for x in by_namespace.values())


async def test_profiles_stream_and_snapshot(camera: CameraHandle, onvif: ONVIFCamera) -> None:
    media = await onvif.create_media_service()
    profiles = await media.GetProfiles()
    assert [p.token for p in profiles] == ["Profile_1", "Profile_2"]
    main = profiles[0]
    optics = camera.spec.optics
    assert (main.VideoEncoderConfiguration.Resolution.Width,
            main.VideoEncoderConfiguration.Resolution.Height) == (optics.width, optics.height)
    assert main.PTZConfiguration.token == "PTZConfig_1"
    uri = await media.GetStreamUri({"ProfileToken": "Profile_1", "StreamSetup": {
        "Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}}})
    assert uri.Uri.startswith(f"rtsp://{camera.address}:{camera.camera.streams.port}/")

    jpeg = await onvif.get_snapshot("Profile_1")
    assert jpeg is not None
    assert jpeg[:2] == b"\xff\xd8"
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert image.shape == (optics.height, optics.width, 3)
    sub = await onvif.get_snapshot("Profile_2")
    assert sub is not None
    sub_image = cv2.imdecode(np.frombuffer(sub, np.uint8), cv2.IMREAD_COLOR)
    sub_res = profiles[1].VideoEncoderConfiguration.Resolution
    assert sub_image.shape[:2] == (sub_res.Height, sub_res.Width)


async def test_absolute_move_takes_time_and_reaches_the_target(
        camera: CameraHandle, onvif: ONVIFCamera) -> None:
    ptz = await onvif.create_ptz_service()
    spec = camera.spec.ptz
    target_x, target_y, target_zoom = 0.25, -0.5, 0.4  # generic space
    started = time.monotonic()
    await ptz.AbsoluteMove({"ProfileToken": "Profile_1", "Position": {
        "PanTilt": {"x": target_x, "y": target_y}, "Zoom": {"x": target_zoom}}})
    moving = await ptz.GetStatus({"ProfileToken": "Profile_1"})
    assert moving.MoveStatus.PanTilt == "MOVING"
    status = await wait_idle(ptz)
    elapsed = time.monotonic() - started
    assert status.Position.PanTilt.x == pytest.approx(target_x, abs=1e-6)
    assert status.Position.PanTilt.y == pytest.approx(target_y, abs=1e-6)
    assert status.Position.Zoom.x == pytest.approx(target_zoom, abs=1e-6)
    # Pan travels 45 degrees at 120 deg/s; zoom 0.4 at 0.5/s: the slowest axis sets the pace.
    expected = spec.from_generic(target_x, target_y, target_zoom)
    slowest = max(abs(expected.pan) / spec.pan_speed,
                  abs(expected.tilt - spec.home.tilt) / spec.tilt_speed,
                  target_zoom / spec.zoom_speed)
    assert elapsed >= slowest * 0.9
    truth = camera.ptz_position()
    assert truth.pan == pytest.approx(expected.pan)
    assert truth.tilt == pytest.approx(expected.tilt)


async def test_absolute_move_in_degrees_space(camera: CameraHandle, onvif: ONVIFCamera) -> None:
    ptz = await onvif.create_ptz_service()
    await ptz.AbsoluteMove({"ProfileToken": "Profile_1", "Position": {"PanTilt": {
        "x": 30.0, "y": -20.0,
        "space": "http://www.onvif.org/ver10/tptz/PanTiltSpaces/SphericalPositionSpaceDegrees"}}})
    await wait_idle(ptz)
    truth = camera.ptz_position()
    assert (truth.pan, truth.tilt) == (pytest.approx(30.0), pytest.approx(-20.0))


async def test_absolute_move_outside_the_limits_is_a_fault(camera: CameraHandle,
                                                           onvif: ONVIFCamera) -> None:
    """PTZ-3-1-2: the limits are -170..170 degrees of pan, i.e. |x| <= 0.944 generic."""
    ptz = await onvif.create_ptz_service()
    with pytest.raises(zeep.exceptions.Fault) as caught:
        await ptz.AbsoluteMove({"ProfileToken": "Profile_1",
                                "Position": {"PanTilt": {"x": 0.99, "y": 0.0}}})
    assert "InvalidPosition" in subcodes(caught.value)
    assert camera.ptz_position() == camera.spec.ptz.home


async def test_relative_and_continuous_moves_stop_at_the_limit(
        camera: CameraHandle, onvif: ONVIFCamera) -> None:
    ptz = await onvif.create_ptz_service()
    limits = camera.spec.ptz.effective_limits
    await ptz.RelativeMove({"ProfileToken": "Profile_1",
                            "Translation": {"PanTilt": {"x": 1.0, "y": 0.0}}})
    await wait_idle(ptz)
    assert camera.ptz_position().pan == pytest.approx(limits.pan.max)

    await ptz.ContinuousMove({"ProfileToken": "Profile_1",
                              "Velocity": {"PanTilt": {"x": -1.0, "y": 0.0}}})
    await asyncio.sleep(0.3)
    status = await ptz.GetStatus({"ProfileToken": "Profile_1"})
    assert status.MoveStatus.PanTilt == "MOVING"
    await ptz.Stop({"ProfileToken": "Profile_1", "PanTilt": True, "Zoom": True})
    stopped = camera.ptz_position().pan
    assert limits.pan.min < stopped < limits.pan.max - 20  # it moved, and it stopped
    await asyncio.sleep(0.2)
    assert camera.ptz_position().pan == stopped
    assert camera.move_status()[0].value == "IDLE"

    await ptz.ContinuousMove({"ProfileToken": "Profile_1",
                              "Velocity": {"PanTilt": {"x": -1.0, "y": 0.0}},
                              "Timeout": timedelta(seconds=10)})
    await wait_idle(ptz)
    assert camera.ptz_position().pan == pytest.approx(limits.pan.min)


async def test_presets_and_home(camera: CameraHandle, onvif: ONVIFCamera) -> None:
    ptz = await onvif.create_ptz_service()
    presets = await ptz.GetPresets({"ProfileToken": "Profile_1"})
    assert [(p.token, p.Name) for p in presets] == [("1", "gate"), ("2", "crossing")]

    await ptz.GotoPreset({"ProfileToken": "Profile_1", "PresetToken": "1"})
    await wait_idle(ptz)
    assert camera.ptz_position() == camera.spec.ptz.presets[0].position

    camera.jump_to(camera.spec.ptz.presets[0].position.model_copy(update={"pan": 60.0}))
    token = await ptz.SetPreset({"ProfileToken": "Profile_1", "PresetName": "bridge"})
    presets = {p.token: p for p in await ptz.GetPresets({"ProfileToken": "Profile_1"})}
    assert presets[token].Name == "bridge"
    with pytest.raises(zeep.exceptions.Fault) as caught:
        await ptz.SetPreset({"ProfileToken": "Profile_1", "PresetName": "bridge"})
    assert "PresetExist" in subcodes(caught.value)
    await ptz.RemovePreset({"ProfileToken": "Profile_1", "PresetToken": token})
    with pytest.raises(zeep.exceptions.Fault) as caught:
        await ptz.GotoPreset({"ProfileToken": "Profile_1", "PresetToken": token})
    assert "NoToken" in subcodes(caught.value)

    await ptz.SetHomePosition({"ProfileToken": "Profile_1"})
    camera.jump_to(camera.spec.ptz.home)
    await ptz.GotoHomePosition({"ProfileToken": "Profile_1"})
    await wait_idle(ptz)
    assert camera.ptz_position().pan == pytest.approx(60.0)


async def test_fixed_home_cannot_be_overwritten(host: CameraHost) -> None:
    spec = loopback_spec()
    spec = spec.model_copy(update={"ptz": spec.ptz.model_copy(update={"home_fixed": True})})
    handle = host.start(spec)
    client = ONVIFCamera(handle.address, handle.http_port, *ADMIN)
    try:
        await client.update_xaddrs()
        ptz = await client.create_ptz_service()
        nodes = await ptz.GetNodes()
        assert nodes[0].FixedHomePosition is True
        with pytest.raises(zeep.exceptions.Fault) as caught:
            await ptz.SetHomePosition({"ProfileToken": "Profile_1"})
        assert "CannotOverwriteHome" in subcodes(caught.value)
    finally:
        await client.close()
        handle.stop()


async def test_ptz_configuration_is_consistent_with_options(onvif: ONVIFCamera) -> None:
    """PTZ-2-1-6/7: the default spaces are among the advertised spaces; limits inside."""
    ptz = await onvif.create_ptz_service()
    config = (await ptz.GetConfigurations())[0]
    options = await ptz.GetConfigurationOptions({"ConfigurationToken": config.token})
    spaces = options.Spaces
    assert config.DefaultAbsolutePantTiltPositionSpace in {
        s.URI for s in spaces.AbsolutePanTiltPositionSpace}
    assert config.DefaultContinuousPanTiltVelocitySpace in {
        s.URI for s in spaces.ContinuousPanTiltVelocitySpace}
    limits = config.PanTiltLimits.Range
    assert -1 <= limits.XRange.Min < limits.XRange.Max <= 1
    node = await ptz.GetNode({"NodeToken": config.NodeToken})
    assert node.HomeSupported is True


async def test_imaging_and_recording_retention(camera: CameraHandle,
                                               onvif: ONVIFCamera) -> None:
    imaging = await onvif.create_imaging_service()
    settings = await imaging.GetImagingSettings({"VideoSourceToken": "VideoSource_1"})
    assert settings.IrCutFilter == "AUTO"
    recording = await onvif.create_recording_service()
    items = await recording.GetRecordings()
    config = await recording.GetRecordingConfiguration(
        {"RecordingToken": items[0].RecordingToken})
    retention = config.MaximumRetentionTime
    assert retention == timedelta(days=camera.spec.recording.retention_days) or \
        str(retention) == "P90D"


async def test_scopes_and_discovery_mode_can_be_set(camera: CameraHandle,
                                                    onvif: ONVIFCamera) -> None:
    device = await onvif.create_devicemgmt_service()
    await device.SetScopes({"Scopes": ["onvif://www.onvif.org/location/city/hankou"]})
    items = {(s.ScopeDef, s.ScopeItem) for s in await device.GetScopes()}
    assert ("Configurable", "onvif://www.onvif.org/location/city/hankou") in items
    assert not any(i.endswith("china/city/wuhan") for _, i in items)
    await device.SetDiscoveryMode({"DiscoveryMode": "NonDiscoverable"})
    assert await device.GetDiscoveryMode() == "NonDiscoverable"


async def test_geolocation_through_zeep(camera: CameraHandle) -> None:
    """GetGeoLocation, absent from the 2.4.2 WSDLs, answered with the current schema's shape."""
    transport = AsyncTransport()
    client = AsyncClient(str(EXTENSION_WSDL), transport=transport,
                         wsse=UsernameToken(*ADMIN, use_digest=True))
    binding = client.wsdl.bindings["{http://www.onvif.org/ver10/device/wsdl}GeoLocationBinding"]
    # AsyncClient.create_service hands back a synchronous proxy; build the async one directly.
    service = AsyncServiceProxy(client, binding, address=camera.device_url)
    try:
        locations = await service.GetGeoLocation()
    finally:
        await transport.aclose()
    where = camera.spec.location.position
    geo = locations[0].GeoLocation
    assert (geo.lat, geo.lon) == (pytest.approx(where.latitude), pytest.approx(where.longitude))
    assert locations[0].GeoOrientation.yaw == pytest.approx(camera.spec.mount.heading)


# -- authentication -----------------------------------------------------------------------------

async def test_wrong_password_is_refused(camera: CameraHandle) -> None:
    client = ONVIFCamera(camera.address, camera.http_port, "admin", "wrong")
    try:
        device = await client.create_devicemgmt_service()
        # Pre-auth: the clock is readable without valid credentials.
        assert (await device.authless_GetSystemDateAndTime()).UTCDateTime.Date.Year >= 2024
        with pytest.raises(zeep.exceptions.Fault) as caught:
            await device.GetDeviceInformation()
        assert "NotAuthorized" in subcodes(caught.value)
    finally:
        await client.close()


async def test_clock_skew_breaks_usernametoken_until_the_client_adjusts(
        camera: CameraHandle) -> None:
    camera.set_clock_offset(3600.0)
    naive = ONVIFCamera(camera.address, camera.http_port, *ADMIN)
    adjusting = ONVIFCamera(camera.address, camera.http_port, *ADMIN, adjust_time=True)
    try:
        device = await naive.create_devicemgmt_service()
        with pytest.raises(zeep.exceptions.Fault) as caught:
            await device.GetDeviceInformation()
        assert "NotAuthorized" in subcodes(caught.value)
        await adjusting.update_xaddrs()
        assert adjusting.dt_diff is not None
        assert adjusting.dt_diff.total_seconds() == pytest.approx(3600, abs=5)
        info = await (await adjusting.create_devicemgmt_service()).GetDeviceInformation()
        assert info.SerialNumber == camera.spec.identity.serial
    finally:
        await naive.close()
        await adjusting.close()


DEVICE_INFO_REQUEST = (
    b'<?xml version="1.0"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope">'
    b'<s:Body><GetDeviceInformation xmlns="http://www.onvif.org/ver10/device/wsdl"/>'
    b"</s:Body></s:Envelope>")


async def test_http_digest_authenticates_soap(camera: CameraHandle) -> None:
    headers = {"Content-Type": "application/soap+xml; charset=utf-8"}
    async with aiohttp.ClientSession() as session:
        async with session.post(camera.device_url, data=DEVICE_INFO_REQUEST,
                                headers=headers) as anonymous:
            assert anonymous.status == 401
            challenges = anonymous.headers.getall("WWW-Authenticate")
            assert any(c.startswith("Digest ") for c in challenges)
            assert b"NotAuthorized" in await anonymous.read()
        digest = aiohttp.DigestAuthMiddleware(*ADMIN)
        async with session.post(camera.device_url, data=DEVICE_INFO_REQUEST, headers=headers,
                                middlewares=(digest,)) as authed:
            assert authed.status == 200
            assert camera.spec.identity.serial.encode() in await authed.read()
        wrong = aiohttp.DigestAuthMiddleware("admin", "nope")
        async with session.post(camera.device_url, data=DEVICE_INFO_REQUEST, headers=headers,
                                middlewares=(wrong,)) as refused:
            assert refused.status == 401
        async with session.get(camera.snapshot_url) as snapshot:
            assert snapshot.status == 401


MALFORMED = [
    b"",
    b"not xml at all",
    b"<s:Envelope xmlns:s='http://www.w3.org/2003/05/soap-envelope'><s:Body>",
    b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY e SYSTEM 'file:///etc/passwd'>]>"
    b"<s:Envelope xmlns:s='http://www.w3.org/2003/05/soap-envelope'><s:Body>&e;</s:Body>"
    b"</s:Envelope>",
    b"<s:Envelope xmlns:s='http://schemas.xmlsoap.org/soap/envelope/'><s:Body>"
    b"<GetDeviceInformation xmlns='http://www.onvif.org/ver10/device/wsdl'/></s:Body>"
    b"</s:Envelope>",
    b"<s:Envelope xmlns:s='http://www.w3.org/2003/05/soap-envelope'><s:Body>"
    b"<Frobnicate xmlns='urn:nothing'/></s:Body></s:Envelope>",
    b"<s:Envelope xmlns:s='http://www.w3.org/2003/05/soap-envelope'><s:Body/></s:Envelope>",
    b"<s:Envelope xmlns:s='http://www.w3.org/2003/05/soap-envelope'><s:Body>"
    b"<GetSystemDateAndTime xmlns='http://www.onvif.org/ver10/device/wsdl'><junk>"
    + b"x" * 300_000 + b"</junk></GetSystemDateAndTime></s:Body></s:Envelope>",
]


async def test_malformed_requests_get_faults_and_the_camera_survives(
        camera: CameraHandle) -> None:
    headers = {"Content-Type": "application/soap+xml"}
    async with aiohttp.ClientSession() as session:
        for payload in MALFORMED:
            async with session.post(camera.device_url, data=payload, headers=headers) as reply:
                body = await reply.read()
                assert reply.status in (400, 413, 500), payload[:60]
                if reply.status != 413:
                    assert b"Fault" in body, payload[:60]
                assert b"root:" not in body  # no entity was ever expanded
        pre_auth = DEVICE_INFO_REQUEST.replace(b"GetDeviceInformation", b"GetSystemDateAndTime")
        async with session.post(camera.device_url, data=pre_auth, headers=headers) as reply:
            assert reply.status == 200
            assert b"UTCDateTime" in await reply.read()


async def test_system_reboot_goes_silent_then_returns(camera: CameraHandle,
                                                      onvif: ONVIFCamera) -> None:
    device = await onvif.create_devicemgmt_service()
    boots = camera.camera.state.boots
    await device.SystemReboot()
    deadline = time.monotonic() + 10
    while camera.camera.state.boots == boots:
        assert time.monotonic() < deadline, "the camera never rebooted"
        await asyncio.sleep(0.05)
    while camera.status.value != "running":
        assert time.monotonic() < deadline, "the camera never came back"
        await asyncio.sleep(0.05)
    client = ONVIFCamera(camera.address, camera.http_port, *ADMIN)
    try:
        info = await (await client.create_devicemgmt_service()).GetDeviceInformation()
        assert info.SerialNumber == camera.spec.identity.serial
    finally:
        await client.close()
    assert camera.camera.state.uptime_s() < 5


async def test_a_pan_moves_the_served_snapshot_by_what_the_optics_predict(
        camera: CameraHandle, onvif: ONVIFCamera) -> None:
    """End to end: AbsoluteMove in degrees, fetch the JPEG over HTTP Digest, measure the shift."""
    ptz = await onvif.create_ptz_service()
    degrees = "http://www.onvif.org/ver10/tptz/PanTiltSpaces/SphericalPositionSpaceDegrees"
    frames = []
    for pan in (10.0, 12.0):
        await ptz.AbsoluteMove({"ProfileToken": "Profile_1", "Position": {
            "PanTilt": {"x": pan, "y": 0.0, "space": degrees}, "Zoom": {"x": 0.0}}})
        await wait_idle(ptz)
        jpeg = await onvif.get_snapshot("Profile_1")
        assert jpeg is not None
        grey = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_GRAYSCALE)
        # The centre half: a pan is a pure shift only near the optical axis (perspective
        # stretches it towards the edges), and f*tan(theta) is the shift at the centre.
        h, w = grey.shape
        frames.append(np.float32(grey[h // 4: 3 * h // 4, w // 4: 3 * w // 4]))
    height, width = frames[0].shape
    window = cv2.createHanningWindow((width, height), cv2.CV_32F)
    (dx, dy), _ = cv2.phaseCorrelate(frames[0], frames[1], window)
    predicted = camera.spec.optics.focal_px(0.0) * np.tan(np.radians(2.0))
    print(f"measured {dx:.2f} px, predicted {-predicted:.2f} px")
    assert dx == pytest.approx(-predicted, abs=1.0)  # panning right moves the content left
    assert abs(dy) < 1.0
