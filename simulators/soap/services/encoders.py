"""Video encoder configurations of the Media 1 service (trt): read, options and set.

A configuration is the record the profile's stream is encoded with (``CameraState.encoders``),
so SetVideoEncoderConfiguration changes what the RTSP stream sends from its next picture on.
A configuration outside GetVideoEncoderConfigurationOptions is refused whole
(``ter:InvalidArgVal/ter:ConfigModify``, ONVIF Media 5.5.3) and changes nothing.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from simulators import video
from simulators.soap.envelope import sender_fault
from simulators.soap.registry import Access, Context, Routes
from simulators.soap.services.media import require_profile, video_encoder_configuration

ROUTES = Routes("media")


def _profile_of(token: object) -> str:
    profile = video.profile_of_encoder(str(token)) if token is not None else None
    if profile is None:
        raise sender_fault(f"no video encoder configuration {token!r}", "ter:InvalidArgVal",
                           "ter:NoConfig")
    return profile


@ROUTES.operation("GetVideoEncoderConfigurations", Access.READ_MEDIA)
def get_video_encoder_configurations(ctx: Context, request: Any) -> dict[str, Any]:
    return {"Configurations": [video_encoder_configuration(ctx, p.token)
                               for p in video.PROFILES]}


@ROUTES.operation("GetVideoEncoderConfiguration", Access.READ_MEDIA)
def get_video_encoder_configuration(ctx: Context, request: Any) -> dict[str, Any]:
    profile = _profile_of(getattr(request, "ConfigurationToken", None))
    return {"Configuration": video_encoder_configuration(ctx, profile)}


@ROUTES.operation("GetCompatibleVideoEncoderConfigurations", Access.READ_MEDIA)
def get_compatible_video_encoder_configurations(ctx: Context, request: Any) -> dict[str, Any]:
    # Profiles are fixed: each has its one encoder configuration.
    return {"Configurations": [video_encoder_configuration(ctx, require_profile(request))]}


def _range(bounds: tuple[float, float]) -> dict[str, float]:
    return {"Min": bounds[0], "Max": bounds[1]}


def _sizes(sizes: tuple[tuple[int, int], ...]) -> list[dict[str, int]]:
    return [{"Width": width, "Height": height} for width, height in sizes]


@ROUTES.operation("GetVideoEncoderConfigurationOptions", Access.READ_MEDIA)
def get_video_encoder_configuration_options(ctx: Context, request: Any) -> dict[str, Any]:
    token = getattr(request, "ConfigurationToken", None)
    if token is not None:
        _profile_of(token)
    elif getattr(request, "ProfileToken", None) is not None:
        require_profile(request)
    offered = video.options(ctx.state.spec)
    fps, interval = _range(offered.fps_range), _range((1, 1))
    jpeg = {"ResolutionsAvailable": _sizes(offered.resolutions["JPEG"]),
            "FrameRateRange": fps, "EncodingIntervalRange": interval}
    h264 = {"ResolutionsAvailable": _sizes(offered.resolutions["H264"]),
            "GovLengthRange": _range(offered.gov_range), "FrameRateRange": fps,
            "EncodingIntervalRange": interval, "H264ProfilesSupported": ["Main"]}
    bitrate = _range(offered.bitrate_range)
    options: dict[str, Any] = {
        "QualityRange": _range(offered.quality_range), "H264": h264,
        "Extension": {"H264": {**h264, "BitrateRange": bitrate},
                      "JPEG": {**jpeg, "BitrateRange": bitrate}},
    }
    if offered.resolutions["JPEG"]:
        options["JPEG"] = jpeg
    else:
        del options["Extension"]["JPEG"]
    return {"Options": options}


@ROUTES.operation("SetVideoEncoderConfiguration", Access.ACTUATE)
def set_video_encoder_configuration(ctx: Context, request: Any) -> dict[str, Any]:
    wanted = getattr(request, "Configuration", None)
    profile = _profile_of(getattr(wanted, "token", None))
    current = ctx.state.encoders[profile]
    resolution = getattr(wanted, "Resolution", None)
    rate = getattr(wanted, "RateControl", None)
    h264 = getattr(wanted, "H264", None)
    quality = getattr(wanted, "Quality", None)
    changes = {
        "codec": getattr(wanted, "Encoding", None),
        "width": getattr(resolution, "Width", None),
        "height": getattr(resolution, "Height", None),
        "fps": getattr(rate, "FrameRateLimit", None),
        "bitrate_kbps": getattr(rate, "BitrateLimit", None),
        "gop_length": getattr(h264, "GovLength", None),
        "jpeg_quality": None if quality is None else round(float(quality) * 10),
    }
    try:
        config = current.model_validate(
            {**current.model_dump(), **{k: v for k, v in changes.items() if v is not None}})
    except (ValidationError, ValueError, TypeError) as exc:
        raise sender_fault(f"cannot set {profile}'s encoder: {_first_error(exc)}",
                           "ter:InvalidArgVal", "ter:ConfigModify") from exc
    quality_range = video.QUALITY_RANGE
    refusal = video.options(ctx.state.spec).refusal(config)
    if refusal is None and quality is not None and not (
            quality_range[0] <= float(quality) <= quality_range[1]):
        refusal = f"quality {quality} is outside {quality_range}"
    if refusal is not None:
        raise sender_fault(f"cannot set {profile}'s encoder: {refusal}", "ter:InvalidArgVal",
                           "ter:ConfigModify")
    if config != current:
        ctx.state.encoders[profile] = config
        ctx.control.encoder_configured(profile)
    return {}


def _first_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        error = exc.errors()[0]
        return f"{'.'.join(str(p) for p in error['loc']) or 'value'}: {error['msg']}"
    return str(exc)
