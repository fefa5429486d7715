"""The generic PTZ spaces and the PTZ service capabilities, as the PTZ Device Test
Specification's PTZ-7 and PTZ-8 cases."""

from __future__ import annotations

import pytest
from lxml import etree

from camfleet.model import Range
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
from hil.camera import Camera
from hil.errors import DeviceFault, InfrastructureError
from hil.ptz import PtzDriver, option_spaces
from hil.spec import PTZ, conformance
from hil.suite.helpers import differences, text
from hil.suite.ptz_common import generic_space, ptz_configurations, ptz_nodes

pytestmark = pytest.mark.hil_requires("ptz_service")


# -- the generic spaces ----------------------------------------------------------------------------
#: PTZ-7-x: (space kind, generic URI, the request, its vector field, pan/tilt?, min first?)
SPACE_CASES = {
    "PTZ-7-1-3": ("AbsolutePanTiltPositionSpace", PT_POSITION_GENERIC, "AbsoluteMove",
                  "Position", True, True),
    "PTZ-7-1-4": ("AbsoluteZoomPositionSpace", Z_POSITION_GENERIC, "AbsoluteMove", "Position",
                  False, False),
    "PTZ-7-2-3": ("RelativePanTiltTranslationSpace", PT_TRANSLATION_GENERIC, "RelativeMove",
                  "Translation", True, True),
    "PTZ-7-2-4": ("RelativeZoomTranslationSpace", Z_TRANSLATION_GENERIC, "RelativeMove",
                  "Translation", False, False),
    "PTZ-7-3-3": ("ContinuousPanTiltVelocitySpace", PT_VELOCITY_GENERIC, "ContinuousMove",
                  "Velocity", True, True),
    "PTZ-7-3-4": ("ContinuousZoomVelocitySpace", Z_VELOCITY_GENERIC, "ContinuousMove",
                  "Velocity", False, False),
    "PTZ-7-4-3": ("PanTiltSpeedSpace", PT_SPEED_GENERIC, "", "Speed", True, True),
    "PTZ-7-4-4": ("ZoomSpeedSpace", Z_SPEED_GENERIC, "", "Speed", False, False),
}


def _clip(value: float, limits: Range | None) -> float:
    return value if limits is None else min(max(value, limits.min), limits.max)


def _space_requests(ptz: PtzDriver, node: etree._Element, case_id: str,
                    ) -> list[dict[str, object]]:
    """The two requests of a PTZ-7 case for one node (range ends, limits applied)."""
    kind, uri, operation, field, pan_tilt, min_first = SPACE_CASES[case_id]
    spaces = option_spaces(node)
    space = generic_space(spaces, kind, uri)
    assert space is not None, (f"{ptz.camera}: node {node.get('token')} has {kind} but no "
                               f"generic one ({uri}) ({case_id})")
    ranged = space.x is not None and (space.y is not None or not pan_tilt
                                      or kind == "PanTiltSpeedSpace")
    assert ranged, (
        f"{ptz.camera}: node {node.get('token')}: {uri} gives no range ({case_id})")
    ends = ["min", "max"] if min_first else ["max", "min"]
    requests: list[dict[str, object]] = []
    for end in ends:
        x = getattr(space.x, end)
        y = getattr(space.y, end) if space.y is not None else x
        if field == "Speed":  # a move to the position space's end at the speed space's end
            position_kind = ("AbsolutePanTiltPositionSpace" if pan_tilt
                             else "AbsoluteZoomPositionSpace")
            position_uri = PT_POSITION_GENERIC if pan_tilt else Z_POSITION_GENERIC
            position = generic_space(spaces, position_kind, position_uri)
            if position is None or position.x is None:
                pytest.skip(f"{ptz.camera.id}: no generic absolute position space to move "
                            f"with a speed ({case_id})")
            px = getattr(position.x, end)
            py = getattr(position.y, end) if position.y is not None else px
            vector = (ptz.vector(pan_tilt=(_clip(px, ptz.pan_limits),
                                           _clip(py, ptz.tilt_limits), position_uri))
                      if pan_tilt else ptz.vector(zoom=(_clip(px, ptz.zoom_limits),
                                                        position_uri)))
            speed = (ptz.vector(pan_tilt=(x, x, uri)) if pan_tilt
                     else ptz.vector(zoom=(x, uri)))
            requests.append({"operation": "AbsoluteMove", "Position": vector, "Speed": speed})
            continue
        if operation == "AbsoluteMove":  # the configured limits are taken into account
            x = _clip(x, ptz.pan_limits if pan_tilt else ptz.zoom_limits)
            y = _clip(y, ptz.tilt_limits)
        vector = ptz.vector(pan_tilt=(x, y, uri)) if pan_tilt else ptz.vector(zoom=(x, uri))
        requests.append({"operation": operation, field: vector})
    return requests


def _space_case(ptz: PtzDriver, case_id: str) -> None:
    """PTZ-7-x: every node with the space kind: its generic space with a range; the requests at
    both ends of the range are accepted."""
    camera = ptz.camera
    kind = SPACE_CASES[case_id][0]
    nodes = [n for n in ptz_nodes(camera) if option_spaces(n).get(kind)]
    if not nodes:
        pytest.skip(f"{camera.id}: no PTZ node offers {kind}")
    facts = camera.facts
    for node in nodes:
        token = node.get("token")
        configs = {c.get("token"): text(c, "{*}NodeToken") for c in ptz_configurations(camera)}
        profile = next((p.token for p in (facts.profiles if facts else ())
                        if configs.get(p.ptz_configuration) == token), None)
        if profile is None:
            raise InfrastructureError(f"{camera.id}: PTZ node {token} is in no media profile; "
                                      "the suite does not configure one")
        driver = ptz if profile == ptz.profile else PtzDriver(camera, profile)
        start = driver.position()
        try:
            for request in _space_requests(driver, node, case_id):
                params = {k: v for k, v in request.items() if k != "operation"}
                try:
                    driver.send(str(request["operation"]), **params)
                except DeviceFault as exc:
                    raise AssertionError(f"{exc} ({case_id}: {request['operation']} {params} "
                                         "was not accepted)") from None
        finally:
            if driver is not ptz:
                driver.restore(start)


def _space_checks(case_id: str) -> str:
    kind, uri, operation, field, _pan_tilt, min_first = SPACE_CASES[case_id]
    order = "the minimum, then the maximum" if min_first else "the maximum, then the minimum"
    if field == "Speed":
        what = (f"AbsoluteMove to the end of the generic position space at the end of {uri} "
                f"({order})")
    else:
        what = f"{operation} with {field} at {order} of {uri}"
    limits = " (the configured limits applied)" if operation == "AbsoluteMove" else ""
    return (f"every PTZ node with a {kind} offers the generic one with its range; {what}"
            f"{limits} is accepted")


@pytest.mark.hil_requires("ptz")
@conformance("PTZ-7-1-3", PTZ, "GENERIC PAN/TILT POSITION SPACE",
             checks=_space_checks("PTZ-7-1-3"))
def test_PTZ_7_1_3_generic_pan_tilt_position_space(ptz: PtzDriver) -> None:
    _space_case(ptz, "PTZ-7-1-3")


@pytest.mark.hil_requires("ptz")
@conformance("PTZ-7-1-4", PTZ, "GENERIC ZOOM POSITION SPACE", checks=_space_checks("PTZ-7-1-4"))
def test_PTZ_7_1_4_generic_zoom_position_space(ptz: PtzDriver) -> None:
    _space_case(ptz, "PTZ-7-1-4")


@pytest.mark.hil_requires("ptz")
@conformance("PTZ-7-2-3", PTZ, "GENERIC PAN/TILT TRANSLATION SPACE",
             checks=_space_checks("PTZ-7-2-3"))
def test_PTZ_7_2_3_generic_pan_tilt_translation_space(ptz: PtzDriver) -> None:
    _space_case(ptz, "PTZ-7-2-3")


@pytest.mark.hil_requires("ptz")
@conformance("PTZ-7-2-4", PTZ, "GENERIC ZOOM TRANSLATION SPACE",
             checks=_space_checks("PTZ-7-2-4"))
def test_PTZ_7_2_4_generic_zoom_translation_space(ptz: PtzDriver) -> None:
    _space_case(ptz, "PTZ-7-2-4")


@pytest.mark.hil_requires("ptz")
@conformance("PTZ-7-3-3", PTZ, "GENERIC PAN/TILT VELOCITY SPACE",
             checks=_space_checks("PTZ-7-3-3"))
def test_PTZ_7_3_3_generic_pan_tilt_velocity_space(ptz: PtzDriver) -> None:
    _space_case(ptz, "PTZ-7-3-3")


@pytest.mark.hil_requires("ptz")
@conformance("PTZ-7-3-4", PTZ, "GENERIC ZOOM VELOCITY SPACE", checks=_space_checks("PTZ-7-3-4"))
def test_PTZ_7_3_4_generic_zoom_velocity_space(ptz: PtzDriver) -> None:
    _space_case(ptz, "PTZ-7-3-4")


@pytest.mark.hil_requires("ptz")
@conformance("PTZ-7-4-3", PTZ, "GENERIC PAN/TILT SPEED SPACE", checks=_space_checks("PTZ-7-4-3"))
def test_PTZ_7_4_3_generic_pan_tilt_speed_space(ptz: PtzDriver) -> None:
    _space_case(ptz, "PTZ-7-4-3")


@pytest.mark.hil_requires("ptz")
@conformance("PTZ-7-4-4", PTZ, "GENERIC ZOOM SPEED SPACE", checks=_space_checks("PTZ-7-4-4"))
def test_PTZ_7_4_4_generic_zoom_speed_space(ptz: PtzDriver) -> None:
    _space_case(ptz, "PTZ-7-4-4")


# -- capabilities --------------------------------------------------------------------------------
def _ptz_capabilities(camera: Camera, case_id: str) -> etree._Element:
    caps = camera.must_call("ptz", "GetServiceCapabilities").find("{*}Capabilities")
    if caps is None:
        raise AssertionError(f"{camera}: PTZ GetServiceCapabilities has no Capabilities "
                             f"({case_id})")
    return caps


@conformance("PTZ-8-1-1", PTZ, "PTZ SERVICE CAPABILITIES", checks="""
    the PTZ service's GetServiceCapabilities answers with Capabilities""")
def test_PTZ_8_1_1_service_capabilities(camera: Camera) -> None:
    _ptz_capabilities(camera, "PTZ-8-1-1")


@conformance("PTZ-8-1-2", PTZ, "GET SERVICES AND PTZ SERVICE CAPABILITIES CONSISTENCY",
             checks="""
    the PTZ Capabilities in GetServices(IncludeCapability=true) equal GetServiceCapabilities""")
def test_PTZ_8_1_2_services_and_capabilities_agree(camera: Camera) -> None:
    from devmgr.onvif.soap import SERVICE_NAMESPACES  # noqa: PLC0415

    body = camera.must_call("device", "GetServices", {"IncludeCapability": True})
    entry = next((s for s in body.iterfind("{*}Service")
                  if text(s, "{*}Namespace") == SERVICE_NAMESPACES["ptz"]), None)
    listed = entry.find("{*}Capabilities/{*}Capabilities") if entry is not None else None
    assert listed is not None, f"{camera}: GetServices(IncludeCapability=true) gives no PTZ " \
                               "Capabilities (PTZ-8-1-2)"
    differ = differences(listed, _ptz_capabilities(camera, "PTZ-8-1-2"))
    assert not differ, (f"{camera}: PTZ capabilities differ between GetServices and "
                        f"GetServiceCapabilities: {'; '.join(differ[:5])} (PTZ-8-1-2)")
