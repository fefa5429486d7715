"""Media service (ONVIF Media 1, trt): profiles, sources, stream and snapshot URIs.

Encoder configurations: :mod:`simulators.soap.services.encoders`."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from simulators import video
from simulators.soap.envelope import sender_fault
from simulators.soap.registry import Access, Context, Routes
from simulators.soap.services.ptz import ptz_configuration
from simulators.state import CameraState
from simulators.video import Profile

ROUTES = Routes("media")

VIDEO_SOURCE = "VideoSource_1"
VIDEO_SOURCE_CONFIG = "VideoSourceConfig_1"
#: tt:TransportProtocol values a unicast stream can be set up over.
TRANSPORTS = frozenset({"UDP", "TCP", "RTSP", "HTTP"})
#: token -> the media profile
PROFILES: dict[str, Profile] = {p.token: p for p in video.PROFILES}
#: The sensor's frame rate (GetVideoSources).
SOURCE_FPS = 25.0


def profile_resolution(state: CameraState, token: str) -> tuple[int, int]:
    config = state.encoders[token]
    return config.width, config.height


def video_source_configuration(ctx: Context) -> dict[str, Any]:
    optics = ctx.state.spec.optics
    return {"token": VIDEO_SOURCE_CONFIG, "Name": "VideoSourceConfig", "UseCount": len(PROFILES),
            "SourceToken": VIDEO_SOURCE,
            "Bounds": {"x": 0, "y": 0, "width": optics.width, "height": optics.height}}


def video_encoder_configuration(ctx: Context, token: str) -> dict[str, Any]:
    """tt:VideoEncoderConfiguration of a profile, from the record its stream is encoded with."""
    config = ctx.state.encoders[token]
    index = token.rsplit("_", 1)[1]
    result: dict[str, Any] = {
        "token": video.encoder_token(token), "Name": f"VideoEncoder{index}", "UseCount": 1,
        "Encoding": config.codec, "Resolution": {"Width": config.width, "Height": config.height},
        "Quality": config.jpeg_quality / 10,
        "RateControl": {"FrameRateLimit": round(config.fps), "EncodingInterval": 1,
                        "BitrateLimit": config.bitrate_kbps},
        "Multicast": {"Address": {"Type": "IPv4", "IPv4Address": "0.0.0.0"}, "Port": 0,
                      "TTL": 1, "AutoStart": False},
        "SessionTimeout": timedelta(seconds=60),
    }
    if config.codec == "H264":
        result["H264"] = {"GovLength": config.gop_length, "H264Profile": "Main"}
    return result


def profile(ctx: Context, token: str) -> dict[str, Any]:
    result: dict[str, Any] = {
        "token": token, "fixed": True, "Name": PROFILES[token].name,
        "VideoSourceConfiguration": video_source_configuration(ctx),
        "VideoEncoderConfiguration": video_encoder_configuration(ctx, token),
    }
    if ctx.state.spec.is_ptz:
        result["PTZConfiguration"] = ptz_configuration(ctx)
    return result


def stream_uri(state: CameraState, token: str) -> str:
    """Where the profile's RTSP stream is served (the port the camera's server really has)."""
    return f"rtsp://{state.spec.network.address}:{state.rtsp_port}{state.encoders[token].path}"


def require_profile(request: Any) -> str:
    token = getattr(request, "ProfileToken", None)
    if token not in PROFILES:
        raise sender_fault(f"no media profile {token!r}", "ter:InvalidArgVal", "ter:NoProfile")
    return str(token)


@ROUTES.operation("GetProfiles", Access.READ_MEDIA)
def get_profiles(ctx: Context, request: Any) -> dict[str, Any]:
    return {"Profiles": [profile(ctx, token) for token in PROFILES]}


@ROUTES.operation("GetProfile", Access.READ_MEDIA)
def get_profile(ctx: Context, request: Any) -> dict[str, Any]:
    return {"Profile": profile(ctx, require_profile(request))}


@ROUTES.operation("GetVideoSources", Access.READ_MEDIA)
def get_video_sources(ctx: Context, request: Any) -> dict[str, Any]:
    optics = ctx.state.spec.optics
    return {"VideoSources": [{"token": VIDEO_SOURCE, "Framerate": SOURCE_FPS,
                              "Resolution": {"Width": optics.width, "Height": optics.height}}]}


@ROUTES.operation("GetStreamUri", Access.READ_MEDIA)
def get_stream_uri(ctx: Context, request: Any) -> dict[str, Any]:
    token = require_profile(request)
    setup = getattr(request, "StreamSetup", None)
    stream = getattr(setup, "Stream", "RTP-Unicast") if setup is not None else "RTP-Unicast"
    transport = getattr(getattr(setup, "Transport", None), "Protocol", "RTSP")
    if stream != "RTP-Unicast" or transport not in TRANSPORTS:
        # MEDIA-7-1-2: a stream setup the device does not support (an unknown transport such
        # as "RTP", RTP multicast) is an InvalidArgVal fault.
        raise sender_fault(f"stream type {stream} over {transport} is not supported",
                           "ter:InvalidArgVal", "ter:InvalidStreamSetup")
    return {"MediaUri": {"Uri": stream_uri(ctx.state, token),
                         "InvalidAfterConnect": False, "InvalidAfterReboot": False,
                         "Timeout": timedelta(seconds=60)}}


@ROUTES.operation("GetSnapshotUri", Access.READ_MEDIA)
def get_snapshot_uri(ctx: Context, request: Any) -> dict[str, Any]:
    token = require_profile(request)
    return {"MediaUri": {"Uri": f"{ctx.snapshot_url}?profile={token}",
                         "InvalidAfterConnect": False, "InvalidAfterReboot": False,
                         "Timeout": timedelta(seconds=60)}}
