"""PTZ (ONVIF PTZ 2.0): nodes, configurations and options, moves, presets, home.

Every test that moves the camera takes the ``ptz`` fixture, which puts the camera back where it
found it, in any mode. Targets are chosen near the camera's current position and inside its
configured limits, so the tests are short and never fight a limit on purpose (except
PTZ-3-1-2, which must). Accuracy itself is a camfleet check (see test_camfleet.py).
"""

from __future__ import annotations

import time
import uuid

import pytest
from lxml import etree

from devmgr.onvif.session import SoapFaultError
from hil.camera import Camera
from hil.errors import DeviceFault
from hil.measure import MeasurementLog
from hil.ptz import Position, PtzDriver
from hil.suite.helpers import text

pytestmark = pytest.mark.hil_requires("ptz")

STEP = 0.04  # generic units: ~7 degrees of pan on a 360-degree dome
#: Presets PTZ-4-1-5 visits: enough to show GotoPreset works without touring a site's whole
#: table (CAMFLEET_preset_repeatability checks one preset in depth).
PRESETS_VISITED = 2


def _spaces(element: etree._Element) -> set[str]:
    return {(uri.text or "").strip() for uri in element.iterfind(".//{*}URI")}


def test_PTZ_1_1_1_nodes(camera: Camera) -> None:
    nodes = list(camera.must_call("ptz", "GetNodes").iterfind("{*}PTZNode"))
    assert nodes, f"{camera}: GetNodes lists no PTZ node"
    for node in nodes:
        token = node.get("token", "")
        assert token, f"{camera}: a PTZ node has no token"
        assert node.find("{*}SupportedPTZSpaces") is not None, (
            f"{camera}: node {token} has no SupportedPTZSpaces")
        presets = text(node, "{*}MaximumNumberOfPresets")
        assert presets.isdigit(), f"{camera}: node {token}: MaximumNumberOfPresets {presets!r}"
        assert text(node, "{*}HomeSupported") in ("true", "false", "1", "0"), (
            f"{camera}: node {token}: HomeSupported missing")


def test_PTZ_1_1_2_node(camera: Camera) -> None:
    for node in camera.must_call("ptz", "GetNodes").iterfind("{*}PTZNode"):
        token = node.get("token", "")
        single = camera.must_call("ptz", "GetNode", {"NodeToken": token}).find("{*}PTZNode")
        assert single is not None, f"{camera}: GetNode({token}) returns no node"
        assert single.get("token") == token, f"{camera}: GetNode({token}) returns node " \
                                             f"{single.get('token')}"
        assert _spaces(single) == _spaces(node), (
            f"{camera}: GetNode({token}) and GetNodes disagree about the node's spaces")


def _configurations(camera: Camera) -> list[etree._Element]:
    return list(camera.must_call("ptz", "GetConfigurations").iterfind("{*}PTZConfiguration"))


def test_PTZ_2_1_1_configurations(camera: Camera) -> None:
    nodes = {n.get("token") for n in camera.must_call("ptz", "GetNodes").iterfind("{*}PTZNode")}
    configs = _configurations(camera)
    assert configs, f"{camera}: GetConfigurations lists no PTZ configuration"
    for config in configs:
        token = config.get("token", "")
        node = text(config, "{*}NodeToken")
        assert token, f"{camera}: a PTZ configuration has no token"
        assert node in nodes, f"{camera}: configuration {token} names unknown node {node!r}"


def test_PTZ_2_1_2_configuration(camera: Camera) -> None:
    for config in _configurations(camera):
        token = config.get("token", "")
        single = camera.must_call("ptz", "GetConfiguration", {"PTZConfigurationToken": token})
        found = single.find("{*}PTZConfiguration")
        assert found is not None, f"{camera}: GetConfiguration({token}) returns nothing"
        assert found.get("token") == token, (
            f"{camera}: GetConfiguration({token}) returns configuration {found.get('token')}")


def test_PTZ_2_1_3_configuration_options(camera: Camera) -> None:
    for config in _configurations(camera):
        token = config.get("token", "")
        body = camera.must_call("ptz", "GetConfigurationOptions",
                                {"ConfigurationToken": token})
        options = body.find("{*}PTZConfigurationOptions")
        assert options is not None, f"{camera}: GetConfigurationOptions({token}) is empty"
        assert options.find("{*}Spaces") is not None, (
            f"{camera}: GetConfigurationOptions({token}) has no Spaces")


def test_PTZ_2_1_6_configuration_consistent_with_node_and_options(camera: Camera) -> None:
    """Default spaces are among the node's and the options' spaces (PTZ-2-1-6/7); the
    configured limits lie inside their space's range."""
    nodes = {n.get("token"): _spaces(n)
             for n in camera.must_call("ptz", "GetNodes").iterfind("{*}PTZNode")}
    for config in _configurations(camera):
        token = config.get("token", "")
        node_spaces = nodes.get(text(config, "{*}NodeToken"), set())
        options = camera.must_call("ptz", "GetConfigurationOptions",
                                   {"ConfigurationToken": token})
        option_spaces = _spaces(options)
        defaults = {text(config, f"{{*}}{name}") for name in (
            "DefaultAbsolutePantTiltPositionSpace", "DefaultAbsoluteZoomPositionSpace",
            "DefaultRelativePanTiltTranslationSpace", "DefaultRelativeZoomTranslationSpace",
            "DefaultContinuousPanTiltVelocitySpace", "DefaultContinuousZoomVelocitySpace")}
        defaults.discard("")
        assert defaults <= node_spaces, f"{camera}: configuration {token}: default spaces " \
                                        f"{sorted(defaults - node_spaces)} not in the node"
        assert defaults <= option_spaces, f"{camera}: configuration {token}: default spaces " \
                                          f"{sorted(defaults - option_spaces)} not in options"
        limits = config.find("{*}PanTiltLimits/{*}Range")
        if limits is None:
            continue
        space = text(limits, "{*}URI")
        ranges = [s for s in options.iterfind(".//{*}AbsolutePanTiltPositionSpace")
                  if text(s, "{*}URI") == space]
        assert ranges, f"{camera}: limits are in space {space}, which the options do not offer"
        for axis in ("XRange", "YRange"):
            low, high = (float(text(limits, f"{{*}}{axis}/{{*}}{e}")) for e in ("Min", "Max"))
            room_low, room_high = (float(text(ranges[0], f"{{*}}{axis}/{{*}}{e}"))
                                   for e in ("Min", "Max"))
            assert room_low - 1e-6 <= low <= high <= room_high + 1e-6, (
                f"{camera}: PanTiltLimits {axis} {low}..{high} exceeds the space's "
                f"{room_low}..{room_high}")


@pytest.mark.hil_requires("absolute_move")
def test_PTZ_3_1_1_absolute_move(ptz: PtzDriver, measure: MeasurementLog) -> None:
    target = ptz.nearby(ptz.position(), STEP, -STEP)
    settle_s, reached = ptz.move_to(target)
    error, unit = ptz.error(reached, target)
    measure(ptz.measurement_name("ptz_position_error", unit), error, unit=unit)
    measure("ptz_settle_time", settle_s, unit="s")


@pytest.mark.hil_requires("absolute_move")
def test_PTZ_3_1_2_absolute_move_out_of_bounds(camera: Camera, ptz: PtzDriver) -> None:
    """An absolute move outside the space is refused with a fault, and nothing moves."""
    before = ptz.position()
    fault = camera.expect_fault("ptz", "AbsoluteMove", {
        "ProfileToken": ptz.profile,
        "Position": {"PanTilt": {"x": 1.5, "y": before.y,
                                 "space": "http://www.onvif.org/ver10/tptz/PanTiltSpaces/"
                                          "PositionGenericSpace"}}})
    assert fault.code.endswith("Sender"), f"{camera}: out-of-bounds move: fault {fault.code}"
    time.sleep(0.3)
    after = ptz.position()
    error, unit = ptz.error(after, before)
    assert error < 0.01, f"{camera}: the camera moved ({error:.3f} {unit}) after refusing"


@pytest.mark.hil_requires("relative_move")
def test_PTZ_3_1_3_relative_move(ptz: PtzDriver, measure: MeasurementLog) -> None:
    start = ptz.position()
    goal = ptz.nearby(start, STEP, STEP)
    began = time.monotonic()
    ptz.relative(goal.x - start.x, goal.y - start.y)
    _settle_s, reached = ptz.settle(began, goal)
    error, unit = ptz.error(reached, goal)
    measure(ptz.measurement_name("ptz_position_error", unit), error, unit=unit)


def _room(ptz: PtzDriver, here: Position) -> float:
    """Pan direction with more room to the limit: +1 or -1."""
    return 1.0 if ptz.pan_limits.max - here.x >= here.x - ptz.pan_limits.min else -1.0


@pytest.mark.hil_requires("continuous_move")
def test_PTZ_3_1_4_continuous_move(camera: Camera, ptz: PtzDriver) -> None:
    """A continuous move goes the commanded way and stops by itself at its timeout."""
    start = ptz.position()
    direction = _room(ptz, start)
    began = time.monotonic()
    ptz.continuous(0.3 * direction, 0.0, timeout_s=0.5)
    _settle_s, stopped = ptz.settle(began, None, timeout_s=10.0)
    moved = (stopped.x - start.x) * direction
    assert moved > 1e-3, f"{camera}: continuous pan {direction:+.0f} moved {moved:+.4f} (from " \
                         f"{start} to {stopped})"


@pytest.mark.hil_requires("continuous_move")
def test_PTZ_3_1_5_stop(camera: Camera, ptz: PtzDriver) -> None:
    """Stop ends a continuous move before its timeout, and the camera stays put."""
    start = ptz.position()
    direction = _room(ptz, start)
    ptz.continuous(0.3 * direction, 0.0, timeout_s=10.0)
    time.sleep(0.3)
    began = time.monotonic()
    ptz.stop()
    _settle_s, stopped = ptz.settle(began, None, timeout_s=5.0)
    time.sleep(0.3)
    later = ptz.position()
    drift, unit = ptz.error(later, stopped)
    assert drift < 0.01, f"{camera}: still moving after Stop ({drift:.3f} {unit} in 0.3 s)"
    assert (stopped.x - start.x) * direction > 0, f"{camera}: did not move before the Stop"


def _temporary_name() -> str:
    return f"hil-{uuid.uuid4().hex[:8]}"


def _store_preset(ptz: PtzDriver) -> str:
    try:
        return ptz.set_preset(_temporary_name())
    except DeviceFault as exc:
        if "TooManyPresets" in str(exc):
            pytest.skip(f"{ptz.camera.id}: the preset table is full ({exc})")
        raise


@pytest.mark.hil_requires("presets")
@pytest.mark.hil_changes_config
def test_PTZ_4_1_4_set_and_get_preset(ptz: PtzDriver, measure: MeasurementLog) -> None:
    target = ptz.nearby(ptz.position(), -STEP, STEP)
    _settle, here = ptz.move_to(target)
    token = _store_preset(ptz)
    try:
        stored = {p.token: p for p in ptz.presets()}
        assert token in stored, f"{ptz.camera}: SetPreset returned {token}, GetPresets lacks it"
        position = stored[token].position
        assert position is not None, f"{ptz.camera}: preset {token} has no position"
        error, unit = ptz.error(position, here)
        measure(ptz.measurement_name("ptz_position_error", unit), error, unit=unit)
    finally:
        ptz.remove_preset(token)


@pytest.mark.hil_requires("presets")
def test_PTZ_4_1_5_goto_preset(ptz: PtzDriver, camera: Camera,
                               measure: MeasurementLog) -> None:
    """GotoPreset reaches the stored presets (the first PRESETS_VISITED of them)."""
    presets = [p for p in ptz.presets() if p.position is not None][:PRESETS_VISITED]
    temporary = None
    if not presets:
        if camera.settings.read_only:
            pytest.skip(f"{camera.id} stores no preset, and a read-only run may not add one")
        ptz.move_to(ptz.nearby(ptz.position(), STEP, 0.0))
        temporary = _store_preset(ptz)
        presets = [p for p in ptz.presets() if p.token == temporary]
    try:
        errors = []
        for preset in presets:
            assert preset.position is not None
            _settle, reached = ptz.goto_preset(preset.token)
            errors.append(ptz.error(reached, preset.position))
        worst, unit = max(errors)
        measure(ptz.measurement_name("ptz_position_error", unit), worst, unit=unit)
    finally:
        if temporary is not None:
            ptz.remove_preset(temporary)


@pytest.mark.hil_requires("presets")
@pytest.mark.hil_changes_config
def test_PTZ_4_1_6_remove_preset(camera: Camera, ptz: PtzDriver) -> None:
    token = _store_preset(ptz)
    ptz.remove_preset(token)
    assert token not in {p.token for p in ptz.presets()}, (
        f"{camera}: preset {token} is still listed after RemovePreset")
    try:
        camera.expect_fault("ptz", "GotoPreset", {"ProfileToken": ptz.profile,
                                                  "PresetToken": token})
    except DeviceFault:
        raise AssertionError(f"{camera}: GotoPreset to removed preset {token} did not fault") \
            from None


def _fixed_home(camera: Camera) -> bool:
    return bool(camera.facts and camera.facts.ptz and camera.facts.ptz.fixed_home)


@pytest.mark.hil_requires("home")
@pytest.mark.hil_changes_config
def test_PTZ_5_1_1_home_configurable(camera: Camera, ptz: PtzDriver) -> None:
    """SetHomePosition moves home; GotoHomePosition goes there. The old home is restored."""
    if _fixed_home(camera):
        pytest.skip(f"{camera.id} has a fixed home position (see PTZ-5-1-2)")
    _settle, home = ptz.goto_home()
    new_home = ptz.nearby(home, STEP, -STEP)
    ptz.move_to(new_home)
    ptz.set_home()
    try:
        ptz.move_to(ptz.nearby(new_home, -STEP, STEP))
        _settle, reached = ptz.goto_home()
        error, unit = ptz.error(reached, new_home)
        assert error < 0.01 * (1 if unit == "generic" else 180), (
            f"{camera}: GotoHomePosition went to {reached}, the new home is {new_home}")
    finally:
        ptz.move_to(home)
        ptz.set_home()


@pytest.mark.hil_requires("home")
@pytest.mark.hil_changes_config
def test_PTZ_5_1_2_home_fixed(camera: Camera, ptz: PtzDriver) -> None:
    """A fixed home refuses SetHomePosition with CannotOverwriteHome (asked at home, so a
    camera that wrongly accepts is left as it was)."""
    if not _fixed_home(camera):
        pytest.skip(f"{camera.id} has a configurable home position (see PTZ-5-1-1)")
    ptz.goto_home()
    fault: SoapFaultError = camera.expect_fault("ptz", "SetHomePosition",
                                                {"ProfileToken": ptz.profile})
    assert any(s.endswith("CannotOverwriteHome") for s in fault.subcodes), (
        f"{camera}: a fixed home refused SetHomePosition with {fault.subcodes}, not "
        "ter:CannotOverwriteHome")
