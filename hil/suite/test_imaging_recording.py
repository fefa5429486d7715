"""Imaging settings (Imaging Device Test Specification) and recording configuration (Recording
Control Device Test Specification; retention: Art. 16(5))."""

from __future__ import annotations

import pytest
from lxml import etree

from devmgr.onvif.xml import parse_duration_days
from hil.camera import Camera
from hil.errors import DeviceFault
from hil.measure import MeasurementLog
from hil.spec import IMAGING, RECORDING, conformance
from hil.suite.helpers import differences, text


@pytest.mark.hil_requires("imaging", "media")
@conformance("IMAGING-1-1-1", IMAGING, "IMAGING COMMAND GETIMAGINGSETTINGS", checks="""
    GetImagingSettings answers for every video source GetVideoSources lists""")
def test_IMAGING_1_1_1_imaging_settings(camera: Camera) -> None:
    sources = [s.get("token", "") for s in
               camera.must_call("media", "GetVideoSources").iterfind("{*}VideoSources")]
    assert sources, f"{camera}: GetVideoSources lists no video source (IMAGING-1-1-1)"
    for token in sources:
        try:
            body = camera.must_call("imaging", "GetImagingSettings", {"VideoSourceToken": token})
        except DeviceFault as exc:
            raise AssertionError(f"{exc} (IMAGING-1-1-1: no GetImagingSettingsResponse)") \
                from None
        assert etree.QName(body).localname == "GetImagingSettingsResponse", (
            f"{camera}: GetImagingSettings({token}) answered {body.tag} (IMAGING-1-1-1)")


def _recordings(camera: Camera) -> list[etree._Element]:
    return list(camera.must_call("recording", "GetRecordings").iterfind("{*}RecordingItem"))


@pytest.mark.hil_requires("recording")
@conformance("RECORDING-4-1-1", RECORDING, "GET RECORDINGS", checks="""
    where the camera has a recording (the pre-requisite): GetRecordings answers, without two
    recordings of the same RecordingToken""")
def test_RECORDING_4_1_1_get_recordings(camera: Camera) -> None:
    tokens = [text(item, "{*}RecordingToken") for item in _recordings(camera)]
    if not tokens:
        pytest.skip(f"{camera.id} has no recording (the case's pre-requisite)")
    duplicates = sorted({t for t in tokens if tokens.count(t) > 1})
    assert not duplicates, f"{camera}: GetRecordings repeats RecordingToken(s) {duplicates} " \
                           "(RECORDING-4-1-1)"


@pytest.mark.hil_requires("recording")
@conformance("RECORDING-4-1-2", RECORDING, "GET RECORDING CONFIGURATION", checks="""
    GetRecordingConfiguration of every recording GetRecordings lists gives the same
    configuration as GetRecordings (every element and attribute)""")
def test_RECORDING_4_1_2_recording_configuration(camera: Camera) -> None:
    recordings = _recordings(camera)
    if not recordings:
        pytest.skip(f"{camera.id} has no recording")
    for item in recordings:
        token = text(item, "{*}RecordingToken")
        listed = item.find("{*}Configuration")
        body = camera.must_call("recording", "GetRecordingConfiguration",
                                {"RecordingToken": token})
        config = body.find("{*}RecordingConfiguration")
        assert listed is not None, f"{camera}: recording {token}: GetRecordings gives no " \
                                   "Configuration (RECORDING-4-1-2)"
        assert config is not None, f"{camera}: GetRecordingConfiguration({token}) gives no " \
                                   "RecordingConfiguration (RECORDING-4-1-2)"
        differ = differences(listed, config)
        assert not differ, (f"{camera}: recording {token}: GetRecordingConfiguration differs "
                            f"from GetRecordings: {'; '.join(differ[:5])} (RECORDING-4-1-2)")


@pytest.mark.hil_requires("recording")
@conformance("RECORDING-4-1-3", RECORDING, "GET RECORDING CONFIGURATION WITH INVALID TOKEN",
             checks="""
    GetRecordingConfiguration with a RecordingToken that does not exist is refused with a SOAP
    fault (env:Sender/ter:InvalidArgVal/ter:NoRecording preferred, any fault accepted)""")
def test_RECORDING_4_1_3_invalid_token(camera: Camera) -> None:
    try:
        camera.expect_fault("recording", "GetRecordingConfiguration",
                            {"RecordingToken": "hil-no-such-recording"})
    except DeviceFault as exc:
        raise AssertionError(f"{exc} (RECORDING-4-1-3)") from None


@pytest.mark.hil_requires("recording")
def test_CAMFLEET_recording_retention(camera: Camera, measure: MeasurementLog) -> None:
    """Every recording states its retention (recorded; the limit depends on the filed class),
    the same in GetRecordings and GetRecordingConfiguration."""
    recordings = _recordings(camera)
    assert recordings, f"{camera}: GetRecordings lists no recording"
    for item in recordings:
        token = text(item, "{*}RecordingToken")
        assert token, f"{camera}: a recording has no token"
        retention = text(item, "{*}Configuration/{*}MaximumRetentionTime")
        days = parse_duration_days(retention)
        assert days is not None, (
            f"{camera}: recording {token}: MaximumRetentionTime {retention!r} is not an "
            "xs:duration")
        measure("recording_retention", days, unit="d")
        config = camera.must_call("recording", "GetRecordingConfiguration",
                                  {"RecordingToken": token}).find("{*}RecordingConfiguration")
        assert config is not None, f"{camera}: GetRecordingConfiguration({token}) is empty"
        assert parse_duration_days(text(config, "{*}MaximumRetentionTime")) == days, (
            f"{camera}: recording {token}: retention differs between GetRecordings "
            f"({retention}) and GetRecordingConfiguration "
            f"({text(config, '{*}MaximumRetentionTime')})")
        assert text(config, "{*}Content") == text(item, "{*}Configuration/{*}Content"), (
            f"{camera}: recording {token}: Content differs between the two operations")
