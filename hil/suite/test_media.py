"""Media (ONVIF Media 1): profiles, stream and snapshot URIs, a picture of the right size."""

from __future__ import annotations

import pytest
from lxml import etree

from hil.camera import Camera
from hil.measure import MeasurementLog
from hil.suite.helpers import profiles, text, url_host

pytestmark = pytest.mark.hil_requires("media")

ENCODINGS = {"JPEG", "MPEG4", "H264", "H265"}
STREAM_SETUP = {"Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}}


def _resolution(profile: etree._Element) -> tuple[int, int]:
    width = text(profile, "{*}VideoEncoderConfiguration/{*}Resolution/{*}Width")
    height = text(profile, "{*}VideoEncoderConfiguration/{*}Resolution/{*}Height")
    return int(width or 0), int(height or 0)


def test_MEDIA_1_1_1_profiles(camera: Camera) -> None:
    found = profiles(camera)
    assert found, f"{camera}: GetProfiles returns no profile"
    for profile in found:
        token = profile.get("token", "")
        assert token, f"{camera}: a media profile has no token"
        assert profile.find("{*}VideoSourceConfiguration") is not None, (
            f"{camera}: profile {token} has no video source configuration")
        encoding = text(profile, "{*}VideoEncoderConfiguration/{*}Encoding")
        assert encoding in ENCODINGS, f"{camera}: profile {token}: encoding {encoding!r}"
        width, height = _resolution(profile)
        assert width > 0, f"{camera}: profile {token} has no resolution width"
        assert height > 0, f"{camera}: profile {token} has no resolution height"


def test_MEDIA_stream_uri_for_each_profile(camera: Camera) -> None:
    """GetStreamUri (RTP unicast over RTSP) gives an rtsp:// URI on the camera's address."""
    for profile in profiles(camera):
        token = profile.get("token", "")
        body = camera.must_call("media", "GetStreamUri", {"ProfileToken": token,
                                                          "StreamSetup": STREAM_SETUP})
        uri = text(body, "{*}MediaUri/{*}Uri")
        assert uri.startswith("rtsp://"), f"{camera}: profile {token}: stream URI {uri!r}"
        assert url_host(uri), f"{camera}: profile {token}: stream URI {uri!r} has no host"


def test_MEDIA_7_1_2_stream_uri_for_unknown_profile_faults(camera: Camera) -> None:
    fault = camera.expect_fault("media", "GetStreamUri", {"ProfileToken": "hil-no-profile",
                                                          "StreamSetup": STREAM_SETUP})
    assert fault.code.endswith("Sender"), (
        f"{camera}: an unknown profile token gave fault {fault.code} (expected env:Sender)")


@pytest.mark.hil_requires("snapshot")
def test_MEDIA_6_1_1_snapshot_uri(camera: Camera, measure: MeasurementLog) -> None:
    """Each profile's snapshot URI serves a decodable JPEG of the profile's resolution."""
    import cv2  # noqa: PLC0415 (heavy; only this test needs it)
    import numpy as np  # noqa: PLC0415

    for profile in profiles(camera):
        token = profile.get("token", "")
        body = camera.must_call("media", "GetSnapshotUri", {"ProfileToken": token})
        uri = text(body, "{*}MediaUri/{*}Uri")
        assert uri, f"{camera}: profile {token}: no snapshot URI"
        snapshot = camera.fetch(uri)
        measure("snapshot_latency", snapshot.elapsed_s, unit="s")
        assert snapshot.status == 200, f"{camera}: GET {snapshot.url}: HTTP {snapshot.status}"
        assert snapshot.content_type.startswith("image/jpeg"), (
            f"{camera}: {snapshot.url} is {snapshot.content_type!r}, not image/jpeg")
        image = cv2.imdecode(np.frombuffer(snapshot.body, np.uint8), cv2.IMREAD_COLOR)
        assert image is not None, f"{camera}: {snapshot.url} is not a decodable JPEG"
        width, height = _resolution(profile)
        assert (image.shape[1], image.shape[0]) == (width, height), (
            f"{camera}: profile {token}: snapshot is {image.shape[1]}x{image.shape[0]}, the "
            f"profile encodes {width}x{height}")


@pytest.mark.hil_requires("ptz")
def test_MEDIA_4_1_2_ptz_configuration_in_profiles(camera: Camera) -> None:
    body = camera.must_call("ptz", "GetConfigurations")
    tokens = {c.get("token", "") for c in body.iterfind("{*}PTZConfiguration")}
    configured = [p.find("{*}PTZConfiguration") for p in profiles(camera)]
    used = {c.get("token", "") for c in configured if c is not None}
    assert used, f"{camera}: PTZ is advertised, but no media profile has a PTZ configuration"
    assert used <= tokens, f"{camera}: profiles use PTZ configurations {sorted(used - tokens)} " \
                           "that GetConfigurations does not list"
