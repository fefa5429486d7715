"""Art. 7 (a relatively fixed view) and Art. 12 (nothing may obstruct it).

Today's snapshot of each reference view (home, each preset) is compared with the
commissioning snapshot by :func:`devmgr.vision.compare_views`; the comparisons arrive as
``facts.views``. One finding per kind of change, listing the views it was seen in:
**view-turned** (with the estimate in degrees), **view-obstructed** (which part, what share),
**view-blurred** and **view-unusable** (major), **view-not-judged** (info: a view that
cannot be judged now, such as night without IR or dense fog, or ever, such as a featureless
baseline; retried at the next audit, never called turned, obstructed or blurred), and
**view-no-baseline** (minor: commissioning took no picture, so the view is never checked).
Lighting, noise and JPEG quality alone raise nothing (see ``bench/view_change.py``). A moved
unit's views are not judged: the presence rule has already said why they differ.
"""

from __future__ import annotations

import math

from devmgr.compliance.facts import CameraFacts, Judgement
from devmgr.compliance.model import Finding, Severity, ViewEvidence
from devmgr.vision import OBSTRUCTED_SHARE_MIN

RULES = ("view-turned", "view-obstructed", "view-blurred", "view-unusable", "view-not-judged",
         "view-no-baseline")


def _turn_words(v: ViewEvidence) -> str:
    if v.shows_view:
        return f"to the scene of its view {v.shows_view}"
    if v.pan_deg is None or v.tilt_deg is None:
        return "(angle not measured: zoomed view)"
    pan, tilt = v.pan_deg, v.tilt_deg
    return (f"{abs(pan):.1f}° {'right' if pan >= 0 else 'left'}, "
            f"{abs(tilt):.1f}° {'up' if tilt >= 0 else 'down'}")


def check(facts: CameraFacts, judged: Judgement) -> list[Finding]:
    if not facts.configured or judged.presence not in ("present", "replaced"):
        return []
    if facts.baseline is not None and not facts.baseline.views:
        # Commissioning got no picture (no snapshot URI, or one that served no JPEG): silence
        # here would read as a view that stayed put, audit after audit.
        return [facts.finding(
            "view-no-baseline", "Art. 7", Severity.MINOR,
            f"{facts.label} has no commissioning view to compare with (no snapshot could be "
            "taken then), so its view is never checked. Re-commission it once its snapshot "
            "URI serves a picture.")]
    tolerance = facts.settings.view_tolerance_deg
    views = [v for v in facts.views if v.name not in judged.reconfigured_views]
    turned = [v for v in views if "turned" in v.verdicts and (
        v.pan_deg is None or v.tilt_deg is None
        or math.hypot(v.pan_deg, v.tilt_deg) >= tolerance)]
    blurred = [v for v in views if "blurred" in v.verdicts]
    # Defocus or a dirty dome spoils every view of the lens, unevenly; per-tile edge loss
    # cannot tell that from an obstruction, so obstruction is not judged on a blurred camera.
    # But a view that lost its detail in part while other views of the same lens stayed
    # sharp has something in front of it, close and out of focus (a branch across a zoomed
    # preset): obstructed.
    sharp = any({"ok", "turned", "obstructed"} & set(v.verdicts) and v not in blurred
                for v in views)
    covered = [v for v in blurred if sharp and v.obstructed_share >= OBSTRUCTED_SHARE_MIN]
    blurred = [v for v in blurred if v not in covered]
    # A view that turned shows other things than its baseline: what looks obstructed there
    # is the turn's doing, judged again once the unit is re-aimed.
    obstructed = [] if blurred else [v for v in views if ("obstructed" in v.verdicts
                                                          or v in covered) and v not in turned]
    unusable = [v for v in views if "unusable" in v.verdicts]
    # A view of another place, when not all of them are (which the presence rule calls a
    # move): a featureless preset or a re-aim the next audit may tell apart; said, not paged.
    unjudged = [v for v in views if {"unjudged", "elsewhere"} & set(v.verdicts)]
    findings: list[Finding] = []
    if turned:
        worst = max(turned, key=lambda v: (v.pan_deg is not None,
                                           math.hypot(v.pan_deg or 0.0, v.tilt_deg or 0.0)))
        findings.append(facts.finding(
            "view-turned", "Art. 7", Severity.MAJOR,
            f"{facts.label}'s view has turned {_turn_words(worst)} at {worst.name} "
            f"(compared with commissioning; tolerance {tolerance:g}°), while its PTZ position "
            "is the same: the unit was knocked or re-aimed.",
            views={v.name: {"pan_deg": None if v.pan_deg is None else round(v.pan_deg, 2),
                            "tilt_deg": None if v.tilt_deg is None else round(v.tilt_deg, 2)}
                   for v in turned},
            # Views turned so far that nothing matches any more: part of the same knock.
            not_comparable={v.name: v.reason for v in unusable}))
        unusable = []
    if obstructed:
        worst = max(obstructed, key=lambda v: v.obstructed_share)
        findings.append(facts.finding(
            "view-obstructed", "Art. 12", Severity.MAJOR,
            f"{facts.label}'s view is obstructed: {worst.obstructed_share:.0%} of the frame, "
            f"{worst.obstructed_where}, at {worst.name}. Clear greenery, signs or pipes in "
            "front of it.",
            views={v.name: {"share": round(v.obstructed_share, 3),
                            "where": v.obstructed_where} for v in obstructed}))
    if blurred:
        worst = min(blurred, key=lambda v: v.blur_ratio or 0.0)
        findings.append(facts.finding(
            "view-blurred", "Art. 7", Severity.MAJOR,
            f"{facts.label}'s picture is blurred: sharpness {worst.blur_ratio or 0.0:.0%} of "
            f"commissioning at {worst.name}. Clean the dome or refocus.",
            views={v.name: {"blur_ratio": round(v.blur_ratio or 0.0, 3)} for v in blurred}))
    if unusable:
        findings.append(facts.finding(
            "view-unusable", "Art. 7", Severity.MAJOR,
            f"{facts.label}'s view cannot be compared: {unusable[0].reason}.",
            views={v.name: v.reason for v in unusable}))
    if unjudged and not turned:
        findings.append(facts.finding(
            "view-not-judged", "Art. 7", Severity.INFO,
            f"{facts.label}'s view {unjudged[0].name} was not judged: {unjudged[0].reason}. "
            "Not a fault in itself; the next audit tries again.",
            views={v.name: v.reason for v in unjudged}))
    return findings
