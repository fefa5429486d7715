"""Media2 service (ONVIF Media2, tr2; Profile T): profiles, stream and snapshot URIs, video
encoder configurations. The same profiles, streams and encoder records as Media 1
(:mod:`simulators.soap.services.media`), in Media2's layout."""

from __future__ import annotations

from typing import Any

from simulators import video
from simulators.soap.envelope import sender_fault
from simulators.soap.registry import Access, Context, Routes
from simulators.soap.services.media import (
    PROFILES,
    video_source_configuration,
)
from simulators.soap.services.media import (
    stream_uri as media1_stream_uri,
)

ROUTES = Routes("media2")

#: tr2:TransportProtocol values of unicast RTSP (RTSP over HTTP and multicast are not served).
UNICAST = frozenset({"RtspUnicast", "RTSP"})


def _profile(token: object) -> str:
    if token not in PROFILES:
        raise sender_fault(f"no media profile {token!r}", "ter:InvalidArgVal", "ter:NoProfile")
    return str(token)


def video_encoder2(ctx: Context, token: str) -> dict[str, Any]:
    config = ctx.state.encoders[token]
    result: dict[str, Any] = {
        "token": video.encoder_token(token), "Name": f"VideoEncoder{token.rsplit('_', 1)[1]}",
        "UseCount": 1, "Encoding": config.codec,
        "Resolution": {"Width": config.width, "Height": config.height},
        "RateControl": {"FrameRateLimit": config.fps, "BitrateLimit": config.bitrate_kbps,
                        "ConstantBitRate": False},
        "Quality": config.jpeg_quality / 10,
    }
    if config.codec == "H264":
        result.update(GovLength=config.gop_length, Profile="Main")
    return result


@ROUTES.operation("GetProfiles", Access.READ_MEDIA)
def get_profiles(ctx: Context, request: Any) -> dict[str, Any]:
    wanted = getattr(request, "Token", None)
    tokens = [_profile(wanted)] if wanted is not None else list(PROFILES)
    # Type lists the configurations wanted; none means the names alone (Media2 5.2.1).
    kinds = set(getattr(request, "Type", None) or [])
    result = []
    for token in tokens:
        configurations: dict[str, Any] = {}
        if kinds & {"All", "VideoSource"}:
            configurations["VideoSource"] = video_source_configuration(ctx)
        if kinds & {"All", "VideoEncoder"}:
            configurations["VideoEncoder"] = video_encoder2(ctx, token)
        profile: dict[str, Any] = {"token": token, "fixed": True, "Name": PROFILES[token].name}
        if configurations:
            profile["Configurations"] = configurations
        result.append(profile)
    return {"Profiles": result}


@ROUTES.operation("GetStreamUri", Access.READ_MEDIA)
def get_stream_uri(ctx: Context, request: Any) -> dict[str, Any]:
    token = _profile(getattr(request, "ProfileToken", None))
    protocol = getattr(request, "Protocol", None)
    if protocol not in UNICAST:
        raise sender_fault(f"stream protocol {protocol!r} is not supported (RtspUnicast is)",
                           "ter:InvalidArgVal", "ter:InvalidStreamSetup")
    return {"Uri": media1_stream_uri(ctx.state, token)}


@ROUTES.operation("GetSnapshotUri", Access.READ_MEDIA)
def get_snapshot_uri(ctx: Context, request: Any) -> dict[str, Any]:
    token = _profile(getattr(request, "ProfileToken", None))
    return {"Uri": f"{ctx.snapshot_url}?profile={token}"}


@ROUTES.operation("GetVideoEncoderConfigurations", Access.READ_MEDIA)
def get_video_encoder_configurations(ctx: Context, request: Any) -> dict[str, Any]:
    configuration = getattr(request, "ConfigurationToken", None)
    profile = getattr(request, "ProfileToken", None)
    if configuration is not None:
        token = video.profile_of_encoder(str(configuration))
        if token is None:
            raise sender_fault(f"no video encoder configuration {configuration!r}",
                               "ter:InvalidArgVal", "ter:NoConfig")
        tokens = [token]
    elif profile is not None:
        tokens = [_profile(profile)]
    else:
        tokens = list(PROFILES)
    return {"Configurations": [video_encoder2(ctx, token) for token in tokens]}
