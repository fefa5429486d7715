"""Media (ONVIF Media 1), as the Media Configuration Device Test Specification's MEDIA cases:
profiles, PTZ configurations in profiles, snapshot and stream URIs and their faults."""

from __future__ import annotations

import pytest
from lxml import etree

from devmgr.inventory.collect import STREAM_SETUP
from hil.camera import Camera
from hil.errors import DeviceFault
from hil.measure import MeasurementLog
from hil.spec import MEDIA, conformance
from hil.suite.helpers import differences, profiles, text, url_host

pytestmark = pytest.mark.hil_requires("media")

ENCODINGS = {"JPEG", "MPEG4", "H264", "H265"}
UNKNOWN_PROFILE = "hil-no-such-profile"


def _resolution(profile: etree._Element) -> tuple[int, int]:
    width = text(profile, "{*}VideoEncoderConfiguration/{*}Resolution/{*}Width")
    height = text(profile, "{*}VideoEncoderConfiguration/{*}Resolution/{*}Height")
    return int(width or 0), int(height or 0)


def _complete(profile: etree._Element) -> bool:
    """A profile with a video source and a video encoder configuration."""
    return (profile.find("{*}VideoSourceConfiguration") is not None
            and profile.find("{*}VideoEncoderConfiguration") is not None)


def _subcodes(fault: object) -> list[str]:
    return [s.rsplit(":", 1)[-1] for s in getattr(fault, "subcodes", [])]


@conformance("MEDIA-1-1-1", MEDIA, "MEDIA PROFILE CONFIGURATION", checks="""
    GetProfiles returns at least one profile, at least one with a video source and a video
    encoder configuration, and every profile carries the 'fixed' attribute""")
def test_MEDIA_1_1_1_profiles(camera: Camera) -> None:
    found = profiles(camera)
    assert found, f"{camera}: GetProfiles returns no profile (MEDIA-1-1-1)"
    assert any(_complete(p) for p in found), (
        f"{camera}: no profile has both a VideoSourceConfiguration and a "
        "VideoEncoderConfiguration (MEDIA-1-1-1)")
    unfixed = [p.get("token", "?") for p in found if p.get("fixed") is None]
    assert not unfixed, f"{camera}: profiles {unfixed} lack the 'fixed' attribute (MEDIA-1-1-1)"


@conformance("MEDIA-1-1-3", MEDIA, "PROFILES CONSISTENCY", checks="""
    GetProfiles' tokens are unique, and GetProfile of each token returns the same profile
    (every element and attribute)""")
def test_MEDIA_1_1_3_profiles_consistent(camera: Camera) -> None:
    found = profiles(camera)
    tokens = [p.get("token", "") for p in found]
    assert len(set(tokens)) == len(tokens), f"{camera}: duplicate profile tokens {tokens} " \
                                            "(MEDIA-1-1-3)"
    for profile in found:
        token = profile.get("token", "")
        single = camera.must_call("media", "GetProfile", {"ProfileToken": token})
        alone = single.find("{*}Profile")
        assert alone is not None, f"{camera}: GetProfile({token}) returns no Profile"
        differ = differences(profile, alone)
        assert not differ, (f"{camera}: GetProfile({token}) differs from GetProfiles: "
                            f"{'; '.join(differ[:5])} (MEDIA-1-1-3)")


@pytest.mark.hil_requires("ptz")
@conformance("MEDIA-4-1-2", MEDIA, "PTZ CONFIGURATIONS AND PROFILES CONSISTENCY", checks="""
    the PTZ service's GetConfigurations tokens are unique, and every PTZConfiguration of a
    media profile is among them with the same parameters""")
def test_MEDIA_4_1_2_ptz_configurations_in_profiles(camera: Camera) -> None:
    listed = list(camera.must_call("ptz", "GetConfigurations").iterfind("{*}PTZConfiguration"))
    tokens = [c.get("token", "") for c in listed]
    assert len(set(tokens)) == len(tokens), f"{camera}: duplicate PTZ configuration tokens " \
                                            f"{tokens} (MEDIA-4-1-2)"
    by_token = dict(zip(tokens, listed, strict=True))
    for profile in profiles(camera):
        config = profile.find("{*}PTZConfiguration")
        if config is None:
            continue
        token = config.get("token", "")
        assert token in by_token, (f"{camera}: profile {profile.get('token')} uses PTZ "
                                   f"configuration {token!r}, which GetConfigurations does not "
                                   "list (MEDIA-4-1-2)")
        differ = differences(config, by_token[token])
        assert not differ, (f"{camera}: PTZ configuration {token} differs between the profile "
                            f"and GetConfigurations: {'; '.join(differ[:5])} (MEDIA-4-1-2)")


def _decodable_jpeg(data: bytes) -> tuple[int, int] | None:
    """(width, height) of a JPEG that decodes (its size checked before a decoder allocates),
    else None."""
    from camfleet.protocols.jpeg_header import jpeg_dimensions  # noqa: PLC0415
    from devmgr.vision import decode_image  # noqa: PLC0415 (heavy; only snapshot tests need it)

    if jpeg_dimensions(data) is None:
        return None
    try:
        image = decode_image(data)
    except ValueError:
        return None
    return image.shape[1], image.shape[0]


@pytest.mark.hil_requires("snapshot")
@conformance("MEDIA-6-1-1", MEDIA, "SNAPSHOT URI", checks="""
    GetSnapshotUri for a profile with a video source and encoder configuration gives Uri,
    InvalidAfterConnect, InvalidAfterReboot and Timeout; an HTTP GET of the Uri answers 200
    with a valid JPEG (its size is measured, not judged: the Media service lets a snapshot's
    JPEG settings differ from the profile's encoder)""")
def test_MEDIA_6_1_1_snapshot_uri(camera: Camera, measure: MeasurementLog) -> None:
    profile = next((p for p in profiles(camera) if _complete(p)), None)
    assert profile is not None, f"{camera}: no profile with a video source and encoder " \
                                "(MEDIA-6-1-1)"
    token = profile.get("token", "")
    body = camera.must_call("media", "GetSnapshotUri", {"ProfileToken": token})
    missing = [name for name in ("Uri", "InvalidAfterConnect", "InvalidAfterReboot", "Timeout")
               if body.find(f"{{*}}MediaUri/{{*}}{name}") is None]
    assert not missing, f"{camera}: GetSnapshotUri({token}) lacks {', '.join(missing)} " \
                        "(MEDIA-6-1-1)"
    snapshot = camera.fetch(text(body, "{*}MediaUri/{*}Uri"))
    assert snapshot.status == 200, f"{camera}: GET {snapshot.url}: HTTP {snapshot.status} " \
                                   "(MEDIA-6-1-1)"
    size = _decodable_jpeg(snapshot.body)
    assert size is not None, (
        f"{camera}: {snapshot.url} is not a valid JPEG ({snapshot.content_type!r}, "
        f"{len(snapshot.body)} bytes) (MEDIA-6-1-1)")
    # For the record: "the JPEG settings may be taken from the profile if suitable" (Media
    # service specification, GetSnapshotUri), so a size of its own is no failure.
    measure("snapshot_width", size[0], unit="px")
    measure("snapshot_height", size[1], unit="px")


def _stream_uri_fault(camera: Camera, params: dict[str, object], case_id: str) -> object:
    try:
        return camera.expect_fault("media", "GetStreamUri", params)
    except DeviceFault as exc:
        raise AssertionError(f"{exc} ({case_id})") from None


@conformance("MEDIA-7-1-2", MEDIA, "SOAP FAULT MESSAGE", checks="""
    GetStreamUri with the invalid transport protocol "RTP" is refused with a SOAP 1.2 fault
    (env:Sender or env:Receiver)""")
def test_MEDIA_7_1_2_stream_uri_invalid_transport(camera: Camera) -> None:
    token = profiles(camera)[0].get("token", "")
    fault = _stream_uri_fault(camera, {"ProfileToken": token, "StreamSetup": {
        "Stream": "RTP-Unicast", "Transport": {"Protocol": "RTP"}}}, "MEDIA-7-1-2")
    code = getattr(fault, "code", "")
    assert code.endswith(("Sender", "Receiver")), (
        f"{camera}: GetStreamUri with transport RTP: fault code {code!r} is not a SOAP 1.2 "
        "env:Sender or env:Receiver (MEDIA-7-1-2)")


@conformance("MEDIA-7-1-4", MEDIA, "SOAP FAULT MESSAGE (INVALID MEDIA PROFILE)", checks="""
    GetStreamUri for a profile token that does not exist is refused with the SOAP fault
    env:Sender/ter:InvalidArgVal/ter:NoProfile""")
def test_MEDIA_7_1_4_stream_uri_unknown_profile(camera: Camera) -> None:
    fault = _stream_uri_fault(camera, {"ProfileToken": UNKNOWN_PROFILE,
                                       "StreamSetup": STREAM_SETUP}, "MEDIA-7-1-4")
    code, subcodes = getattr(fault, "code", ""), _subcodes(fault)
    said = [code.rsplit(":", 1)[-1], *subcodes[:2]]
    assert said == ["Sender", "InvalidArgVal", "NoProfile"], (
        f"{camera}: GetStreamUri({UNKNOWN_PROFILE}): fault {code} {subcodes}, expected "
        "env:Sender/ter:InvalidArgVal/ter:NoProfile (MEDIA-7-1-4)")


@conformance("MEDIA-7-1-5", MEDIA, "START MULTICAST STREAMING (INVALID PROFILE)", checks="""
    StartMulticastStreaming for a profile token that does not exist is refused with
    ter:InvalidArgVal/ter:NoProfile, or ter:ActionNotSupported by a device without multicast""")
def test_MEDIA_7_1_5_multicast_unknown_profile(camera: Camera) -> None:
    try:
        fault = camera.expect_fault("media", "StartMulticastStreaming",
                                    {"ProfileToken": UNKNOWN_PROFILE})
    except DeviceFault as exc:
        raise AssertionError(f"{exc} (MEDIA-7-1-5)") from None
    subcodes = _subcodes(fault)
    assert "NoProfile" in subcodes or "ActionNotSupported" in subcodes, (
        f"{camera}: StartMulticastStreaming({UNKNOWN_PROFILE}): fault {fault.code} "
        f"{subcodes}, expected ter:NoProfile or ter:ActionNotSupported (MEDIA-7-1-5)")


@conformance("MEDIA-8-1-1", MEDIA, "MEDIA SERVICE CAPABILITIES", checks="""
    the media service's GetServiceCapabilities answers with Capabilities""")
def test_MEDIA_8_1_1_service_capabilities(camera: Camera) -> None:
    body = camera.must_call("media", "GetServiceCapabilities")
    assert body.find("{*}Capabilities") is not None, (
        f"{camera}: media GetServiceCapabilities has no Capabilities (MEDIA-8-1-1)")


# -- camfleet's own -------------------------------------------------------------------------------
def test_CAMFLEET_media_profiles(camera: Camera) -> None:
    """Every profile has a token, a video source, a known encoding and a resolution."""
    for profile in profiles(camera):
        token = profile.get("token", "")
        assert token, f"{camera}: a media profile has no token"
        assert profile.find("{*}VideoSourceConfiguration") is not None, (
            f"{camera}: profile {token} has no video source configuration")
        encoding = text(profile, "{*}VideoEncoderConfiguration/{*}Encoding")
        assert encoding in ENCODINGS, f"{camera}: profile {token}: encoding {encoding!r}"
        width, height = _resolution(profile)
        assert width > 0, f"{camera}: profile {token} has no resolution width"
        assert height > 0, f"{camera}: profile {token} has no resolution height"


def test_CAMFLEET_stream_uri_for_each_profile(camera: Camera) -> None:
    """GetStreamUri (RTP unicast over RTSP) gives an rtsp:// URI on the camera's address."""
    for profile in profiles(camera):
        token = profile.get("token", "")
        body = camera.must_call("media", "GetStreamUri", {"ProfileToken": token,
                                                          "StreamSetup": STREAM_SETUP})
        uri = text(body, "{*}MediaUri/{*}Uri")
        assert uri.startswith("rtsp://"), f"{camera}: profile {token}: stream URI {uri!r}"
        assert url_host(uri), f"{camera}: profile {token}: stream URI {uri!r} has no host"


@pytest.mark.hil_requires("snapshot")
def test_CAMFLEET_snapshot_for_each_profile(camera: Camera, measure: MeasurementLog) -> None:
    """Each profile's snapshot URI serves a decodable JPEG of the profile's resolution."""
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
        size = _decodable_jpeg(snapshot.body)
        assert size is not None, f"{camera}: {snapshot.url} is not a decodable JPEG"
        assert size == _resolution(profile), (
            f"{camera}: profile {token}: snapshot is {size[0]}x{size[1]}, the profile encodes "
            f"{_resolution(profile)[0]}x{_resolution(profile)[1]}")
