"""The picture itself (Art. 8: acceptance starts with the stream): each profile's RTSP stream,
played by FFmpeg (PyAV) as a field team's player plays it, against its encoder configuration.

Each profile is played once per camera (:mod:`hil.streams`, ~2 s, in the background while the
camera's other tests run) and the tests judge one property each, so a camera whose stream is
down fails the test that plays it and the others skip with that reason, and a frozen, black,
slow or wrongly sized stream fails exactly the test for it. These are camfleet's own tests: the
Real Time Streaming test specification's RTSS cases exercise RTSP methods one by one and do not
look at the picture.
"""

from __future__ import annotations

import pytest

from devmgr.media.stream import BLACK_LUMA, LIVE_SPAN_S, StreamError, StreamSample, sample_stream
from hil import streams
from hil.camera import Camera
from hil.measure import MeasurementLog
from hil.streams import PLAY_S, Played

pytestmark = [pytest.mark.hil_requires("media"), pytest.mark.hil_requires("stream")]

CODECS = {"H264": "h264", "JPEG": "mjpeg", "H265": "hevc", "MPEG4": "mpeg4"}


def _samples(camera: Camera) -> list[tuple[Played, StreamSample]]:
    played = streams.played(camera)
    unplayable = [p.token for p in played if p.sample is None]
    if unplayable:
        pytest.skip(f"{camera}: profile(s) {unplayable} do not play: see "
                    "test_CAMFLEET_stream_plays")
    return [(p, p.sample) for p in played if p.sample is not None]


def test_CAMFLEET_stream_plays(camera: Camera, measure: MeasurementLog) -> None:
    """Each profile's GetStreamUri plays (DESCRIBE, SETUP, PLAY with the camera's account) and
    shows a first picture within the limit."""
    for played in streams.played(camera):
        assert played.sample is not None, (
            f"{camera}: profile {played.token}: the stream at {played.uri} does not play: "
            f"{played.error}")
        measure("stream_first_frame", played.sample.first_frame_s, unit="s")


def test_CAMFLEET_stream_is_what_the_encoder_configuration_says(camera: Camera) -> None:
    """Each stream's codec and picture size are its encoder configuration's."""
    for played, sample in _samples(camera):
        assert sample.codec == CODECS.get(played.encoding, played.encoding.lower()), (
            f"{camera}: profile {played.token}: the stream is {sample.codec}, the encoder "
            f"configuration says {played.encoding}")
        assert (sample.width, sample.height) == (played.width, played.height), (
            f"{camera}: profile {played.token}: the stream's pictures are "
            f"{sample.width}x{sample.height}, the encoder configuration says "
            f"{played.width}x{played.height} (wrong resolution)")


def test_CAMFLEET_stream_frame_rate(camera: Camera, measure: MeasurementLog) -> None:
    """Each stream's frame rate (by its timestamps) against FrameRateLimit, and the H.264
    bitrate against BitrateLimit."""
    for played, sample in _samples(camera):
        measure("stream_fps", sample.fps, unit="fps")  # for the record, beside the ratio
        if played.fps > 0:
            measure("stream_fps_ratio", sample.fps / played.fps)
        measure("stream_bitrate", sample.bitrate_kbps, unit="kbit/s")
        if played.encoding == "H264" and played.bitrate_kbps > 0:
            measure("stream_bitrate_ratio", sample.bitrate_kbps / played.bitrate_kbps)


def test_CAMFLEET_stream_is_live(camera: Camera) -> None:
    """Each stream's pictures change while it plays (a live camera's clock and scene do); a
    stream whose timestamps run on over one repeated picture is a hung pipeline."""
    for played, sample in _samples(camera):
        if sample.span_s < LIVE_SPAN_S:
            pytest.skip(f"{camera}: profile {played.token}: {sample.frames} picture(s) over "
                        f"{sample.span_s:.1f} s are too few to judge (see "
                        "test_CAMFLEET_stream_frame_rate)")
        if (sample.width, sample.height) != (played.width, played.height):
            pytest.skip(f"{camera}: profile {played.token} is not the configured size: see "
                        "test_CAMFLEET_stream_is_what_the_encoder_configuration_says")
        if sample.mean_luma <= BLACK_LUMA:
            pytest.skip(f"{camera}: profile {played.token} is black: liveness cannot be "
                        "judged (see test_CAMFLEET_stream_is_not_black)")
        assert sample.changed, (
            f"{camera}: profile {played.token}: {sample.frames} pictures over {PLAY_S:g} s, "
            "all the same: the stream is frozen")


def test_CAMFLEET_stream_is_not_black(camera: Camera) -> None:
    """Each stream shows a picture, not black."""
    for played, sample in _samples(camera):
        assert sample.mean_luma > BLACK_LUMA, (
            f"{camera}: profile {played.token}: the picture is black (mean luma "
            f"{sample.mean_luma:.1f})")


def test_CAMFLEET_stream_refuses_anonymous_viewers(camera: Camera) -> None:
    """The stream needs credentials (Art. 17): a player without them gets no picture."""
    played = streams.played(camera)
    if not played or not any(p.sample for p in played):
        pytest.skip(f"{camera}: no stream plays: see test_CAMFLEET_stream_plays")
    first = next(p for p in played if p.sample)
    try:
        sample_stream(first.uri, seconds=0.2, timeout_s=5.0)
    except StreamError:
        return
    pytest.fail(f"{camera}: profile {first.token}: {first.uri} plays without credentials")

