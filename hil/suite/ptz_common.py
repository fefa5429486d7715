"""What the PTZ cases share: step sizes and timeouts, reading nodes, configurations and
options, and the judgement the specification allows for "the DUT moved there" (nearer the
target than the position it left; accuracy is out of scope)."""

from __future__ import annotations

import math
import time
from datetime import timedelta

from lxml import etree

from camfleet.model import PtzVector
from hil.camera import Camera
from hil.errors import DeviceFault
from hil.ptz import OptionSpace, PtzDriver, option_spaces, timeout_range
from hil.suite.helpers import text

STEP = 0.04  # generic units: ~7 degrees of pan on a 360-degree dome
ZOOM_STEP = 0.1
#: PTZ-3-1-4: the continuous moves' Timeout, and how long the test waits after each.
CONTINUOUS_TIMEOUT = timedelta(seconds=60)
#: SetPreset's Name in PTZ-4-1-4/5/6.
PRESET_NAME = "Test"
#: Where a restored position (home, the test's start) must be found again, generic units.
RESTORED = 0.01
#: Default*Space of a PTZConfiguration -> the node's / options' space kind.
DEFAULT_SPACES = {
    "DefaultAbsolutePantTiltPositionSpace": "AbsolutePanTiltPositionSpace",
    "DefaultAbsoluteZoomPositionSpace": "AbsoluteZoomPositionSpace",
    "DefaultRelativePanTiltTranslationSpace": "RelativePanTiltTranslationSpace",
    "DefaultRelativeZoomTranslationSpace": "RelativeZoomTranslationSpace",
    "DefaultContinuousPanTiltVelocitySpace": "ContinuousPanTiltVelocitySpace",
    "DefaultContinuousZoomVelocitySpace": "ContinuousZoomVelocitySpace",
}
#: PTZ-2-1-2: a configuration names its node and at least one of these.
CONFIGURATION_PARAMETERS = (*DEFAULT_SPACES, "DefaultPTZSpeed", "DefaultPTZTimeout",
                            "PanTiltLimits", "ZoomLimits")


# -- reading -------------------------------------------------------------------------------------
def ptz_nodes(camera: Camera) -> list[etree._Element]:
    return list(camera.must_call("ptz", "GetNodes").iterfind("{*}PTZNode"))


def ptz_configurations(camera: Camera) -> list[etree._Element]:
    return list(camera.must_call("ptz", "GetConfigurations").iterfind("{*}PTZConfiguration"))


def configuration_options(camera: Camera, token: str) -> etree._Element:
    body = camera.must_call("ptz", "GetConfigurationOptions", {"ConfigurationToken": token})
    options = body.find("{*}PTZConfigurationOptions")
    if options is None:
        raise DeviceFault(f"{camera}: GetConfigurationOptions({token}) has no "
                          "PTZConfigurationOptions")
    return options


def valid_options(camera: Camera, token: str, case_id: str) -> dict[str, list[OptionSpace]]:
    """GetConfigurationOptions "with valid Spaces and PTZTimeout" (PTZ-2-1-3, 3-1-x)."""
    options = configuration_options(camera, token)
    spaces = option_spaces(options)
    assert bool(spaces), (
        f"{camera}: GetConfigurationOptions({token}) has no Spaces ({case_id})")
    assert timeout_range(options) is not None, (
        f"{camera}: GetConfigurationOptions({token}) has no valid PTZTimeout Min..Max "
        f"({case_id})")
    return spaces


def node_problems(node: etree._Element) -> list[str]:
    """PTZ-1-1-1/1-1-2: the node's mandatory SupportedPTZSpaces, MaximumNumberOfPresets and
    HomeSupported."""
    token = node.get("token", "?")
    problems = []
    if node.find("{*}SupportedPTZSpaces") is None:
        problems.append(f"node {token} has no SupportedPTZSpaces")
    if not text(node, "{*}MaximumNumberOfPresets").isdigit():
        problems.append(f"node {token}: MaximumNumberOfPresets "
                        f"{text(node, '{*}MaximumNumberOfPresets')!r}")
    if text(node, "{*}HomeSupported") not in ("true", "false", "1", "0"):
        problems.append(f"node {token} has no HomeSupported")
    return problems


def generic_space(spaces: dict[str, list[OptionSpace]], kind: str, uri: str) -> OptionSpace | None:
    return next((s for s in spaces.get(kind, []) if s.uri == uri), None)


def nearer_than(reached: float, target: float, other: float) -> bool:
    """Moved to ``target`` as far as the specification asks: nearer it than ``other``."""
    return abs(reached - target) < abs(reached - other) or math.isclose(reached, target,
                                                                          abs_tol=1e-6)


def arrived(ptz: PtzDriver, reached: PtzVector, target: PtzVector, other: PtzVector, *,
        zoom: bool) -> list[str]:
    """Axes on which ``reached`` is not nearer ``target`` than ``other``."""
    axes = [("pan", reached.pan, target.pan, other.pan),
            ("tilt", reached.tilt, target.tilt, other.tilt)]
    if zoom:
        axes.append(("zoom", reached.zoom, target.zoom, other.zoom))
    return [f"{name} {got:.4f} (asked {want:.4f}, from {was:.4f})"
            for name, got, want, was in axes
            if not math.isclose(want, was, abs_tol=1e-9) and not nearer_than(got, want, was)]


def zoom_target(ptz: PtzDriver, zoom: float) -> float:
    limits = ptz.zoom_limits
    up = zoom + ZOOM_STEP
    return up if up <= limits.max else max(limits.min, zoom - ZOOM_STEP)


def wait_rest(ptz: PtzDriver, target: PtzVector | None = None) -> PtzVector:
    _settle, reached = ptz.settle(time.monotonic(), target)
    return reached
