"""The picture itself (Art. 8: acceptance starts with the stream): each profile's RTSP stream,
played by FFmpeg (PyAV) as a field team's player plays it, against its encoder configuration.

Each profile is played once per camera (:func:`_played`, ~2 s) and the tests judge one property
each, so a camera whose stream is down fails the test that plays it and the others skip with
that reason, and a frozen, black, slow or wrongly sized stream fails exactly the test for it.
These are camfleet's own tests: the Real Time Streaming test specification's RTSS cases
exercise RTSP methods one by one and do not look at the picture.
"""

from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
from lxml import etree

from devmgr.media.stream import (
    BLACK_LUMA,
    LIVE_SPAN_S,
    StreamError,
    StreamSample,
    sample_stream,
)
from hil.camera import Camera
from hil.measure import MeasurementLog
from hil.suite.helpers import profiles, text

pytestmark = [pytest.mark.hil_requires("media"), pytest.mark.hil_requires("stream")]

STREAM_SETUP = {"Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}}
CODECS = {"H264": "h264", "JPEG": "mjpeg", "H265": "hevc", "MPEG4": "mpeg4"}
#: How long each profile is played: two changes of a burnt-in clock, 20+ pictures at 10 fps.
PLAY_S = 2.0


@dataclass(frozen=True)
class Played:
    token: str
    uri: str
    encoding: str
    width: int
    height: int
    fps: float
    bitrate_kbps: float
    sample: StreamSample | None
    error: str = ""


_PLAYED: dict[tuple[str, str], Played] = {}


def _configured(profile: etree._Element) -> tuple[str, int, int, float, float]:
    encoder = "{*}VideoEncoderConfiguration/"
    return (text(profile, encoder + "{*}Encoding"),
            int(text(profile, encoder + "{*}Resolution/{*}Width") or 0),
            int(text(profile, encoder + "{*}Resolution/{*}Height") or 0),
            float(text(profile, encoder + "{*}RateControl/{*}FrameRateLimit") or 0),
            float(text(profile, encoder + "{*}RateControl/{*}BitrateLimit") or 0))


def _played(camera: Camera) -> list[Played]:
    """Every profile's stream, played once per camera and run: all of them at once, as a
    recorder pulling main and sub streams does (and in the time of one)."""
    tokens = [(profile, profile.get("token", "")) for profile in profiles(camera)]
    wanted = [_unplayed(camera, profile) for profile, token in tokens
              if (camera.id, token) not in _PLAYED]
    if wanted:
        user, password = camera.target.onvif.username, camera.target.onvif_password() or ""
        with ThreadPoolExecutor(max_workers=len(wanted)) as pool:
            for played in pool.map(lambda p: _play(p, user, password), wanted):
                _PLAYED[camera.id, played.token] = played
    return [_PLAYED[camera.id, token] for _, token in tokens]


def _unplayed(camera: Camera, profile: etree._Element) -> Played:
    """A profile's stream URI and encoder configuration, before playing it."""
    token = profile.get("token", "")
    body = camera.must_call("media", "GetStreamUri", {"ProfileToken": token,
                                                      "StreamSetup": STREAM_SETUP})
    encoding, width, height, fps, bitrate = _configured(profile)
    return Played(token, text(body, "{*}MediaUri/{*}Uri"), encoding, width, height, fps,
                  bitrate, None)


def _play(played: Played, user: str, password: str) -> Played:
    try:
        sample = sample_stream(played.uri, user, password, seconds=PLAY_S)
    except StreamError as exc:
        return dataclasses.replace(played, error=str(exc))
    return dataclasses.replace(played, sample=sample)


def _samples(camera: Camera) -> list[tuple[Played, StreamSample]]:
    played = _played(camera)
    unplayable = [p.token for p in played if p.sample is None]
    if unplayable:
        pytest.skip(f"{camera}: profile(s) {unplayable} do not play: see "
                    "test_CAMFLEET_stream_plays")
    return [(p, p.sample) for p in played if p.sample is not None]


def test_CAMFLEET_stream_plays(camera: Camera, measure: MeasurementLog) -> None:
    """Each profile's GetStreamUri plays (DESCRIBE, SETUP, PLAY with the camera's account) and
    shows a first picture within the limit."""
    for played in _played(camera):
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
    played = _played(camera)
    if not played or not any(p.sample for p in played):
        pytest.skip(f"{camera}: no stream plays: see test_CAMFLEET_stream_plays")
    first = next(p for p in played if p.sample)
    try:
        sample_stream(first.uri, seconds=0.2, timeout_s=5.0)
    except StreamError:
        return
    pytest.fail(f"{camera}: profile {first.token}: {first.uri} plays without credentials")

