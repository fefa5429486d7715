"""A stream URI comes from the camera: it is played only as rtsp://, and only on the address
the camera answered at."""

from __future__ import annotations

import pytest

from camfleet.errors import ErrorKind
from devmgr.media.liveness import on_camera_address
from devmgr.media.stream import StreamError, sample_stream


@pytest.mark.parametrize("uri", ["file:///etc/passwd", "http://127.0.0.1:1/x",
                                 "concat:/etc/passwd", "/etc/passwd"])
def test_only_rtsp_is_played(uri: str) -> None:
    with pytest.raises(StreamError, match="not an rtsp:// URI") as caught:
        sample_stream(uri, seconds=0.1, timeout_s=0.5)
    assert caught.value.kind is ErrorKind.PROTOCOL


@pytest.mark.parametrize(("uri", "address", "played"), [
    ("rtsp://169.254.169.254:8554/Streaming/Channels/101", "127.0.0.7",
     "rtsp://127.0.0.7:8554/Streaming/Channels/101"),
    ("rtsp://user:pw@10.0.0.1/live?ch=1", "127.0.0.7", "rtsp://127.0.0.7/live?ch=1"),
    ("rtsp://10.0.0.1:99999/x", "::1", "rtsp://[::1]/x"),  # an impossible port is dropped
])
def test_the_stream_is_played_where_the_camera_answered(uri: str, address: str,
                                                        played: str) -> None:
    assert on_camera_address(uri, address) == played


def test_a_refused_stream_is_unreachable() -> None:
    with pytest.raises(StreamError) as caught:
        sample_stream("rtsp://127.0.0.1:9/none", seconds=0.1, timeout_s=2.0)
    assert caught.value.kind is ErrorKind.UNREACHABLE
