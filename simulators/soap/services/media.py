"""Media service (ONVIF Media 1, trt): profiles, sources, stream and snapshot URIs."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from simulators.soap.envelope import sender_fault
from simulators.soap.registry import Access, Context, operation
from simulators.soap.services.ptz import ptz_configuration
from simulators.state import CameraState

VIDEO_SOURCE = "VideoSource_1"
VIDEO_SOURCE_CONFIG = "VideoSourceConfig_1"
#: token -> (name, scale of the sensor resolution, bitrate kbit/s)
PROFILES: dict[str, tuple[str, float, int]] = {
    "Profile_1": ("mainStream", 1.0, 4096),
    "Profile_2": ("subStream", 1 / 3, 512),
}


def profile_resolution(state: CameraState, token: str) -> tuple[int, int]:
    optics = state.spec.optics
    scale = PROFILES[token][1]
    return (max(16, round(optics.width * scale)), max(16, round(optics.height * scale)))


def video_source_configuration(ctx: Context) -> dict[str, Any]:
    optics = ctx.state.spec.optics
    return {"token": VIDEO_SOURCE_CONFIG, "Name": "VideoSourceConfig", "UseCount": len(PROFILES),
            "SourceToken": VIDEO_SOURCE,
            "Bounds": {"x": 0, "y": 0, "width": optics.width, "height": optics.height}}


def video_encoder_configuration(ctx: Context, token: str) -> dict[str, Any]:
    width, height = profile_resolution(ctx.state, token)
    index = token.rsplit("_", 1)[1]
    return {
        "token": f"VideoEncoderConfig_{index}", "Name": f"VideoEncoder{index}", "UseCount": 1,
        "Encoding": "H264", "Resolution": {"Width": width, "Height": height}, "Quality": 5.0,
        "RateControl": {"FrameRateLimit": 25, "EncodingInterval": 1,
                        "BitrateLimit": PROFILES[token][2]},
        "H264": {"GovLength": 50, "H264Profile": "Main"},
        "Multicast": {"Address": {"Type": "IPv4", "IPv4Address": "0.0.0.0"}, "Port": 0,
                      "TTL": 1, "AutoStart": False},
        "SessionTimeout": timedelta(seconds=60),
    }


def profile(ctx: Context, token: str) -> dict[str, Any]:
    result: dict[str, Any] = {
        "token": token, "fixed": True, "Name": PROFILES[token][0],
        "VideoSourceConfiguration": video_source_configuration(ctx),
        "VideoEncoderConfiguration": video_encoder_configuration(ctx, token),
    }
    if ctx.state.spec.is_ptz:
        result["PTZConfiguration"] = ptz_configuration(ctx)
    return result


def require_profile(request: Any) -> str:
    token = getattr(request, "ProfileToken", None)
    if token not in PROFILES:
        raise sender_fault(f"no media profile {token!r}", "ter:InvalidArgVal", "ter:NoProfile")
    return str(token)


@operation("media", "GetProfiles", Access.READ_MEDIA)
def get_profiles(ctx: Context, request: Any) -> dict[str, Any]:
    return {"Profiles": [profile(ctx, token) for token in PROFILES]}


@operation("media", "GetProfile", Access.READ_MEDIA)
def get_profile(ctx: Context, request: Any) -> dict[str, Any]:
    return {"Profile": profile(ctx, require_profile(request))}


@operation("media", "GetVideoSources", Access.READ_MEDIA)
def get_video_sources(ctx: Context, request: Any) -> dict[str, Any]:
    optics = ctx.state.spec.optics
    return {"VideoSources": [{"token": VIDEO_SOURCE, "Framerate": 25.0,
                              "Resolution": {"Width": optics.width, "Height": optics.height}}]}


@operation("media", "GetStreamUri", Access.READ_MEDIA)
def get_stream_uri(ctx: Context, request: Any) -> dict[str, Any]:
    token = require_profile(request)
    setup = getattr(request, "StreamSetup", None)
    stream = getattr(setup, "Stream", "RTP-Unicast") if setup is not None else "RTP-Unicast"
    if stream != "RTP-Unicast":
        # MEDIA-7-1-2: a stream setup the device does not support is an InvalidArgVal fault.
        raise sender_fault(f"stream type {stream} is not supported", "ter:InvalidArgVal",
                           "ter:InvalidStreamSetup")
    host = ctx.state.spec.network.address
    channel = token.rsplit("_", 1)[1]
    return {"MediaUri": {"Uri": f"rtsp://{host}:554/Streaming/Channels/10{channel}",
                         "InvalidAfterConnect": False, "InvalidAfterReboot": False,
                         "Timeout": timedelta(seconds=60)}}


@operation("media", "GetSnapshotUri", Access.READ_MEDIA)
def get_snapshot_uri(ctx: Context, request: Any) -> dict[str, Any]:
    token = require_profile(request)
    return {"MediaUri": {"Uri": f"{ctx.snapshot_url}?profile={token}",
                         "InvalidAfterConnect": False, "InvalidAfterReboot": False,
                         "Timeout": timedelta(seconds=60)}}
