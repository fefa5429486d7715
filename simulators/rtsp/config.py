"""What an RTSP server serves (one :class:`StreamConfig` per media profile) and its bounds."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import Field, model_validator

from camfleet.model import Model
from camfleet.protocols.rtp_jpeg import MAX_DIMENSION as JPEG_MAX_DIMENSION

Codec = Literal["H264", "JPEG"]


class StreamConfig(Model):
    """One stream: a media profile's encoder settings and the path its RTSP URL names."""

    #: The media profile token (``Profile_1``); faults may name it.
    token: str = Field(min_length=1)
    #: Absolute path of the stream URL, e.g. ``/Streaming/Channels/101``.
    path: str = Field(pattern=r"^/[A-Za-z0-9._~\-/]*$", max_length=256)
    codec: Codec = "H264"
    width: int = Field(default=1920, ge=16, le=4096)
    height: int = Field(default=1080, ge=16, le=4096)
    fps: float = Field(default=25.0, gt=0.0, le=60.0)
    #: H.264 target bitrate (ONVIF RateControl/BitrateLimit).
    bitrate_kbps: int = Field(default=4096, ge=32, le=100_000)
    #: H.264 frames from one IDR to the next (ONVIF H264/GovLength).
    gop_length: int = Field(default=50, ge=1, le=1000)
    #: JPEG quality, 1 (smallest) to 100 (best).
    jpeg_quality: int = Field(default=75, ge=1, le=100)

    @model_validator(mode="after")
    def _fits_codec(self) -> Self:
        if self.codec == "H264" and (self.width % 2 or self.height % 2):
            raise ValueError(f"H.264 4:2:0 needs even dimensions, not {self.width}x{self.height}")
        if self.codec == "JPEG" and not all(
                size % 8 == 0 and size <= JPEG_MAX_DIMENSION for size in (self.width, self.height)):
            raise ValueError(f"RTP/JPEG (RFC 2435) carries multiples of 8 up to "
                             f"{JPEG_MAX_DIMENSION}, not {self.width}x{self.height}")
        if self.path.rstrip("/") != self.path or "//" in self.path:
            raise ValueError(f"stream path {self.path!r} has an empty segment or trailing /")
        return self


class RtspLimits(Model):
    """Bounds of one server, so no client can make it grow or keep it busy for free."""

    #: Open RTSP connections; more are answered 503 and closed.
    max_connections: int = Field(default=64, ge=1)
    #: Sessions (SETUP without TEARDOWN) at once; more are answered 453.
    max_sessions: int = Field(default=32, ge=1)
    max_request_head_bytes: int = Field(default=8192, ge=512)
    #: Clients send bodies only with GET/SET_PARAMETER; SDP goes the other way.
    max_request_body_bytes: int = Field(default=4096, ge=0)
    #: A connection that sends nothing for this long, and carries no interleaved session, is
    #: closed.
    idle_timeout_s: float = Field(default=60.0, gt=0.0)
    #: RFC 2326 §12.37 session timeout: a session without request or RTCP for this long ends.
    session_timeout_s: int = Field(default=60, ge=1, le=3600)
    #: Bytes queued towards one client before its frames are dropped (until a keyframe).
    max_send_buffer_bytes: int = Field(default=2 * 1024 * 1024, ge=65536)
    #: Concurrent requests of one connection being answered (pipelining bound).
    max_pending_requests: int = Field(default=8, ge=1)
