"""PTZ service (ONVIF PTZ 2.0, tptz): nodes, configurations, moves, presets, home.

Positions travel in two spaces: ONVIF's generic space (pan/tilt -1..1 over the mechanical
range, zoom 0..1) and, for Profile T, SphericalPositionSpaceDegrees. Internally everything is
degrees relative to the mount (``PtzVector``); conversion happens here, at the boundary.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from camfleet.model import PtzVector
from camfleet.protocols.ptz_spaces import (
    PT_POSITION_DEGREES,
    PT_POSITION_GENERIC,
    PT_SPEED_GENERIC,
    PT_TRANSLATION_GENERIC,
    PT_VELOCITY_GENERIC,
    Z_POSITION_GENERIC,
    Z_SPEED_GENERIC,
    Z_TRANSLATION_GENERIC,
    Z_VELOCITY_GENERIC,
)
from simulators.ptz import PtzError
from simulators.soap.envelope import action_not_supported, receiver_fault, sender_fault
from simulators.soap.registry import Access, Context, Routes

ROUTES = Routes("ptz")

NODE_TOKEN = "PTZNode_1"
CONFIG_TOKEN = "PTZConfig_1"
DEFAULT_TIMEOUT = timedelta(seconds=5)
MAX_TIMEOUT = timedelta(seconds=60)


def _range(lo: float, hi: float) -> dict[str, float]:
    return {"Min": lo, "Max": hi}


def supported_spaces(ctx: Context) -> dict[str, Any]:
    ptz = ctx.state.spec.ptz
    absolute_pt = [{"URI": PT_POSITION_GENERIC, "XRange": _range(-1, 1),
                    "YRange": _range(-1, 1)}]
    if ptz.degrees_space:
        absolute_pt.append({"URI": PT_POSITION_DEGREES,
                            "XRange": _range(ptz.pan_range.min, ptz.pan_range.max),
                            "YRange": _range(ptz.tilt_range.min, ptz.tilt_range.max)})

    return {
        "AbsolutePanTiltPositionSpace": absolute_pt,
        "AbsoluteZoomPositionSpace": [{"URI": Z_POSITION_GENERIC, "XRange": _range(0, 1)}],
        "RelativePanTiltTranslationSpace": [{"URI": PT_TRANSLATION_GENERIC,
                                             "XRange": _range(-1, 1), "YRange": _range(-1, 1)}],
        "RelativeZoomTranslationSpace": [{"URI": Z_TRANSLATION_GENERIC,
                                          "XRange": _range(-1, 1)}],
        "ContinuousPanTiltVelocitySpace": [{"URI": PT_VELOCITY_GENERIC, "XRange": _range(-1, 1),
                                            "YRange": _range(-1, 1)}],
        "ContinuousZoomVelocitySpace": [{"URI": Z_VELOCITY_GENERIC, "XRange": _range(-1, 1)}],
        "PanTiltSpeedSpace": [{"URI": PT_SPEED_GENERIC, "XRange": _range(0, 1)}],
        "ZoomSpeedSpace": [{"URI": Z_SPEED_GENERIC, "XRange": _range(0, 1)}],
    }


def ptz_node(ctx: Context) -> dict[str, Any]:
    ptz = ctx.state.spec.ptz
    return {"token": NODE_TOKEN, "FixedHomePosition": ptz.home_fixed, "Name": "PTZ",
            "SupportedPTZSpaces": supported_spaces(ctx),
            "MaximumNumberOfPresets": ptz.max_presets, "HomeSupported": True}


def ptz_configuration(ctx: Context) -> dict[str, Any]:
    pan, tilt = ctx.state.spec.ptz.generic_limits()
    zoom = ctx.state.ptz.limits.zoom
    return {
        "token": CONFIG_TOKEN, "Name": "PTZConfig", "UseCount": 2, "NodeToken": NODE_TOKEN,
        "DefaultAbsolutePantTiltPositionSpace": PT_POSITION_GENERIC,
        "DefaultAbsoluteZoomPositionSpace": Z_POSITION_GENERIC,
        "DefaultRelativePanTiltTranslationSpace": PT_TRANSLATION_GENERIC,
        "DefaultRelativeZoomTranslationSpace": Z_TRANSLATION_GENERIC,
        "DefaultContinuousPanTiltVelocitySpace": PT_VELOCITY_GENERIC,
        "DefaultContinuousZoomVelocitySpace": Z_VELOCITY_GENERIC,
        "DefaultPTZSpeed": {"PanTilt": {"x": 1.0, "y": 1.0, "space": PT_SPEED_GENERIC},
                            "Zoom": {"x": 1.0, "space": Z_SPEED_GENERIC}},
        "DefaultPTZTimeout": DEFAULT_TIMEOUT,
        "PanTiltLimits": {"Range": {"URI": PT_POSITION_GENERIC,
                                    "XRange": _range(pan.min, pan.max),
                                    "YRange": _range(tilt.min, tilt.max)}},
        "ZoomLimits": {"Range": {"URI": Z_POSITION_GENERIC,
                                 "XRange": _range(zoom.min, zoom.max)}},
    }


def to_wire(ctx: Context, position: PtzVector) -> dict[str, Any]:
    x, y, z = ctx.state.spec.ptz.to_generic(position)
    return {"PanTilt": {"x": x, "y": y, "space": PT_POSITION_GENERIC},
            "Zoom": {"x": z, "space": Z_POSITION_GENERIC}}


def require_ptz(ctx: Context, request: Any) -> None:
    if not ctx.state.spec.is_ptz:
        raise action_not_supported("PTZ (this is a fixed camera)")
    token = getattr(request, "ProfileToken", None)
    if token is not None and token not in ("Profile_1", "Profile_2"):
        raise sender_fault(f"no media profile {token!r}", "ter:InvalidArgVal", "ter:NoProfile")


def _moved_axes(vector: Any) -> tuple[str, ...]:
    axes: tuple[str, ...] = ()
    if vector is not None and getattr(vector, "PanTilt", None) is not None:
        axes += ("pan", "tilt")
    if vector is not None and getattr(vector, "Zoom", None) is not None:
        axes += ("zoom",)
    return axes


def _space(element: Any, default: str) -> str:
    return getattr(element, "space", None) or default


def absolute_target(ctx: Context, position: Any) -> PtzVector:
    """A requested absolute position in degrees; unspecified axes keep their target."""
    ptz = ctx.state.spec.ptz
    here = ctx.state.ptz.position()
    pan, tilt, zoom = here.pan, here.tilt, here.zoom
    pan_tilt = getattr(position, "PanTilt", None)
    if pan_tilt is not None:
        space = _space(pan_tilt, PT_POSITION_GENERIC)
        if space == PT_POSITION_GENERIC:
            for value in (pan_tilt.x, pan_tilt.y):
                if not -1.0 <= value <= 1.0:
                    raise sender_fault(f"generic position {value} is outside -1..1",
                                       "ter:InvalidArgVal", "ter:InvalidPosition")
            converted = ptz.from_generic(pan_tilt.x, pan_tilt.y, zoom)
            pan, tilt = converted.pan, converted.tilt
        elif space == PT_POSITION_DEGREES and ptz.degrees_space:
            pan, tilt = float(pan_tilt.x), float(pan_tilt.y)
        else:
            raise sender_fault(f"pan/tilt space {space} is not supported",
                               "ter:InvalidArgVal", "ter:SpaceNotSupported")
    zoom_el = getattr(position, "Zoom", None)
    if zoom_el is not None:
        space = _space(zoom_el, Z_POSITION_GENERIC)
        if space != Z_POSITION_GENERIC:
            raise sender_fault(f"zoom space {space} is not supported", "ter:InvalidArgVal",
                               "ter:SpaceNotSupported")
        zoom = float(zoom_el.x)
    return PtzVector(pan=pan, tilt=tilt, zoom=zoom)


def speed_fractions(speed: Any) -> PtzVector | None:
    if speed is None:
        return None
    pan_tilt = getattr(speed, "PanTilt", None)
    zoom = getattr(speed, "Zoom", None)
    pt = (abs(pan_tilt.x), abs(pan_tilt.y)) if pan_tilt is not None else (1.0, 1.0)
    z = abs(zoom.x) if zoom is not None else 1.0
    return PtzVector(pan=pt[0], tilt=pt[1], zoom=z)


def _move(ctx: Context, target: PtzVector, speed: Any, axes: tuple[str, ...]) -> None:
    try:
        ctx.state.ptz.absolute_move(target, speed_fractions(speed), axes)
    except PtzError as exc:
        raise sender_fault(str(exc), "ter:InvalidArgVal", exc.subcode) from exc


@ROUTES.operation("GetNodes", Access.READ_SYSTEM)
def get_nodes(ctx: Context, request: Any) -> dict[str, Any]:
    require_ptz(ctx, request)
    return {"PTZNode": [ptz_node(ctx)]}


@ROUTES.operation("GetNode", Access.READ_SYSTEM)
def get_node(ctx: Context, request: Any) -> dict[str, Any]:
    require_ptz(ctx, request)
    if request.NodeToken != NODE_TOKEN:
        raise sender_fault(f"no PTZ node {request.NodeToken!r}", "ter:InvalidArgVal",
                           "ter:NoEntity")
    return {"PTZNode": ptz_node(ctx)}


@ROUTES.operation("GetConfigurations", Access.READ_MEDIA)
def get_configurations(ctx: Context, request: Any) -> dict[str, Any]:
    require_ptz(ctx, request)
    return {"PTZConfiguration": [ptz_configuration(ctx)]}


def _require_config(token: Any) -> None:
    if token != CONFIG_TOKEN:
        raise sender_fault(f"no PTZ configuration {token!r}", "ter:InvalidArgVal",
                           "ter:NoConfig")


@ROUTES.operation("GetConfiguration", Access.READ_MEDIA)
def get_configuration(ctx: Context, request: Any) -> dict[str, Any]:
    require_ptz(ctx, request)
    _require_config(request.PTZConfigurationToken)
    return {"PTZConfiguration": ptz_configuration(ctx)}


@ROUTES.operation("GetConfigurationOptions", Access.READ_MEDIA)
def get_configuration_options(ctx: Context, request: Any) -> dict[str, Any]:
    require_ptz(ctx, request)
    _require_config(request.ConfigurationToken)
    return {"PTZConfigurationOptions": {
        "Spaces": supported_spaces(ctx),
        "PTZTimeout": {"Min": timedelta(seconds=1), "Max": MAX_TIMEOUT},
    }}


@ROUTES.operation("GetStatus", Access.READ_MEDIA)
def get_status(ctx: Context, request: Any) -> dict[str, Any]:
    require_ptz(ctx, request)
    pan_tilt, zoom = ctx.state.ptz.status()
    return {"PTZStatus": {
        "Position": to_wire(ctx, ctx.state.ptz.position()),
        "MoveStatus": {"PanTilt": pan_tilt.value, "Zoom": zoom.value},
        "UtcTime": ctx.state.utc_now().replace(microsecond=0),
    }}


@ROUTES.operation("AbsoluteMove", Access.ACTUATE)
def absolute_move(ctx: Context, request: Any) -> dict[str, Any]:
    require_ptz(ctx, request)
    target = absolute_target(ctx, request.Position)
    _move(ctx, target, request.Speed, _moved_axes(request.Position) or ())
    return {}


@ROUTES.operation("RelativeMove", Access.ACTUATE)
def relative_move(ctx: Context, request: Any) -> dict[str, Any]:
    require_ptz(ctx, request)
    ptz = ctx.state.spec.ptz
    translation = request.Translation
    pan_tilt = getattr(translation, "PanTilt", None)
    zoom = getattr(translation, "Zoom", None)
    for element, default in ((pan_tilt, PT_TRANSLATION_GENERIC), (zoom, Z_TRANSLATION_GENERIC)):
        if element is not None and _space(element, default) != default:
            raise sender_fault(f"translation space {element.space} is not supported",
                               "ter:InvalidArgVal", "ter:SpaceNotSupported")
    # A generic translation of 1 is half the mechanical range (the generic span is 2).
    delta = PtzVector(
        pan=(pan_tilt.x if pan_tilt is not None else 0.0) * (ptz.pan_range.max
                                                             - ptz.pan_range.min) / 2,
        tilt=(pan_tilt.y if pan_tilt is not None else 0.0) * (ptz.tilt_range.max
                                                              - ptz.tilt_range.min) / 2,
        zoom=zoom.x if zoom is not None else 0.0,
    )
    ctx.state.ptz.relative_move(delta, speed_fractions(request.Speed),
                                _moved_axes(translation))
    return {}


@ROUTES.operation("ContinuousMove", Access.ACTUATE)
def continuous_move(ctx: Context, request: Any) -> dict[str, Any]:
    require_ptz(ctx, request)
    velocity = request.Velocity
    pan_tilt = getattr(velocity, "PanTilt", None)
    zoom = getattr(velocity, "Zoom", None)
    vector = PtzVector(pan=pan_tilt.x if pan_tilt is not None else 0.0,
                       tilt=pan_tilt.y if pan_tilt is not None else 0.0,
                       zoom=zoom.x if zoom is not None else 0.0)
    for value in (vector.pan, vector.tilt, vector.zoom):
        if not -1.0 <= value <= 1.0:
            raise sender_fault(f"velocity {value} is outside -1..1", "ter:InvalidArgVal",
                               "ter:InvalidVelocity")
    timeout = request.Timeout
    seconds = timeout.total_seconds() if isinstance(timeout, timedelta) else None
    if seconds is not None and seconds > MAX_TIMEOUT.total_seconds():
        raise sender_fault(f"timeout {seconds:g} s exceeds {MAX_TIMEOUT.total_seconds():g} s",
                           "ter:InvalidArgVal", "ter:TimeoutNotSupported")
    ctx.state.ptz.continuous_move(vector, seconds)
    return {}


@ROUTES.operation("Stop", Access.ACTUATE)
def stop(ctx: Context, request: Any) -> dict[str, Any]:
    require_ptz(ctx, request)
    pan_tilt = request.PanTilt if request.PanTilt is not None else True
    zoom = request.Zoom if request.Zoom is not None else True
    ctx.state.ptz.stop(pan_tilt=bool(pan_tilt), zoom=bool(zoom))
    return {}


@ROUTES.operation("GetPresets", Access.READ_MEDIA)
def get_presets(ctx: Context, request: Any) -> dict[str, Any]:
    require_ptz(ctx, request)
    return {"Preset": [{"token": p.token, "Name": p.name,
                        "PTZPosition": to_wire(ctx, p.position)}
                       for p in ctx.state.presets.values()]}


@ROUTES.operation("SetPreset", Access.ACTUATE)
def set_preset(ctx: Context, request: Any) -> dict[str, Any]:
    require_ptz(ctx, request)
    state = ctx.state
    name, token = request.PresetName, request.PresetToken
    if token is not None and token not in state.presets:
        raise sender_fault(f"no preset {token!r} to overwrite", "ter:InvalidArgVal",
                           "ter:NoToken")
    if name is not None and len(name) > 64:
        raise sender_fault("preset name longer than 64 characters", "ter:InvalidArgVal",
                           "ter:InvalidPresetName")
    if name is not None and any(p.name == name and p.token != token
                                for p in state.presets.values()):
        raise sender_fault(f"a preset named {name!r} exists", "ter:InvalidArgVal",
                           "ter:PresetExist")
    if token is None and len(state.presets) >= state.spec.ptz.max_presets:
        raise receiver_fault("the preset table is full", "ter:Action", "ter:TooManyPresets")
    if state.ptz.status()[0].value == "MOVING":
        raise receiver_fault("cannot store a preset while moving", "ter:Action",
                             "ter:MovingPTZ")
    return {"PresetToken": state.store_preset(name, token)}


def _require_preset(ctx: Context, token: Any) -> Any:
    preset = ctx.state.presets.get(token)
    if preset is None:
        raise sender_fault(f"no preset {token!r}", "ter:InvalidArgVal", "ter:NoToken")
    return preset


@ROUTES.operation("GotoPreset", Access.ACTUATE)
def goto_preset(ctx: Context, request: Any) -> dict[str, Any]:
    require_ptz(ctx, request)
    preset = _require_preset(ctx, request.PresetToken)
    _move(ctx, preset.position, request.Speed, ("pan", "tilt", "zoom"))
    return {}


@ROUTES.operation("RemovePreset", Access.ACTUATE)
def remove_preset(ctx: Context, request: Any) -> dict[str, Any]:
    require_ptz(ctx, request)
    _require_preset(ctx, request.PresetToken)
    del ctx.state.presets[request.PresetToken]
    return {}


@ROUTES.operation("GotoHomePosition", Access.ACTUATE)
def goto_home_position(ctx: Context, request: Any) -> dict[str, Any]:
    require_ptz(ctx, request)
    _move(ctx, ctx.state.home, request.Speed, ("pan", "tilt", "zoom"))
    return {}


@ROUTES.operation("SetHomePosition", Access.ACTUATE)
def set_home_position(ctx: Context, request: Any) -> dict[str, Any]:
    require_ptz(ctx, request)
    if ctx.state.spec.ptz.home_fixed:
        # PTZ-5-1-2: a fixed home position refuses to be overwritten.
        raise receiver_fault("the home position is fixed", "ter:Action",
                             "ter:CannotOverwriteHome")
    ctx.state.home = ctx.state.ptz.position()
    return {}


