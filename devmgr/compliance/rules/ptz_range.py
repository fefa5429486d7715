"""Art. 7: the capture range stays relatively fixed.

Compared with the commissioning baseline: the PTZ limits (pan, tilt, zoom ranges), the
supported spaces, the presets (added, removed, re-stored elsewhere) and the home position;
and the current position must lie within the baseline's limits. One finding listing every
difference, so the engineer sees the whole reconfiguration at once.
"""

from __future__ import annotations

from camfleet.model import PtzVector, Range
from camfleet.protocols.ptz_spaces import PT_POSITION_DEGREES
from devmgr.compliance.baseline import position_degrees, position_difference
from devmgr.compliance.facts import CameraFacts, Judgement
from devmgr.compliance.model import Finding, Severity
from devmgr.inventory.model import PtzInventory

ARTICLE = "Art. 7"
RULES = ("ptz-range",)
EPSILON = 1e-6


def _range_text(r: Range | None) -> str:
    return "none" if r is None else f"{r.min:g}..{r.max:g}"


def _ranges_differ(a: Range | None, b: Range | None) -> bool:
    if a is None or b is None:
        return (a is None) != (b is None)
    return abs(a.min - b.min) > EPSILON or abs(a.max - b.max) > EPSILON


def _outside(position: PtzVector, ptz: PtzInventory) -> list[str]:
    """Axes on which ``position`` lies outside ``ptz``'s limits (in the limits' space)."""
    point = position
    if ptz.limits_space == PT_POSITION_DEGREES:
        converted = position_degrees(position, ptz)
        if converted is None:
            return []
        point = converted
    out = []
    for axis, limits in (("pan", ptz.pan_limits), ("tilt", ptz.tilt_limits),
                         ("zoom", ptz.zoom_limits)):
        value = getattr(point, axis)
        if limits is not None and not limits.min - EPSILON <= value <= limits.max + EPSILON:
            out.append(f"{axis} {value:.3f} outside {_range_text(limits)}")
    return out


def differences(facts: CameraFacts) -> dict[str, object]:
    """What differs, field by field, in words a field engineer reads."""
    base = facts.baseline.inventory.ptz if facts.baseline is not None else None
    now = facts.inventory.ptz if facts.inventory is not None else None
    if base is None:
        return {}
    if now is None:
        return {"ptz": "the camera no longer reports PTZ"}
    diffs: dict[str, object] = {}
    for axis in ("pan", "tilt", "zoom"):
        a, b = getattr(base, f"{axis}_limits"), getattr(now, f"{axis}_limits")
        if _ranges_differ(a, b):
            diffs[f"{axis}_limits"] = [_range_text(a), _range_text(b)]
    before_spaces = sorted(s.uri for s in base.spaces)
    now_spaces = sorted(s.uri for s in now.spaces)
    if before_spaces != now_spaces:
        diffs["spaces"] = {"removed": sorted(set(before_spaces) - set(now_spaces)),
                           "added": sorted(set(now_spaces) - set(before_spaces))}
    tolerance = facts.settings.ptz_tolerance_deg
    presets_now = {p.token: p for p in now.presets}
    for preset in base.presets:
        current = presets_now.pop(preset.token, None)
        if current is None:
            diffs[f"preset:{preset.token}"] = "removed"
        elif preset.position is not None and _outside(preset.position, now):
            diffs[f"preset:{preset.token}"] = "outside the current limits: unreachable"
        elif preset.position is not None and current.position is not None:
            moved, words = position_difference(preset.position, current.position, base,
                                               tolerance)
            if moved:
                diffs[f"preset:{preset.token}"] = f"re-stored elsewhere: {words}"
    for token in presets_now:
        diffs[f"preset:{token}"] = "added"
    home_now = next((v.current_position for v in facts.views if v.name == "home"), None)
    home_before = facts.baseline.home if facts.baseline is not None else None
    if home_before is not None and home_now is not None:
        moved, words = position_difference(home_before, home_now, base, tolerance)
        if moved:
            diffs["home"] = f"moved: {words}"
    if now.position is not None:
        outside = _outside(now.position, base)
        if outside:
            diffs["position"] = "; ".join(outside) + " (baseline limits)"
    return diffs


def check(facts: CameraFacts, judged: Judgement) -> list[Finding]:
    if not facts.configured or judged.presence not in ("present", "replaced"):
        return []
    diffs = dict(judged.ptz_differences)
    if not diffs:
        return []
    listed = "; ".join(f"{k}: {v}" for k, v in diffs.items())
    return [facts.finding(
        "ptz-range", ARTICLE, Severity.MAJOR,
        f"{facts.label}'s PTZ capture range differs from commissioning: {listed}.",
        differences=diffs)]
