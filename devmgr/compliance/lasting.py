"""Lasting or passing: a suspected obstruction is looked at again before it is reported.

A bus at its stop, a crowd or a lorry unloading cover part of a view for a while; a billboard
or a grown bush stays. So a view found obstructed is taken again, ``obstruction_frames - 1``
more times ``obstruction_spacing_s`` apart, and only the tiles obstructed in every frame
count. A view whose obstruction went away is "ok", with the reason saying it passed. A blurred view
is looked at again too: a lorry filling a zoomed view close up has no fine detail either; and
so is a view of another place (a bus filling a zoomed view hides all of its scene): when a
later frame shows the baseline's scene again, that frame's judgement stands.
"""

from __future__ import annotations

from devmgr.compliance.model import ViewEvidence
from devmgr.vision import GRID_COLS, GRID_ROWS, OBSTRUCTED_SHARE_MIN


def suspected(views: list[ViewEvidence]) -> frozenset[str]:
    """The views to look at again: obstructed, blurred (a lorry filling a zoomed view close
    up has no fine detail either) or elsewhere (it may hide the whole scene)."""
    return frozenset(v.name for v in views
                     if {"obstructed", "blurred", "elsewhere"} & set(v.verdicts))


def persist(first: list[ViewEvidence], again: list[ViewEvidence],
            digests: dict[str, str]) -> list[ViewEvidence]:
    """``first`` with each suspected view's obstruction cut to what ``again`` still shows
    (``digests``: the later frames' SHA-256 by view name)."""
    later = {v.name: v for v in again}
    out = []
    for view in first:
        second = later.get(view.name)
        if not {"obstructed", "blurred", "elsewhere"} & set(view.verdicts) or second is None:
            out.append(view)
            continue
        frames = (*view.frames, digests.get(view.name, ""))
        if "elsewhere" in view.verdicts:
            passed = "elsewhere" not in second.verdicts and "unjudged" not in second.verdicts
            out.append((second if passed else view).model_copy(update={"frames": frames}))
            continue
        if "unusable" in second.verdicts or "unjudged" in second.verdicts:
            out.append(view.model_copy(update={"frames": frames}))
            continue  # the later frame says nothing either way: keep what was seen
        if "blurred" in view.verdicts and "blurred" not in second.verdicts:
            verdicts = tuple(v for v in view.verdicts if v != "blurred") or ("ok",)
            out.append(view.model_copy(update={
                "frames": frames, "verdicts": verdicts, "blur_ratio": second.blur_ratio,
                "reason": "a loss of sharpness passed (gone in a later frame)"}))
            continue
        if "obstructed" not in view.verdicts:
            out.append(view.model_copy(update={"frames": frames}))
            continue
        tiles = tuple(t for t in view.obstructed_tiles if t in set(second.obstructed_tiles))
        share = len(tiles) / (GRID_COLS * GRID_ROWS)
        update: dict[str, object] = {"frames": frames, "obstructed_tiles": tiles,
                                     "obstructed_share": share}
        if share < OBSTRUCTED_SHARE_MIN:
            verdicts = tuple(v for v in view.verdicts if v != "obstructed") or ("ok",)
            update |= {"verdicts": verdicts, "obstructed_where": "",
                       "reason": f"an obstruction of {view.obstructed_share:.0%} passed "
                                 "(gone in a later frame: traffic or people)"}
        out.append(view.model_copy(update=update))
    return out
