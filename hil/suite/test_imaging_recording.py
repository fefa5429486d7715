"""Imaging settings, and recording configuration (retention: Art. 16(5))."""

from __future__ import annotations

import pytest

from devmgr.inventory.collect import parse_duration_days
from hil.camera import Camera
from hil.measure import MeasurementLog
from hil.suite.helpers import profiles, text


@pytest.mark.hil_requires("imaging", "media")
def test_IMAGING_1_1_1_imaging_settings(camera: Camera) -> None:
    sources = {text(p, "{*}VideoSourceConfiguration/{*}SourceToken") for p in profiles(camera)}
    sources.discard("")
    assert sources, f"{camera}: no profile names its video source"
    for token in sorted(sources):
        body = camera.must_call("imaging", "GetImagingSettings", {"VideoSourceToken": token})
        assert body.find("{*}ImagingSettings") is not None, (
            f"{camera}: GetImagingSettings({token}) has no ImagingSettings")


def _recordings(camera: Camera) -> dict[str, tuple[str, str]]:
    body = camera.must_call("recording", "GetRecordings")
    return {text(item, "{*}RecordingToken"): (
        text(item, "{*}Configuration/{*}MaximumRetentionTime"),
        text(item, "{*}Configuration/{*}Content"))
        for item in body.iterfind("{*}RecordingItem")}


@pytest.mark.hil_requires("recording")
def test_RECORDING_4_1_1_get_recordings(camera: Camera, measure: MeasurementLog) -> None:
    """Recordings and their retention (recorded; the limit depends on the filed class)."""
    recordings = _recordings(camera)
    assert recordings, f"{camera}: GetRecordings lists no recording"
    for token, (retention, _content) in recordings.items():
        assert token, f"{camera}: a recording has no token"
        days = parse_duration_days(retention)
        assert days is not None, (
            f"{camera}: recording {token}: MaximumRetentionTime {retention!r} is not an "
            "xs:duration")
        measure("recording_retention", days, unit="d")


@pytest.mark.hil_requires("recording")
def test_RECORDING_4_1_2_recording_configuration(camera: Camera) -> None:
    for token, (retention, content) in _recordings(camera).items():
        body = camera.must_call("recording", "GetRecordingConfiguration",
                                {"RecordingToken": token})
        config = body.find("{*}RecordingConfiguration")
        assert config is not None, f"{camera}: GetRecordingConfiguration({token}) is empty"
        assert parse_duration_days(text(config, "{*}MaximumRetentionTime")) == \
            parse_duration_days(retention), (
            f"{camera}: recording {token}: retention differs between GetRecordings "
            f"({retention}) and GetRecordingConfiguration "
            f"({text(config, '{*}MaximumRetentionTime')})")
        assert text(config, "{*}Content") == content, (
            f"{camera}: recording {token}: Content differs between the two operations")
