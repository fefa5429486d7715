"""ONVIF PTZ coordinate spaces (ONVIF PTZ Service Specification, "Coordinate Systems").

Every PTZ device supports the generic spaces: absolute pan/tilt in -1..1 over its mechanical
range, zoom in 0..1. Profile T adds ``SphericalPositionSpaceDegrees``, whose advertised
ranges map the generic space onto degrees. The manager, the simulators and the acceptance
suite all name spaces from here.
"""

from __future__ import annotations

from camfleet.model import PtzVector, Range

_PT = "http://www.onvif.org/ver10/tptz/PanTiltSpaces/"
_Z = "http://www.onvif.org/ver10/tptz/ZoomSpaces/"

PT_POSITION_GENERIC = _PT + "PositionGenericSpace"
PT_POSITION_DEGREES = _PT + "SphericalPositionSpaceDegrees"
PT_TRANSLATION_GENERIC = _PT + "TranslationGenericSpace"
PT_VELOCITY_GENERIC = _PT + "VelocityGenericSpace"
PT_SPEED_GENERIC = _PT + "GenericSpeedSpace"
Z_POSITION_GENERIC = _Z + "PositionGenericSpace"
Z_TRANSLATION_GENERIC = _Z + "TranslationGenericSpace"
Z_VELOCITY_GENERIC = _Z + "VelocityGenericSpace"
Z_SPEED_GENERIC = _Z + "ZoomGenericSpeedSpace"


def generic_to_span(value: float, low: float, high: float) -> float:
    """A generic coordinate (-1..1) on a space spanning ``low``..``high`` (e.g. degrees)."""
    return low + (value + 1.0) / 2.0 * (high - low)


def generic_to_degrees(position: PtzVector, pan: Range, tilt: Range) -> PtzVector:
    """A generic-space position with pan and tilt in degrees, on the ``pan`` and ``tilt``
    ranges a camera advertises for ``SphericalPositionSpaceDegrees`` (zoom unchanged)."""
    return PtzVector(pan=generic_to_span(position.pan, pan.min, pan.max),
                     tilt=generic_to_span(position.tilt, tilt.min, tilt.max), zoom=position.zoom)
