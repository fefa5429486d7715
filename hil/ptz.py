"""Drive a camera's PTZ through ONVIF and read back where it went: moves, presets, home.

Positions travel in ONVIF's generic space (pan/tilt -1..1 over the mechanical range, zoom 0..1),
which every PTZ camera must support. Errors are reported in degrees where the camera offers
``SphericalPositionSpaceDegrees`` (Profile T), converted with the ranges it advertises for that
space, and in generic units otherwise; the measurement names say which
(``ptz_position_error`` vs ``ptz_position_error_generic``).

A move is *settled* when GetStatus says IDLE at the same position twice in a row; for absolute
moves, also near the target or at least :data:`MIN_SETTLE_S` after the command, so a camera that
has not started moving yet is not mistaken for one that has arrived.

    ptz = PtzDriver(camera)
    start = ptz.position()
    settle_s, reached = ptz.move_to(Position(0.1, -0.2))
    ptz.restore(start)
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from lxml import etree

from devmgr.inventory.collect import child_text, parse_float
from devmgr.model import Range
from devmgr.protocols.ptz_spaces import (
    PT_POSITION_DEGREES,
    PT_POSITION_GENERIC,
    PT_TRANSLATION_GENERIC,
    PT_VELOCITY_GENERIC,
    Z_POSITION_GENERIC,
)
from hil.camera import Camera
from hil.errors import DeviceFault

__all__ = ["Position", "PresetInfo", "PtzDriver", "PtzStatus"]

GENERIC = Range(min=-1.0, max=1.0)
#: How often GetStatus is polled while waiting for a move to settle.
POLL_S = 0.05
MIN_SETTLE_S = 0.5
#: Same position, in generic units, for two polls in a row.
STEADY = 1e-4


@dataclass(frozen=True, slots=True)
class Position:
    """Generic-space position; ``zoom`` None where the camera reported none."""

    x: float
    y: float
    zoom: float | None = None

    def __str__(self) -> str:
        zoom = f", zoom {self.zoom:.4f}" if self.zoom is not None else ""
        return f"({self.x:.4f}, {self.y:.4f}{zoom})"


@dataclass(frozen=True, slots=True)
class PtzStatus:
    position: Position
    pan_tilt: str
    zoom: str

    @property
    def idle(self) -> bool:
        return self.pan_tilt in ("IDLE", "") and self.zoom in ("IDLE", "")


@dataclass(frozen=True, slots=True)
class PresetInfo:
    token: str
    name: str
    position: Position | None


def parse_position(element: etree._Element | None) -> Position | None:
    """A tt:PTZVector (PanTilt x/y, Zoom x) as a :class:`Position`."""
    if element is None:
        return None
    pan_tilt, zoom = element.find("{*}PanTilt"), element.find("{*}Zoom")
    if pan_tilt is None:
        return None
    x, y = parse_float(pan_tilt.get("x")), parse_float(pan_tilt.get("y"))
    if x is None or y is None:
        return None
    return Position(x, y, parse_float(zoom.get("x")) if zoom is not None else None)


def _finite(limit: Range | None, space: Range) -> Range:
    """A configured limit within the space (limits may be +-INF: "off")."""
    if limit is None:
        return space
    low = max(limit.min, space.min) if math.isfinite(limit.min) else space.min
    high = min(limit.max, space.max) if math.isfinite(limit.max) else space.max
    return Range(min=low, max=max(low, high))


class PtzDriver:
    """PTZ operations on one camera, in the generic space (see the module docstring)."""

    def __init__(self, camera: Camera) -> None:
        facts = camera.facts
        if facts is None or facts.ptz is None or "ptz" not in camera.capabilities:
            raise DeviceFault(f"{camera.id}: no PTZ node was found; the test needs one")
        self.camera = camera
        ptz = facts.ptz
        self.profile = next((p.token for p in facts.profiles if p.ptz_configuration), "")
        if not self.profile:
            raise DeviceFault(f"{camera.id}: PTZ is advertised but no media profile carries a "
                              "PTZ configuration (MEDIA-4-1-2)")
        spaces = {s.uri: s for s in ptz.spaces}
        generic = spaces.get(PT_POSITION_GENERIC)
        x_space = generic.x if generic is not None and generic.x else GENERIC
        y_space = generic.y if generic is not None and generic.y else GENERIC
        in_generic = ptz.limits_space in ("", PT_POSITION_GENERIC)
        self.pan_limits = _finite(ptz.pan_limits if in_generic else None, x_space)
        self.tilt_limits = _finite(ptz.tilt_limits if in_generic else None, y_space)
        self.zoom_limits = _finite(ptz.zoom_limits, Range(min=0.0, max=1.0))
        degrees = spaces.get(PT_POSITION_DEGREES)
        self.degrees: tuple[Range, Range] | None = (
            (degrees.x, degrees.y) if degrees is not None and degrees.x and degrees.y else None)
        self.configuration = ptz.configuration
        self.node = ptz.node

    # -- reading ---------------------------------------------------------------------------------
    def status(self) -> PtzStatus:
        body = self.camera.must_call("ptz", "GetStatus", {"ProfileToken": self.profile})
        position = parse_position(body.find(".//{*}Position"))
        if position is None:
            raise DeviceFault(f"{self.camera.id}: GetStatus reports no pan/tilt position")
        move = body.find(".//{*}MoveStatus")
        return PtzStatus(position, child_text(move, "{*}PanTilt"), child_text(move, "{*}Zoom"))

    def position(self) -> Position:
        return self.status().position

    def presets(self) -> list[PresetInfo]:
        body = self.camera.must_call("ptz", "GetPresets", {"ProfileToken": self.profile})
        return [PresetInfo(p.get("token", ""), child_text(p, "{*}Name"),
                           parse_position(p.find("{*}PTZPosition")))
                for p in body.iterfind("{*}Preset")]

    # -- geometry --------------------------------------------------------------------------------
    def inside(self, position: Position) -> bool:
        zoom_ok = position.zoom is None or self.zoom_limits.contains(position.zoom, 1e-6)
        return (self.pan_limits.contains(position.x, 1e-6)
                and self.tilt_limits.contains(position.y, 1e-6) and zoom_ok)

    def nearby(self, base: Position, dx: float, dy: float) -> Position:
        """``base`` moved by up to (dx, dy), kept inside the limits (a quarter-span margin)."""
        def shift(value: float, delta: float, limits: Range) -> float:
            span = limits.max - limits.min
            step = math.copysign(min(abs(delta), span / 4), delta)
            moved = value + step
            if not limits.min + span / 8 <= moved <= limits.max - span / 8:
                moved = value - step
            return min(max(moved, limits.min), limits.max)

        return Position(shift(base.x, dx, self.pan_limits), shift(base.y, dy, self.tilt_limits),
                        base.zoom)

    def error(self, a: Position, b: Position) -> tuple[float, str]:
        """Pan/tilt distance between two positions: degrees if known, else generic units."""
        if self.degrees is None:
            return math.hypot(a.x - b.x, a.y - b.y), "generic"
        pan, tilt = self.degrees
        dpan = (a.x - b.x) * (pan.max - pan.min) / 2
        dtilt = (a.y - b.y) * (tilt.max - tilt.min) / 2
        return math.hypot(dpan, dtilt), "deg"

    @staticmethod
    def measurement_name(base: str, unit: str) -> str:
        """``ptz_position_error`` in degrees, ``ptz_position_error_generic`` otherwise."""
        return base if unit == "deg" else f"{base}_generic"

    # -- moving ----------------------------------------------------------------------------------
    def absolute(self, target: Position) -> None:
        position: dict[str, Any] = {"PanTilt": {"x": target.x, "y": target.y,
                                                "space": PT_POSITION_GENERIC}}
        if target.zoom is not None:
            position["Zoom"] = {"x": target.zoom, "space": Z_POSITION_GENERIC}
        self.camera.call("ptz", "AbsoluteMove", {"ProfileToken": self.profile,
                                                 "Position": position})

    def relative(self, dx: float, dy: float) -> None:
        self.camera.call("ptz", "RelativeMove", {
            "ProfileToken": self.profile,
            "Translation": {"PanTilt": {"x": dx, "y": dy, "space": PT_TRANSLATION_GENERIC}}})

    def continuous(self, vx: float, vy: float, timeout_s: float) -> None:
        self.camera.call("ptz", "ContinuousMove", {
            "ProfileToken": self.profile,
            "Velocity": {"PanTilt": {"x": vx, "y": vy, "space": PT_VELOCITY_GENERIC}},
            "Timeout": timedelta(seconds=timeout_s)})

    def stop(self) -> None:
        self.camera.call("ptz", "Stop", {"ProfileToken": self.profile, "PanTilt": True,
                                         "Zoom": True})

    def settle(self, began: float, target: Position | None = None,
               timeout_s: float = 30.0) -> tuple[float, Position]:
        """Wait until the camera is steady and IDLE; (seconds since ``began``, position)."""
        previous: Position | None = None
        while True:
            status = self.status()
            now = time.monotonic()
            here = status.position
            steady = previous is not None and math.hypot(here.x - previous.x,
                                                         here.y - previous.y) <= STEADY
            arrived = target is None or now - began >= MIN_SETTLE_S or math.hypot(
                here.x - target.x, here.y - target.y) <= 10 * STEADY
            if status.idle and steady and arrived:
                return now - began, here
            if now - began > timeout_s:
                raise DeviceFault(f"{self.camera.id}: PTZ did not settle within {timeout_s:g} s "
                                  f"(status {status.pan_tilt}/{status.zoom} at {here})")
            previous = here
            time.sleep(POLL_S)

    def move_to(self, target: Position) -> tuple[float, Position]:
        """AbsoluteMove and wait; (settle seconds, where it stopped)."""
        began = time.monotonic()
        self.absolute(target)
        return self.settle(began, target)

    def restore(self, position: Position) -> None:
        """Back to where a test found the camera (any mode: a test leaves no trace)."""
        self.move_to(position)

    # -- presets and home ------------------------------------------------------------------------
    def goto_preset(self, token: str) -> tuple[float, Position]:
        began = time.monotonic()
        self.camera.call("ptz", "GotoPreset", {"ProfileToken": self.profile,
                                               "PresetToken": token})
        return self.settle(began)

    def set_preset(self, name: str) -> str:
        body = self.camera.must_call("ptz", "SetPreset", {"ProfileToken": self.profile,
                                                          "PresetName": name})
        token = child_text(body, "{*}PresetToken")
        if not token:
            raise DeviceFault(f"{self.camera.id}: SetPreset returned no PresetToken")
        return token

    def remove_preset(self, token: str) -> None:
        self.camera.call("ptz", "RemovePreset", {"ProfileToken": self.profile,
                                                 "PresetToken": token})

    def goto_home(self) -> tuple[float, Position]:
        began = time.monotonic()
        self.camera.call("ptz", "GotoHomePosition", {"ProfileToken": self.profile})
        return self.settle(began)

    def set_home(self) -> None:
        self.camera.call("ptz", "SetHomePosition", {"ProfileToken": self.profile})
