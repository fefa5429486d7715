"""PTZ mechanics of a simulated camera: motion that takes time, limits that hold.

Each axis moves independently at its own speed, so a move is a set of linear ramps:
``position(t) = start + direction * min(distance, speed * (t - t0))``. Nothing ticks in the
background; the position is computed when asked, which keeps a fleet of a thousand idle domes
free of timers.

    >>> from simulators.spec import PtzSpec
    >>> from camfleet.model import PtzVector
    >>> now = [0.0]
    >>> mech = PtzMechanism(PtzSpec(), clock=lambda: now[0])
    >>> mech.absolute_move(PtzVector(pan=30.0))
    >>> mech.status()[0].value                        # the motors are turning
    'MOVING'
    >>> now[0] = 10.0                                 # 10 s later: long arrived
    >>> mech.position()
    PtzVector(pan=30.0, tilt=0.0, zoom=0.0)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from camfleet.model import MoveStatus, PtzLimits, PtzVector, Range
from simulators.spec import PtzSpec

AXES = ("pan", "tilt", "zoom")


class PtzError(Exception):
    """A PTZ request the mechanism refuses; ``subcode`` is the ONVIF fault subcode."""

    def __init__(self, subcode: str, message: str) -> None:
        super().__init__(message)
        self.subcode = subcode


@dataclass(slots=True)
class _Ramp:
    """Linear motion of one axis from ``start`` towards ``target`` at ``speed`` units/s."""

    start: float
    target: float
    speed: float
    t0: float
    #: For continuous moves: the time at which the move is stopped by its timeout.
    t_end: float = float("inf")

    def value(self, now: float) -> float:
        elapsed = max(0.0, min(now, self.t_end) - self.t0)
        distance = self.target - self.start
        travelled = self.speed * elapsed
        if travelled >= abs(distance):
            # Exactly the target: start + distance can miss it by an ulp, and a head that
            # never reaches its target reports MOVING for ever.
            return self.target
        return self.start + (travelled if distance >= 0 else -travelled)

    def moving(self, now: float) -> bool:
        return now < self.t_end and self.value(now) != self.target


class PtzMechanism:
    """The motors. Positions in degrees (pan/tilt, relative to the mount) and zoom 0..1."""

    def __init__(self, spec: PtzSpec, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.spec = spec
        self.limits: PtzLimits = spec.effective_limits
        now = clock()
        home = spec.home
        self._ramps = {axis: _Ramp(getattr(home, axis), getattr(home, axis), 1.0, now)
                       for axis in AXES}

    def set_spec(self, spec: PtzSpec) -> None:
        """New mechanics or limits (a reconfigured unit); a move in progress keeps going, but
        will stop at the new limits on the next command."""
        self.spec = spec
        self.limits = spec.effective_limits

    # -- reading -------------------------------------------------------------------------------
    def position(self) -> PtzVector:
        now = self._clock()
        return PtzVector(**{axis: ramp.value(now) for axis, ramp in self._ramps.items()})

    def status(self) -> tuple[MoveStatus, MoveStatus]:
        """MoveStatus of (pan/tilt, zoom)."""
        now = self._clock()
        pan_tilt = self._ramps["pan"].moving(now) or self._ramps["tilt"].moving(now)
        zoom = self._ramps["zoom"].moving(now)
        return (MoveStatus.MOVING if pan_tilt else MoveStatus.IDLE,
                MoveStatus.MOVING if zoom else MoveStatus.IDLE)

    def axis_speed(self, axis: str) -> float:
        return {"pan": self.spec.pan_speed, "tilt": self.spec.tilt_speed,
                "zoom": self.spec.zoom_speed}[axis]

    # -- moving --------------------------------------------------------------------------------
    def absolute_move(self, target: PtzVector, speed: PtzVector | None = None,
                      axes: tuple[str, ...] = AXES) -> None:
        """Move to ``target``; a target outside the limits is refused (ONVIF PTZ-3-1-2)."""
        for axis in axes:
            value = getattr(target, axis)
            rng: Range = getattr(self.limits, axis)
            if not rng.contains(value):
                raise PtzError("ter:InvalidPosition",
                               f"{axis} {value:g} is outside the limits {rng.min:g}..{rng.max:g}")
        self._start(target, speed, axes)

    def relative_move(self, delta: PtzVector, speed: PtzVector | None = None,
                      axes: tuple[str, ...] = AXES) -> None:
        """Move by ``delta``; the move stops at the limit rather than failing."""
        here = self.position()
        target = self.limits.clamp(PtzVector(pan=here.pan + delta.pan,
                                             tilt=here.tilt + delta.tilt,
                                             zoom=here.zoom + delta.zoom))
        self._start(target, speed, axes)

    def continuous_move(self, velocity: PtzVector, timeout_s: float | None = None) -> None:
        """Move each axis at ``velocity`` (fractions of full speed, -1..1) until the limit,
        the timeout or a Stop."""
        now = self._clock()
        here = self.position()
        t_end = now + timeout_s if timeout_s is not None else float("inf")
        for axis in AXES:
            v = getattr(velocity, axis)
            rng: Range = getattr(self.limits, axis)
            target = rng.max if v > 0 else rng.min if v < 0 else getattr(here, axis)
            speed = abs(v) * self.axis_speed(axis)
            self._ramps[axis] = _Ramp(getattr(here, axis), target, speed or 1.0, now, t_end)

    def stop(self, pan_tilt: bool = True, zoom: bool = True) -> None:
        now = self._clock()
        for axis in AXES:
            if (axis == "zoom" and zoom) or (axis != "zoom" and pan_tilt):
                value = self._ramps[axis].value(now)
                self._ramps[axis] = _Ramp(value, value, 1.0, now)

    def _start(self, target: PtzVector, speed: PtzVector | None, axes: tuple[str, ...]) -> None:
        now = self._clock()
        here = self.position()
        for axis in axes:
            fraction = abs(getattr(speed, axis)) if speed is not None else 1.0
            fraction = min(max(fraction, 0.01), 1.0)
            self._ramps[axis] = _Ramp(getattr(here, axis), getattr(target, axis),
                                      fraction * self.axis_speed(axis), now)

    def jump_to(self, position: PtzVector) -> None:
        """Teleport without motion (a reboot re-homes; tests set up a state)."""
        now = self._clock()
        for axis in AXES:
            value = getattr(position, axis)
            self._ramps[axis] = _Ramp(value, value, 1.0, now)
