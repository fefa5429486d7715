"""Like with like: a suspected obstruction is judged against a good view in today's light too.

The commissioning snapshot was taken once, at one hour, in one weather. Against it, a view
at 8:00 carries shadows where 11:00 had sun, and a plain wall lit at noon is dark at dusk;
some of that reads as "something in front". Every audit since that found a view healthy
kept its snapshot. So a view found obstructed against the baseline is also compared with
the one of those good views whose light is most like today's (``light_distance``), and a
tile counts only if it is obstructed against both: what the light of the hour does, it
did on that day too. Commissioning's second frame of each view is one of those good views
from the first audit on, and is always judged against as well, on the tiles where the two
commissioning frames differ (``unsteady_tiles``, found at commissioning): a car or a crowd
that passed in front of the lens in one of them is not in both, so where it stood is not
"obstructed" today. Elsewhere the two frames are the same picture, and the second one has no
say (two noisy looks at one thing would only lose tiles of a real obstruction).

It never hides what grows slowly, nor what was missed once. The tiles a good view itself had
against the baseline (too few to be a finding then), and those it had in only some of its
audit's frames, are never excused by it, so a bush that creeps in a tile at a time is still
counted against the baseline, and found when it is large enough, and an obstruction that one
audit saw in one frame and not the next is not excused by that audit's picture. And a good
view comes only from an audit that found nothing wrong with any of the camera's views (above
"info"): what hangs in front of a lens is in all of its views, so an audit that found it in
one view and missed it in another does not make the other a reference. Turns and blur are
judged against the baseline only.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from devmgr.compliance.baseline import ReferenceView
from devmgr.compliance.model import CameraAudit, Severity, ViewEvidence
from devmgr.vision import (
    GRID_COLS,
    GRID_ROWS,
    OBSTRUCTED_SHARE_MIN,
    compare_views,
    light_distance,
    light_field,
)

__all__ = ["GoodView", "good_views", "judge_in_like_light", "unsteady_between",
           "unsteady_tiles"]

#: How many earlier audits are searched for good views of a camera.
RECENT_AUDITS = 30
ALL_TILES = frozenset(itertools.product(range(GRID_COLS), range(GRID_ROWS)))


@dataclass(frozen=True)
class GoodView:
    """A view an earlier audit found healthy: its snapshot, and the tiles it had lost
    against the baseline all the same (too few for a finding); or commissioning's second
    frame of the view (``commissioned``)."""

    name: str
    image: str
    own_tiles: frozenset[tuple[int, int]]
    commissioned: bool = False


def good_views(history: Sequence[CameraAudit],
               commissioned: Sequence[ReferenceView] = ()) -> dict[str, list[GoodView]]:
    """Per view name, the good views of earlier audits of the camera (``history``, newest
    first): judged "ok" against the baseline, with their snapshot kept, in an audit without
    any view finding above "info" (a view not judgeable in fog says nothing against the
    others); and the second frames of the ``commissioned`` reference views."""
    out: dict[str, list[GoodView]] = {}
    for ref in commissioned:
        if ref.second_snapshot:
            # Taken in the baseline's light, it has a say only where the two commissioning
            # frames differ: where something passed in front of the lens then.
            out.setdefault(ref.name, []).append(GoodView(
                ref.name, ref.second_snapshot, ALL_TILES - frozenset(ref.unsteady_tiles),
                commissioned=True))
    for audit in history:
        if any(f.rule.startswith("view-") and f.severity != Severity.INFO
               for f in audit.findings):
            continue
        for view in audit.views:
            if view.verdicts == ("ok",) and view.current_image:
                # What it lost in some frames only is not vouched for either: an
                # obstruction caught once and missed once must not be excused by its frame.
                own = frozenset((*view.obstructed_tiles, *view.passed_tiles))
                out.setdefault(view.name, []).append(
                    GoodView(view.name, view.current_image, own))
    return out


def unsteady_tiles(first: bytes, second: bytes) -> tuple[tuple[int, int], ...]:
    """The tiles where two frames of a view differ, either way round: a car or a crowd in
    one of them, or another one in each (commissioning's two frames; an audit's looks at a
    suspected obstruction). None when they cannot be compared."""
    try:
        a, b = compare_views(first, second, 60.0), compare_views(second, first, 60.0)
    except ValueError:
        return ()
    return tuple(sorted({*a.obstructed_tiles, *b.obstructed_tiles}))


async def unsteady_between(first: Mapping[str, bytes], later: Iterable[tuple[str, bytes]],
                           ) -> dict[str, tuple[tuple[int, int], ...]]:
    """Per view name in ``first`` and ``later`` (name, JPEG): ``unsteady_tiles`` between its
    two frames, worked out off the event loop."""
    return {name: await asyncio.to_thread(unsteady_tiles, first[name], jpeg)
            for name, jpeg in later if name in first}


def judge_in_like_light(views: list[ViewEvidence], today: Mapping[str, bytes],
                        good: Mapping[str, Sequence[GoodView]],
                        images: Callable[[str], bytes | None]) -> list[ViewEvidence]:
    """``views`` with each obstruction cut to the tiles also obstructed against the good view
    in the most like light (``today``: this audit's JPEG by view name; ``images``: a
    snapshot by SHA-256)."""
    out = []
    for view in views:
        jpeg = today.get(view.name)
        candidates = [(g, image) for g in good.get(view.name, ())
                      if (image := images(g.image)) is not None]
        if "obstructed" not in view.verdicts or jpeg is None or not candidates:
            out.append(view)
            continue
        out.append(_against(view, jpeg, candidates))
    return out


def _against(view: ViewEvidence, jpeg: bytes,
             candidates: list[tuple[GoodView, bytes]]) -> ViewEvidence:
    try:
        today = light_field(jpeg)
        reference, image = min(candidates, key=lambda c: light_distance(today, c[1]))
        result = compare_views(image, jpeg, view.hfov_deg or 60.0)
        if result.verdicts & {"unusable", "elsewhere"}:
            return view
        # Still counted: obstructed against the good view too, or already lost in it.
        still = set(result.obstructed_tiles) | reference.own_tiles
        # The two commissioning frames are the baseline: what is obstructed against one and
        # not the other passed in front of the lens then (the like-light view may have
        # traffic of its own elsewhere).
        for good, second in candidates:
            if good.commissioned and good is not reference and good.own_tiles != ALL_TILES:
                other = compare_views(second, jpeg, view.hfov_deg or 60.0)
                if not other.verdicts & {"unusable", "elsewhere"}:
                    still &= set(other.obstructed_tiles) | good.own_tiles
    except ValueError:  # an undecodable picture: judged against the baseline alone
        return view
    tiles = tuple(t for t in view.obstructed_tiles if t in still)
    share = len(tiles) / (GRID_COLS * GRID_ROWS)
    update: dict[str, object] = {"obstructed_tiles": tiles, "obstructed_share": share,
                                 "light_reference": reference.image}
    if share < OBSTRUCTED_SHARE_MIN:
        update |= {"verdicts": tuple(v for v in view.verdicts if v != "obstructed") or ("ok",),
                   "obstructed_where": "",
                   "reason": f"a change of {view.obstructed_share:.0%} against the baseline "
                             + ("is what passed in front of the lens as it was taken (not "
                                "there in commissioning's second frame)" if reference.commissioned
                                else "is the light of the moment (not there against a good "
                                "view of an earlier audit in like light)")}
    return view.model_copy(update=update)
