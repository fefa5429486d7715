"""Today's views judged against the baseline's: which reference view each snapshot shows, and
what the comparison of the two pictures concludes (turned by how much, obstructed where,
blurred, or not judgeable now and why). The audit's view rules read this evidence.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from devmgr.compliance.baseline import (
    GENERIC_TOLERANCE,
    Baseline,
    ReferenceView,
    position_degrees,
)
from devmgr.compliance.capture import Capture, CapturedView
from devmgr.compliance.model import ViewEvidence
from devmgr.vision import (
    GRID_COLS,
    GRID_ROWS,
    SCENE_ELSEWHERE_MAX,
    SCENE_SHOWN_MIN,
    baseline_problem,
    compare_views,
    scene_matches,
)

__all__ = ["compare"]


def compare(baseline: Baseline, capture: Capture, images: Callable[[str], bytes | None], *,
            visited_only: bool = False) -> list[ViewEvidence]:
    """Today's views against the baseline's, by name.

    ``visited_only`` (``--no-move``): only what was seen is judged. The current view is
    judged against the reference view the head is at (same pan, tilt and zoom), if any; the
    views not visited are not findings.
    """
    evidence: list[ViewEvidence] = []
    if visited_only:
        pairs = _current_pairs(baseline, capture, evidence)
    else:
        today = {v.name: v for v in capture.views}
        pairs = [(ref, today.get(ref.name)) for ref in baseline.views]
    # Pixels become degrees through the field of view: the filing's field angle at the widest
    # zoom, the one commissioning measured at a zoomed view; without either the turn is
    # judged but not measured.
    zooms = [v.position.zoom for v in baseline.views if v.position is not None]
    widest = min(zooms, default=0.0) + 1e-3
    for ref, now in pairs:
        base_jpeg = images(ref.snapshot)
        if now is None or base_jpeg is None:
            evidence.append(ViewEvidence(
                name=ref.name, baseline_position=ref.position, baseline_image=ref.snapshot,
                verdicts=("unusable",), reason="no snapshot of this view today"
                if now is None else "the baseline snapshot is missing from the registry"))
            continue
        evidence.append(_judge(baseline, ref, now, base_jpeg, widest))
    return evidence


def _current_pairs(baseline: Baseline, capture: Capture, evidence: list[ViewEvidence],
                   ) -> list[tuple[ReferenceView, CapturedView | None]]:
    """The current view, paired with the reference view it shows (``--no-move``)."""
    pairs: list[tuple[ReferenceView, CapturedView | None]] = []
    for now in capture.views:
        ref = baseline.view(now.name) or next(
            (r for r in baseline.views if r.position is not None and now.position is not None
             and max(abs(r.position.pan - now.position.pan),
                     abs(r.position.tilt - now.position.tilt),
                     abs(r.position.zoom - now.position.zoom)) <= GENERIC_TOLERANCE), None)
        if ref is None:
            evidence.append(ViewEvidence(
                name=now.name, current_position=now.position, verdicts=(),
                reason="the head is at none of its reference views: not judged without "
                       "moving it"))
        else:
            pairs.append((ref, now))
    return pairs


def _judge(baseline: Baseline, ref: ReferenceView, now: CapturedView, base_jpeg: bytes,
           widest: float) -> ViewEvidence:
    """One view: today's snapshot against its reference."""
    seen = ViewEvidence(name=ref.name, baseline_position=ref.position,
                        current_position=now.position, baseline_image=ref.snapshot)
    if ref.unjudgeable:
        # Featureless at commissioning (sky, a plain wall): all it can show is whether it
        # is still featureless.
        still = baseline_problem(now.jpeg)
        return seen.model_copy(update={
            "verdicts": ("ok",) if still else ("unjudged",),
            "reason": f"baseline {ref.unjudgeable}" + (
                "; still so today" if still else "; today it shows detail: re-aimed or "
                "something in front, which cannot be told apart here")})
    elevation = None
    if ref.position is not None:
        deg = position_degrees(ref.position, baseline.inventory.ptz)
        elevation = deg.tilt if deg is not None else None
    measured = ref.hfov_deg is not None or ref.position is None or ref.position.zoom <= widest
    hfov = ref.hfov_deg or baseline.hfov_deg or 60.0
    try:
        result = compare_views(base_jpeg, now.jpeg, hfov, elevation_deg=elevation)
    except ValueError as exc:  # an undecodable JPEG from the camera
        return seen.model_copy(update={"verdicts": ("unusable",), "reason": str(exc)})
    if result.verdicts == {"elsewhere"} and not baseline_problem(now.jpeg):
        # Today's picture is about as clear as the baseline and has detail, yet nothing of
        # the one is in the other: another place, a re-aim beyond recognition, or another of
        # its own views. The fingerprints tell which.
        return _elsewhere(baseline, ref, now.jpeg, seen)
    if result.verdicts & {"unusable", "elsewhere"}:
        # The baseline could be judged, today's picture cannot (night without IR, dense
        # fog, a capped lens, a featureless view): not judged now, retried next audit.
        return seen.model_copy(update={"verdicts": ("unjudged",),
                                       "reason": f"not judgeable now: {result.reason}"})
    verdicts: set[str] = set(result.verdicts)
    reason = result.reason
    if "turned" in verdicts and not measured:
        verdicts.discard("turned")
        verdicts.add("unjudged")
        reason = ("turn not measurable in degrees at this zoom (no field of view measured at "
                  "commissioning: commission it again)")
    return seen.model_copy(update={
        "hfov_deg": hfov if measured else None,
        "pan_deg": _finite(result.pan_deg) if measured else None,
        "tilt_deg": _finite(result.tilt_deg) if measured else None,
        "obstructed_share": result.obstructed_share, "obstructed_where": result.where,
        "obstructed_tiles": result.obstructed_tiles, "grid": (GRID_COLS, GRID_ROWS),
        "blur_ratio": _finite(result.blur_ratio),
        "verdicts": tuple(sorted(verdicts or {"ok"})), "reason": reason})


def _elsewhere(baseline: Baseline, ref: ReferenceView, jpeg: bytes,
               seen: ViewEvidence) -> ViewEvidence:
    """A clear picture the comparison could not align with the baseline at all, read with the
    fingerprints commissioning recorded: another of the camera's own views (re-aimed), part of
    its scene seen from elsewhere (parallax: moved a short way), or another place."""
    others = [v for v in baseline.views if v.name != ref.name and v.fingerprint]
    found, *theirs = scene_matches([ref.fingerprint, *(v.fingerprint for v in others)], jpeg)
    shown = max(((v.name, share or 0.0) for v, share in zip(others, theirs, strict=True)),
                key=lambda named: named[1], default=("", 0.0))
    if shown[1] >= SCENE_SHOWN_MIN and shown[1] > (found or 0.0):
        return seen.model_copy(update={
            "verdicts": ("turned",), "scene_match": found, "shows_view": shown[0],
            "reason": f"it shows the scene of its view {shown[0]} ({shown[1]:.0%} of that "
                      "view's fingerprint): re-aimed, or its views re-stored"})
    if found is not None and found > SCENE_ELSEWHERE_MAX:
        what = (f"only part of the baseline's scene ({found:.0%} of its fingerprint), seen "
                "from another point: it was moved a short way")
    else:
        share = "" if found is None else f" ({found:.0%} of its fingerprint)"
        what = f"none of the baseline's scene{share}: it looks at another place"
    return seen.model_copy(update={"verdicts": ("elsewhere",), "scene_match": found,
                                   "reason": f"today's picture is clear and detailed but has "
                                             f"{what}"})


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None
