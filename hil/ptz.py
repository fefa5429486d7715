"""Drive a camera's PTZ through ONVIF and read back where it went: moves, presets, home.

Positions are :class:`~camfleet.model.PtzVector` in ONVIF's generic space (pan/tilt -1..1 over
the mechanical range, zoom 0..1), which every PTZ camera must support. Errors are reported in
degrees where the camera offers ``SphericalPositionSpaceDegrees`` (Profile T), converted with
the ranges it advertises for that space, and in generic units otherwise; the measurement names
say which (``ptz_position_error`` vs ``ptz_position_error_generic``).

Waiting for a move is devmgr's one settle loop (:func:`devmgr.onvif.ptz.wait_settled`): IDLE
at the same position twice in a row, and at the target or at least ``MIN_SETTLE_S`` after the
command, so a camera that has not started moving yet is not mistaken for one that has arrived.
The driver measures around it: the settle time runs from just before the command to the poll
that found the head at rest. A head that never settles is the camera's fault (a DeviceFault).

    ptz = PtzDriver(camera)
    start = ptz.at_rest()                  # never interrupts a head that is busy
    settle_s, reached = ptz.move_to(PtzVector(pan=0.1, tilt=-0.2, zoom=start.zoom))
    ptz.restore(start)

What the ONVIF PTZ test specification reads from GetConfigurationOptions (which spaces, their
ranges, the PTZTimeout range) is parsed here too (:func:`option_spaces`), so the tests follow
the procedure's own "if the options list space S" branches.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from lxml import etree

from camfleet.model import PtzVector, Range
from camfleet.protocols.ptz_spaces import (
    PT_POSITION_GENERIC,
    PT_TRANSLATION_GENERIC,
    PT_VELOCITY_GENERIC,
    Z_POSITION_GENERIC,
    generic_to_degrees,
)
from devmgr.inventory.model import PtzPreset
from devmgr.onvif.ptz import (
    PtzStatus,
    absolute_move_request,
    ptz_presets,
    ptz_status,
    wait_settled,
)
from devmgr.onvif.xml import child_text, parse_duration_days, parse_range
from hil.camera import Camera
from hil.errors import DeviceFault

__all__ = ["HeadBusy", "OptionSpace", "PtzDriver", "option_spaces", "timeout_range"]

GENERIC = Range(min=-1.0, max=1.0)
#: How often GetStatus is polled while waiting for a move to settle.
POLL_S = 0.05
#: How long a move may take before the camera is failed for not settling.
SETTLE_TIMEOUT_S = 30.0


#: How long a head found moving may take to come to rest before a test leaves it alone.
BUSY_WAIT_S = 10.0


class HeadBusy(Exception):
    """The head kept moving (a patrol, a tour, an operator): a test must not interrupt it."""


@dataclass(frozen=True, slots=True)
class OptionSpace:
    """One space of GetConfigurationOptions' Spaces (or a node's SupportedPTZSpaces)."""

    #: The element's local name: AbsolutePanTiltPositionSpace, ContinuousZoomVelocitySpace...
    kind: str
    uri: str
    x: Range | None
    y: Range | None


def option_spaces(element: etree._Element) -> dict[str, list[OptionSpace]]:
    """The spaces under ``element``'s Spaces / SupportedPTZSpaces, by kind."""
    found: dict[str, list[OptionSpace]] = {}
    for spaces in element.iter("{*}Spaces", "{*}SupportedPTZSpaces"):
        for space in spaces:
            if not isinstance(space.tag, str):
                continue
            kind = etree.QName(space).localname
            if kind == "Extension":
                continue
            found.setdefault(kind, []).append(OptionSpace(
                kind, child_text(space, "{*}URI"), parse_range(space.find("{*}XRange")),
                parse_range(space.find("{*}YRange"))))
    return found


def timeout_range(options: etree._Element) -> Range | None:
    """PTZTimeout Min..Max of GetConfigurationOptions, in seconds (None: absent or invalid)."""
    element = options.find(".//{*}PTZTimeout")
    if element is None:
        return None
    low = parse_duration_days(child_text(element, "{*}Min"))
    high = parse_duration_days(child_text(element, "{*}Max"))
    if low is None or high is None or low > high:
        return None
    return Range(min=low * 86400, max=high * 86400)


def _finite(limit: Range | None, space: Range) -> Range:
    """A configured limit within the space (limits may be +-INF: "off")."""
    if limit is None:
        return space
    low = max(limit.min, space.min) if math.isfinite(limit.min) else space.min
    high = min(limit.max, space.max) if math.isfinite(limit.max) else space.max
    return Range(min=low, max=max(low, high))


class PtzDriver:
    """PTZ operations on one camera, in the generic space (see the module docstring)."""

    def __init__(self, camera: Camera, profile: str | None = None) -> None:
        facts = camera.facts
        if facts is None or facts.ptz is None or "ptz" not in camera.capabilities:
            raise DeviceFault(f"{camera.id}: no PTZ node was found; the test needs one")
        self.camera = camera
        ptz = facts.ptz
        self.profile = profile or next((p.token for p in facts.profiles
                                        if p.ptz_configuration), "")
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
        #: Moves name a zoom only on a head that advertises the generic zoom space.
        self.zoom = Z_POSITION_GENERIC in spaces
        self.degrees = ptz.degrees_ranges()
        self.configuration = ptz.configuration
        self.node = ptz.node

    # -- reading ---------------------------------------------------------------------------------
    def status(self) -> PtzStatus:
        return self.camera.run("GetStatus", lambda: ptz_status(self.camera.session,
                                                               self.profile))

    def position(self) -> PtzVector:
        return self._reported(self.status())

    def _reported(self, status: PtzStatus) -> PtzVector:
        if status.position is None:
            raise DeviceFault(f"{self.camera.id}: GetStatus reports no pan/tilt position")
        return status.position

    def at_rest(self, wait_s: float = BUSY_WAIT_S) -> PtzVector:
        """Where the head rests now, read without commanding it. A head found moving is given
        ``wait_s`` to come to rest (an operator's move ends; a patrol goes on); then
        :class:`HeadBusy`."""
        began = time.monotonic()
        previous: PtzVector | None = None
        while True:
            status = self.status()
            here = self._reported(status)
            if not status.moving and previous is not None and self._same(here, previous):
                return here
            if time.monotonic() - began > wait_s:
                raise HeadBusy(f"{self.camera.id}: the head is moving (MoveStatus "
                               f"{status.pan_tilt or '-'}/{status.zoom or '-'}) and did not "
                               f"come to rest within {wait_s:g} s: a patrol, a tour or an "
                               "operator is using it; the test does not interrupt it")
            previous = here
            time.sleep(POLL_S)

    @staticmethod
    def _same(a: PtzVector, b: PtzVector) -> bool:
        return max(abs(a.pan - b.pan), abs(a.tilt - b.tilt), abs(a.zoom - b.zoom)) < 1e-4

    def presets(self) -> list[PtzPreset]:
        return list(self.camera.run("GetPresets", lambda: ptz_presets(self.camera.session,
                                                                      self.profile)))

    # -- geometry --------------------------------------------------------------------------------
    def inside(self, position: PtzVector) -> bool:
        zoom_ok = not self.zoom or self.zoom_limits.contains(position.zoom, 1e-6)
        return (self.pan_limits.contains(position.pan, 1e-6)
                and self.tilt_limits.contains(position.tilt, 1e-6) and zoom_ok)

    def nearby(self, base: PtzVector, dx: float, dy: float) -> PtzVector:
        """``base`` moved by up to (dx, dy), kept inside the limits (a quarter-span margin)."""
        def shift(value: float, delta: float, limits: Range) -> float:
            span = limits.max - limits.min
            step = math.copysign(min(abs(delta), span / 4), delta)
            moved = value + step
            if not limits.min + span / 8 <= moved <= limits.max - span / 8:
                moved = value - step
            return min(max(moved, limits.min), limits.max)

        return PtzVector(pan=shift(base.pan, dx, self.pan_limits),
                         tilt=shift(base.tilt, dy, self.tilt_limits), zoom=base.zoom)

    def error(self, a: PtzVector, b: PtzVector) -> tuple[float, str]:
        """Pan/tilt distance between two positions: degrees if known, else generic units."""
        if self.degrees is None:
            return math.hypot(a.pan - b.pan, a.tilt - b.tilt), "generic"
        da, db = (generic_to_degrees(p, *self.degrees) for p in (a, b))
        return math.hypot(da.pan - db.pan, da.tilt - db.tilt), "deg"

    @staticmethod
    def measurement_name(base: str, unit: str) -> str:
        """``ptz_position_error`` in degrees, ``ptz_position_error_generic`` otherwise."""
        return base if unit == "deg" else f"{base}_generic"

    # -- moving ----------------------------------------------------------------------------------
    def absolute(self, target: PtzVector) -> None:
        self.camera.call("ptz", "AbsoluteMove",
                         absolute_move_request(self.profile, target, zoom=self.zoom))

    @staticmethod
    def vector(pan_tilt: tuple[float, float, str] | None = None,
               zoom: tuple[float, str] | None = None) -> dict[str, Any]:
        """A PTZVector/PTZSpeed request element: (x, y, space URI) and (x, space URI)."""
        found: dict[str, Any] = {}
        if pan_tilt is not None:
            found["PanTilt"] = {"x": pan_tilt[0], "y": pan_tilt[1], "space": pan_tilt[2]}
        if zoom is not None:
            found["Zoom"] = {"x": zoom[0], "space": zoom[1]}
        return found

    def send(self, operation: str, **fields: Any) -> None:
        """Any PTZ request on the driver's profile (``Position=vector(...)``, ``Speed=``...)."""
        self.camera.call("ptz", operation, {"ProfileToken": self.profile, **fields})

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

    def settle(self, began: float, target: PtzVector | None = None,
               timeout_s: float = SETTLE_TIMEOUT_S) -> tuple[float, PtzVector]:
        """Wait, right after a move command's reply, until the head has settled; (seconds from
        ``began``, just before the command, to the poll that found it at rest; where it is).
        ``target``: where it was sent, if known."""
        async def wait() -> tuple[float, PtzStatus]:
            status = await wait_settled(self.camera.session, self.profile, target=target,
                                        timeout_s=timeout_s, interval_s=POLL_S)
            return time.monotonic() - began, status

        settle_s, status = self.camera.run("GetStatus", wait)
        return settle_s, self._reported(status)

    def move_to(self, target: PtzVector) -> tuple[float, PtzVector]:
        """AbsoluteMove and wait; (settle seconds, where it stopped)."""
        began = time.monotonic()
        self.absolute(target)
        return self.settle(began, target)

    def restore(self, position: PtzVector) -> None:
        """Back to where a test found the camera (any mode: a test leaves no trace). A move
        the test left running (a continuous one) is stopped first."""
        if self.status().moving:
            self.stop()
        self.move_to(position)

    # -- presets and home ------------------------------------------------------------------------
    def goto_preset(self, token: str,
                    position: PtzVector | None = None) -> tuple[float, PtzVector]:
        """GotoPreset and wait; ``position``: where the preset is stored, if known."""
        began = time.monotonic()
        self.camera.call("ptz", "GotoPreset", {"ProfileToken": self.profile,
                                               "PresetToken": token})
        return self.settle(began, position)

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

    def goto_home(self) -> tuple[float, PtzVector]:
        began = time.monotonic()
        self.camera.call("ptz", "GotoHomePosition", {"ProfileToken": self.profile})
        return self.settle(began)

    def set_home(self) -> None:
        self.camera.call("ptz", "SetHomePosition", {"ProfileToken": self.profile})
