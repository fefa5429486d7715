"""SDP codec: H.264 and JPEG descriptions round-trip; hostile descriptions are refused."""

from __future__ import annotations

import base64

import pytest

from camfleet.protocols import sdp

SPS = bytes.fromhex("6742c01eda0280bfe5840000030004000003")
PPS = bytes.fromhex("68ce3c80")


def test_h264_description_round_trips() -> None:
    text = sdp.build_sdp([sdp.h264_media(SPS, PPS, framerate=25.0)], origin_address="127.0.0.1",
                         name="Profile_1", session_id=42)
    assert b"o=- 42 1 IN IP4 127.0.0.1\r\n" in text
    assert b"a=rtpmap:96 H264/90000\r\n" in text
    session = sdp.parse_sdp(text)
    assert (session.name, session.control) == ("Profile_1", "*")
    [media] = session.media
    assert (media.kind, media.payload_type, media.encoding, media.clock_rate) == \
        ("video", 96, "H264", 90000)
    assert (media.control, media.framerate) == ("track1", 25.0)
    params = sdp.parse_fmtp(media.fmtp)
    # RFC 6184 §8.1: profile_idc, constraint flags and level_idc of the SPS, in hex.
    assert params["profile-level-id"] == "42C01E"
    assert params["packetization-mode"] == "1"
    assert sdp.sprop_parameter_sets(media) == (SPS, PPS)


def test_jpeg_description_uses_the_static_payload_type() -> None:
    text = sdp.build_sdp([sdp.jpeg_media(framerate=10)], origin_address="::1")
    assert b"IN IP6 ::1" in text
    [media] = sdp.parse_sdp(text).media
    assert (media.payload_type, media.encoding, media.fmtp) == (26, "JPEG", "")


def test_h264_media_wants_real_parameter_sets() -> None:
    with pytest.raises(ValueError, match="SPS"):
        sdp.h264_media(PPS, SPS)
    with pytest.raises(ValueError, match="PPS"):
        sdp.h264_media(SPS, b"")


def test_a_foreign_description_parses() -> None:
    # As a live555-based camera sends it (static JPEG without rtpmap, absolute control).
    text = (b"v=0\r\no=- 1 1 IN IP4 10.0.0.2\r\ns=Session streamed by \"cam\"\r\nt=0 0\r\n"
            b"a=tool:LIVE555\r\nm=video 0 RTP/AVP 26\r\nc=IN IP4 0.0.0.0\r\nb=AS:3000\r\n"
            b"a=control:rtsp://10.0.0.2/track1\r\n")
    [media] = sdp.parse_sdp(text).media
    assert (media.encoding, media.control) == ("JPEG", "rtsp://10.0.0.2/track1")


@pytest.mark.parametrize("text", [
    b"", b"o=- 1 1 IN IP4 1.2.3.4\r\n", b"v=0\r\nnot a line\r\n", b"v=0\r\nm=video\r\n",
    b"v=0\r\nm=video 0 RTP/AVP 300\r\n", b"v=0\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/x\r\n",
    b"v=0\r\nm=video 0 RTP/AVP 96\r\na=framerate:fast\r\n", b"v=0\r\n" + b"a=x\r\n" * 300,
    b"v=0\r\n" + b"a=" + b"x" * 20000 + b"\r\n", b"v=0\r\ns=\xff\r\n",
])
def test_hostile_descriptions_are_refused(text: bytes) -> None:
    with pytest.raises(sdp.InvalidSdp):
        sdp.parse_sdp(text)


def test_bad_sprop_is_refused() -> None:
    media = sdp.MediaDescription("video", 96, "H264", fmtp="sprop-parameter-sets=@@,"
                                 + base64.b64encode(PPS).decode())
    with pytest.raises(sdp.InvalidSdp):
        sdp.sprop_parameter_sets(media)
