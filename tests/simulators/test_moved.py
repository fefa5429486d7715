"""A moved unit is silent about it, and sees its new place."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from simulators.faults import effective_spec, parse_fault
from simulators.scene import render_state
from simulators.spec import CameraSpec
from simulators.state import CameraState

SPEC = CameraSpec.example()


def view(*faults: dict[str, Any]) -> np.ndarray[Any, Any]:
    spec = effective_spec(SPEC, [parse_fault(f) for f in faults])
    state = CameraState(spec)
    state.mount = spec.mount
    return np.asarray(cv2.cvtColor(render_state(state, size=(320, 180)), cv2.COLOR_RGB2GRAY))


def best_match(crop: np.ndarray[Any, Any], frame: np.ndarray[Any, Any]) -> tuple[float, int]:
    scores = cv2.matchTemplate(frame, crop, cv2.TM_CCOEFF_NORMED)
    _, score, _, (x, _) = cv2.minMaxLoc(scores)
    return float(score), int(x)


def test_a_silent_move_keeps_what_the_unit_says_of_its_place() -> None:
    moved = effective_spec(SPEC, [parse_fault({"kind": "moved", "distance_m": 800})])
    assert moved.location == SPEC.location
    announced = effective_spec(SPEC, [parse_fault({"kind": "moved", "distance_m": 800,
                                                   "announce": True})])
    assert announced.location.position.distance_to(SPEC.location.position) > 790
    assert announced.location.scope != SPEC.location.scope


def test_30_m_along_the_street_overlaps_the_old_view_and_across_town_does_not() -> None:
    before = view()
    near = view({"kind": "moved", "distance_m": 30})
    far = view({"kind": "moved", "distance_m": 2000})
    for x0 in (180, 220):  # the right of the old view: what a unit turned right keeps
        part = before[40:140, x0:x0 + 70]
        score, x = best_match(part, near)
        assert score > 0.6  # still in view ...
        assert x < x0 - 80  # ... moved aside by the ~27 degrees the unit turned away
        assert best_match(part, far)[0] < 0.55  # another place: nothing of it
