"""PTZ (ONVIF PTZ 2.0), as the PTZ Device Test Specification's PTZ cases: nodes,
configurations and options, and moves here; presets and home in test_ptz_presets_home.py, the
generic spaces and capabilities in test_ptz_spaces.py.

Every test that moves the camera takes the ``ptz`` fixture (which marks it ``hil_moves_head``
and puts the head back where it rested). Targets are near the current position and inside the
configured limits. "The DUT moved to the specified position" is judged as the specification
allows ("PTZ accuracy is out of scope"): the reported position is nearer the target than the
position it left (or, for presets and home, nearer X than Y). camfleet's accuracy, settle time
and repeatability are the CAMFLEET tests (test_camfleet.py).
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from lxml import etree

from camfleet.model import PtzVector, Range
from camfleet.protocols.ptz_spaces import (
    PT_POSITION_GENERIC,
    PT_SPEED_GENERIC,
    PT_TRANSLATION_GENERIC,
    PT_VELOCITY_GENERIC,
    Z_POSITION_GENERIC,
    Z_SPEED_GENERIC,
    Z_TRANSLATION_GENERIC,
    Z_VELOCITY_GENERIC,
)
from devmgr.onvif.xml import parse_duration_days
from hil.camera import Camera
from hil.errors import DeviceFault
from hil.ptz import OptionSpace, PtzDriver, option_spaces, timeout_range
from hil.spec import PTZ, conformance
from hil.suite.helpers import differences, text
from hil.suite.ptz_common import (
    CONFIGURATION_PARAMETERS,
    CONTINUOUS_TIMEOUT,
    DEFAULT_SPACES,
    STEP,
    arrived,
    configuration_options,
    generic_space,
    node_problems,
    ptz_configurations,
    ptz_nodes,
    valid_options,
    wait_rest,
    zoom_target,
)

pytestmark = pytest.mark.hil_requires("ptz_service")


# -- nodes -----------------------------------------------------------------------------------------
@conformance("PTZ-1-1-1", PTZ, "PTZ NODES", checks="""
    GetNodes lists at least one PTZ node, each with SupportedPTZSpaces,
    MaximumNumberOfPresets and HomeSupported""")
def test_PTZ_1_1_1_nodes(camera: Camera) -> None:
    nodes = ptz_nodes(camera)
    assert nodes, f"{camera}: GetNodes lists no PTZ node (PTZ-1-1-1)"
    problems = [p for node in nodes for p in node_problems(node)]
    assert not problems, f"{camera}: {'; '.join(problems)} (PTZ-1-1-1)"


@conformance("PTZ-1-1-2", PTZ, "PTZ NODE", checks="""
    GetNode for a token GetNodes gives returns a PTZNode with SupportedPTZSpaces,
    MaximumNumberOfPresets and HomeSupported""")
def test_PTZ_1_1_2_node(camera: Camera) -> None:
    nodes = ptz_nodes(camera)
    assert nodes, f"{camera}: GetNodes lists no PTZ node (PTZ-1-1-2)"
    token = nodes[0].get("token", "")
    single = camera.must_call("ptz", "GetNode", {"NodeToken": token}).find("{*}PTZNode")
    assert single is not None, f"{camera}: GetNode({token}) returns no PTZNode (PTZ-1-1-2)"
    problems = node_problems(single)
    assert not problems, f"{camera}: GetNode({token}): {'; '.join(problems)} (PTZ-1-1-2)"


@conformance("PTZ-1-1-4", PTZ, "SOAP FAULT MESSAGE", checks="""
    GetNode for a token that does not exist is refused with env:Sender/ter:InvalidArgVal/
    ter:NoEntity""")
def test_PTZ_1_1_4_unknown_node(camera: Camera) -> None:
    token = "hil-no-such-node"
    try:
        fault = camera.expect_fault("ptz", "GetNode", {"NodeToken": token})
    except DeviceFault as exc:
        raise AssertionError(f"{exc} (PTZ-1-1-4)") from None
    said = [fault.code.rsplit(":", 1)[-1], *[s.rsplit(":", 1)[-1] for s in fault.subcodes[:2]]]
    assert said == ["Sender", "InvalidArgVal", "NoEntity"], (
        f"{camera}: GetNode({token}): fault {fault.code} {fault.subcodes}, expected "
        "env:Sender/ter:InvalidArgVal/ter:NoEntity (PTZ-1-1-4)")


# -- configurations --------------------------------------------------------------------------------
@conformance("PTZ-2-1-1", PTZ, "PTZ CONFIGURATIONS", checks="""
    GetConfigurations lists at least one PTZConfiguration""")
def test_PTZ_2_1_1_configurations(camera: Camera) -> None:
    assert ptz_configurations(camera), f"{camera}: GetConfigurations lists no PTZ configuration " \
                                    "(PTZ-2-1-1)"


@conformance("PTZ-2-1-2", PTZ, "PTZ CONFIGURATION", checks="""
    GetConfiguration of each configuration GetConfigurations lists returns that
    PTZConfiguration with a NodeToken and at least one default space, DefaultPTZSpeed,
    DefaultPTZTimeout, PanTiltLimits or ZoomLimits""")
def test_PTZ_2_1_2_configuration(camera: Camera) -> None:
    for config in ptz_configurations(camera):
        token = config.get("token", "")
        single = camera.must_call("ptz", "GetConfiguration", {"PTZConfigurationToken": token})
        found = single.find("{*}PTZConfiguration")
        assert found is not None, f"{camera}: GetConfiguration({token}) returns nothing " \
                                  "(PTZ-2-1-2)"
        assert found.get("token") == token, (
            f"{camera}: GetConfiguration({token}) returns configuration {found.get('token')} "
            "(PTZ-2-1-2)")
        assert text(found, "{*}NodeToken"), f"{camera}: configuration {token} has no " \
                                            "NodeToken (PTZ-2-1-2)"
        assert any(found.find(f"{{*}}{name}") is not None for name in CONFIGURATION_PARAMETERS), (
            f"{camera}: configuration {token} has none of {', '.join(CONFIGURATION_PARAMETERS)} "
            "(PTZ-2-1-2)")


@conformance("PTZ-2-1-3", PTZ, "PTZ CONFIGURATION OPTIONS", checks="""
    GetConfigurationOptions of each configuration gives valid Spaces and a PTZTimeout
    Min..Max""")
def test_PTZ_2_1_3_configuration_options(camera: Camera) -> None:
    for config in ptz_configurations(camera):
        valid_options(camera, config.get("token", ""), "PTZ-2-1-3")


@conformance("PTZ-2-1-5", PTZ, "PTZ CONFIGURATIONS AND CONFIGURATION CONSISTENCY", checks="""
    GetConfiguration of each configuration returns the same parameters as GetConfigurations""")
def test_PTZ_2_1_5_configurations_consistent(camera: Camera) -> None:
    for config in ptz_configurations(camera):
        token = config.get("token", "")
        single = camera.must_call("ptz", "GetConfiguration", {"PTZConfigurationToken": token})
        found = single.find("{*}PTZConfiguration")
        assert found is not None, f"{camera}: GetConfiguration({token}) returns nothing"
        differ = differences(config, found)
        assert not differ, (f"{camera}: configuration {token}: GetConfiguration differs from "
                            f"GetConfigurations: {'; '.join(differ[:5])} (PTZ-2-1-5)")


def _in_range(value: str, space: OptionSpace, axis: str) -> bool:
    limits: Range | None = space.x if axis == "x" else space.y
    try:
        number = float(value)
    except ValueError:
        return False
    return limits is not None and limits.contains(number, 1e-6)


def _default_problems(config: etree._Element, spaces: dict[str, list[OptionSpace]],
                      where: str, *, speed_y_range: str) -> list[str]:
    """PTZ-2-1-6/7: the configuration's default spaces and DefaultPTZSpeed against the spaces
    of the node or the options. ``speed_y_range``: the range a pan/tilt speed's y is checked
    against ("x": the specification's PTZ-2-1-6 says XRange for both)."""
    token = config.get("token", "?")
    problems = []
    for name, kind in DEFAULT_SPACES.items():
        uri = text(config, f"{{*}}{name}")
        if uri and uri not in {s.uri for s in spaces.get(kind, [])}:
            problems.append(f"configuration {token}: {name} {uri} is not among the {where}'s "
                            f"{kind}")
    speed = config.find("{*}DefaultPTZSpeed")
    for axis, kind, coordinates in (("PanTilt", "PanTiltSpeedSpace", ("x", "y")),
                                    ("Zoom", "ZoomSpeedSpace", ("x",))):
        element = speed.find(f"{{*}}{axis}") if speed is not None else None
        if element is None:
            continue
        space = next((s for s in spaces.get(kind, []) if s.uri == element.get("space")), None)
        if space is None:
            problems.append(f"configuration {token}: DefaultPTZSpeed {axis} space "
                            f"{element.get('space')} is not among the {where}'s {kind}")
            continue
        for coordinate in coordinates:
            checked = ("y" if coordinate == "y" and speed_y_range == "y" and space.y is not None
                       else "x")
            if not _in_range(element.get(coordinate, ""), space, checked):
                problems.append(f"configuration {token}: DefaultPTZSpeed {axis} {coordinate}="
                                f"{element.get(coordinate)} outside the {where}'s {kind} "
                                f"{checked.upper()}Range")
    return problems


@conformance("PTZ-2-1-6", PTZ, "PTZ CONFIGURATIONS AND PTZ NODES CONSISTENCY", checks="""
    each configuration's NodeToken names exactly one node of GetNodes; its default spaces are
    among that node's SupportedPTZSpaces; DefaultPTZSpeed's spaces are the node's speed spaces
    and its x and y lie within their XRange""")
def test_PTZ_2_1_6_configurations_and_nodes_consistent(camera: Camera) -> None:
    nodes = ptz_nodes(camera)
    problems: list[str] = []
    for config in ptz_configurations(camera):
        node_token = text(config, "{*}NodeToken")
        named = [n for n in nodes if n.get("token") == node_token]
        if len(named) != 1:
            problems.append(f"configuration {config.get('token')}: NodeToken {node_token!r} "
                            f"names {len(named)} nodes")
            continue
        problems += _default_problems(config, option_spaces(named[0]), "node",
                                      speed_y_range="x")
    assert not problems, f"{camera}: {'; '.join(problems)} (PTZ-2-1-6)"


@conformance("PTZ-2-1-7", PTZ, "PTZ CONFIGURATIONS AND CONFIGURATION OPTIONS CONSISTENCY",
             checks="""
    each configuration's default spaces are among its GetConfigurationOptions Spaces;
    DefaultPTZSpeed's spaces are the options' speed spaces with x in XRange and y in YRange;
    DefaultPTZTimeout lies within PTZTimeout Min..Max""", deviation="""
    a pan/tilt speed space is a Space1DDescription with an XRange only: where the options give
    it no YRange, DefaultPTZSpeed's y is checked against its XRange (as PTZ-2-1-6 does)""")
def test_PTZ_2_1_7_configurations_and_options_consistent(camera: Camera) -> None:
    problems: list[str] = []
    for config in ptz_configurations(camera):
        token = config.get("token", "")
        options = configuration_options(camera, token)
        problems += _default_problems(config, option_spaces(options), "options",
                                      speed_y_range="y")
        default = parse_duration_days(text(config, "{*}DefaultPTZTimeout"))
        allowed = timeout_range(options)
        if default is not None and (allowed is None
                                    or not allowed.contains(default * 86400, 1e-6)):
            problems.append(f"configuration {token}: DefaultPTZTimeout "
                            f"{text(config, '{*}DefaultPTZTimeout')} outside PTZTimeout "
                            f"{allowed}")
    assert not problems, f"{camera}: {'; '.join(problems)} (PTZ-2-1-7)"


# -- moves ---------------------------------------------------------------------------------------
def _speed(spaces: dict[str, list[OptionSpace]], pan_tilt: bool) -> dict[str, object]:
    """The Speed element "added if supported": the generic speed space's maximum."""
    kind, uri = (("PanTiltSpeedSpace", PT_SPEED_GENERIC) if pan_tilt
                 else ("ZoomSpeedSpace", Z_SPEED_GENERIC))
    space = generic_space(spaces, kind, uri)
    if space is None or space.x is None:
        return {}
    top = space.x.max
    return {"Speed": PtzDriver.vector(pan_tilt=(top, top, uri)) if pan_tilt
            else PtzDriver.vector(zoom=(top, uri))}


@pytest.mark.hil_requires("ptz")
@conformance("PTZ-3-1-1", PTZ, "ABSOLUTE MOVE", checks="""
    GetConfigurationOptions has valid Spaces and PTZTimeout; GetStatus; AbsoluteMove of pan/tilt
    (with Speed where a speed space is offered) and of zoom (where an absolute zoom space is)
    within the configured limits are accepted; GetStatus then reports the position moved to
    (accuracy out of scope: nearer the target than where it started)""")
def test_PTZ_3_1_1_absolute_move(ptz: PtzDriver) -> None:
    camera = ptz.camera
    spaces = valid_options(camera, ptz.configuration, "PTZ-3-1-1")
    start = ptz.position()
    target = start
    if generic_space(spaces, "AbsolutePanTiltPositionSpace", PT_POSITION_GENERIC) is not None:
        moved = ptz.nearby(start, STEP, -STEP)
        target = PtzVector(pan=moved.pan, tilt=moved.tilt, zoom=start.zoom)
        ptz.send("AbsoluteMove", Position=ptz.vector(pan_tilt=(target.pan, target.tilt,
                                                               PT_POSITION_GENERIC)),
                 **_speed(spaces, True))
    zoom = generic_space(spaces, "AbsoluteZoomPositionSpace", Z_POSITION_GENERIC) is not None
    if zoom:
        target = PtzVector(pan=target.pan, tilt=target.tilt,
                           zoom=zoom_target(ptz, start.zoom))
        ptz.send("AbsoluteMove", Position=ptz.vector(zoom=(target.zoom, Z_POSITION_GENERIC)),
                 **_speed(spaces, False))
    if target == start:
        pytest.skip(f"{camera.id}: no generic absolute pan/tilt or zoom space in the options")
    wrong = arrived(ptz, wait_rest(ptz, target), target, start, zoom=zoom)
    assert not wrong, f"{camera}: after AbsoluteMove GetStatus reports {'; '.join(wrong)} " \
                      "(PTZ-3-1-1)"


@pytest.mark.hil_requires("ptz", "absolute_move")
@conformance("PTZ-3-1-2", PTZ, "SOAP FAULT MESSAGE", checks="""
    GetConfigurationOptions; AbsoluteMove to a pan/tilt outside the generic space's XRange and
    YRange is refused with env:Sender/ter:InvalidArgVal/ter:InvalidPosition""")
def test_PTZ_3_1_2_absolute_move_out_of_range(ptz: PtzDriver) -> None:
    camera = ptz.camera
    spaces = valid_options(camera, ptz.configuration, "PTZ-3-1-2")
    space = generic_space(spaces, "AbsolutePanTiltPositionSpace", PT_POSITION_GENERIC)
    x = (space.x.max if space and space.x else 1.0) + 1.0
    y = (space.y.max if space and space.y else 1.0) + 1.0
    try:
        fault = camera.expect_fault("ptz", "AbsoluteMove", {
            "ProfileToken": ptz.profile,
            "Position": ptz.vector(pan_tilt=(x, y, PT_POSITION_GENERIC))})
    except DeviceFault as exc:
        raise AssertionError(f"{exc} (PTZ-3-1-2: AbsoluteMove to x={x}, y={y})") from None
    said = [fault.code.rsplit(":", 1)[-1], *[s.rsplit(":", 1)[-1] for s in fault.subcodes[:2]]]
    assert said == ["Sender", "InvalidArgVal", "InvalidPosition"], (
        f"{camera}: AbsoluteMove to x={x}, y={y}: fault {fault.code} {fault.subcodes}, expected "
        "env:Sender/ter:InvalidArgVal/ter:InvalidPosition (PTZ-3-1-2)")


@pytest.mark.hil_requires("ptz")
@conformance("PTZ-3-1-3", PTZ, "PTZ RELATIVE MOVE", checks="""
    GetConfigurationOptions has valid Spaces and PTZTimeout; GetStatus; RelativeMove of
    pan/tilt (where RelativePanTiltTranslationSpace is offered, with Speed where a speed space
    is) and of zoom (where RelativeZoomTranslationSpace is) are accepted; GetStatus then reports
    the position moved to (nearer the target than where it started)""")
def test_PTZ_3_1_3_relative_move(ptz: PtzDriver) -> None:
    camera = ptz.camera
    spaces = valid_options(camera, ptz.configuration, "PTZ-3-1-3")
    start = ptz.position()
    target = start
    if generic_space(spaces, "RelativePanTiltTranslationSpace", PT_TRANSLATION_GENERIC):
        moved = ptz.nearby(start, STEP, STEP)
        target = PtzVector(pan=moved.pan, tilt=moved.tilt, zoom=start.zoom)
        ptz.send("RelativeMove", Translation=ptz.vector(pan_tilt=(
            target.pan - start.pan, target.tilt - start.tilt, PT_TRANSLATION_GENERIC)),
            **_speed(spaces, True))
    zoom = generic_space(spaces, "RelativeZoomTranslationSpace", Z_TRANSLATION_GENERIC) is not None
    if zoom:
        target = PtzVector(pan=target.pan, tilt=target.tilt,
                           zoom=zoom_target(ptz, start.zoom))
        ptz.send("RelativeMove", Translation=ptz.vector(zoom=(
            target.zoom - start.zoom, Z_TRANSLATION_GENERIC)), **_speed(spaces, False))
    if target == start:
        pytest.skip(f"{camera.id}: no generic relative translation space in the options")
    wrong = arrived(ptz, wait_rest(ptz, target), target, start, zoom=zoom)
    assert not wrong, f"{camera}: after RelativeMove GetStatus reports {'; '.join(wrong)} " \
                      "(PTZ-3-1-3)"


def _room(ptz: PtzDriver, here: PtzVector) -> float:
    """Pan direction with more room to the limit: +1 or -1."""
    return 1.0 if ptz.pan_limits.max - here.pan >= here.pan - ptz.pan_limits.min else -1.0


def _continuous_axes(ptz: PtzDriver, spaces: dict[str, list[OptionSpace]],
                     ) -> Iterator[tuple[str, dict[str, object], str]]:
    """(axis, ContinuousMove Velocity, the MoveStatus field) for each offered velocity space."""
    here = ptz.position()
    if generic_space(spaces, "ContinuousPanTiltVelocitySpace", PT_VELOCITY_GENERIC):
        yield ("pan/tilt", ptz.vector(pan_tilt=(0.2 * _room(ptz, here), 0.0,
                                                PT_VELOCITY_GENERIC)), "pan_tilt")
    if generic_space(spaces, "ContinuousZoomVelocitySpace", Z_VELOCITY_GENERIC):
        direction = 1.0 if here.zoom <= (ptz.zoom_limits.min + ptz.zoom_limits.max) / 2 else -1.0
        yield ("zoom", ptz.vector(zoom=(0.2 * direction, Z_VELOCITY_GENERIC)), "zoom")


@pytest.mark.hil_requires("ptz")
@pytest.mark.hil_slow("PTZ-3-1-4 waits 60 s after each of two continuous moves (PT60S)")
@conformance("PTZ-3-1-4", PTZ, "PTZ CONTINUOUS MOVE", checks="""
    GetConfigurationOptions has valid Spaces and PTZTimeout; ContinuousMove of pan/tilt (where
    ContinuousPanTiltVelocitySpace is offered) with Timeout PT60S is accepted and GetStatus
    says MOVING or UNKNOWN; 60 s later GetStatus says IDLE or UNKNOWN; then the same for zoom
    (ContinuousZoomVelocitySpace). A MoveStatus the camera does not report is not checked""")
def test_PTZ_3_1_4_continuous_move(ptz: PtzDriver) -> None:
    camera = ptz.camera
    spaces = valid_options(camera, ptz.configuration, "PTZ-3-1-4")
    tried = False
    for axis, velocity, field in _continuous_axes(ptz, spaces):
        tried = True
        ptz.send("ContinuousMove", Velocity=velocity, Timeout=CONTINUOUS_TIMEOUT)
        moving = getattr(ptz.status(), field)
        assert moving in ("", "MOVING", "UNKNOWN"), (
            f"{camera}: right after a {axis} ContinuousMove GetStatus says {moving}, not MOVING "
            "or UNKNOWN (PTZ-3-1-4)")
        time.sleep(CONTINUOUS_TIMEOUT.total_seconds())
        after = getattr(ptz.status(), field)
        assert after in ("", "IDLE", "UNKNOWN"), (
            f"{camera}: 60 s after a {axis} ContinuousMove with Timeout PT60S GetStatus says "
            f"{after}, not IDLE or UNKNOWN (PTZ-3-1-4)")
    if not tried:
        pytest.skip(f"{camera.id}: no generic continuous velocity space in the options")


@pytest.mark.hil_requires("ptz")
@conformance("PTZ-3-1-5", PTZ, "PTZ CONTINUOUS MOVE & STOP", checks="""
    GetConfigurationOptions has valid Spaces and PTZTimeout; ContinuousMove of pan/tilt (where
    ContinuousPanTiltVelocitySpace is offered) without Timeout is accepted, Stop is accepted and
    GetStatus then says IDLE or UNKNOWN; then the same for zoom (ContinuousZoomVelocitySpace)""")
def test_PTZ_3_1_5_continuous_move_and_stop(ptz: PtzDriver) -> None:
    camera = ptz.camera
    spaces = valid_options(camera, ptz.configuration, "PTZ-3-1-5")
    tried = False
    for axis, velocity, field in _continuous_axes(ptz, spaces):
        tried = True
        ptz.send("ContinuousMove", Velocity=velocity)
        ptz.stop()
        after = getattr(ptz.status(), field)
        assert after in ("", "IDLE", "UNKNOWN"), (
            f"{camera}: after a {axis} ContinuousMove and Stop GetStatus says {after}, not IDLE "
            "or UNKNOWN (PTZ-3-1-5)")
    if not tried:
        pytest.skip(f"{camera.id}: no generic continuous velocity space in the options")
