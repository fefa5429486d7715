"""Lasting or passing: a suspected obstruction is looked at again before it is reported.

A bus at its stop, a crowd or a lorry unloading cover part of a view for a while; a billboard
or a grown bush stays. So a view found obstructed is taken again, ``obstruction_frames - 1``
more times ``obstruction_spacing_s`` apart, and only the tiles obstructed in every frame, and
showing the same thing in each, count: a billboard is there every time, while in a street
busy enough to have a vehicle in the same place in every frame it is another vehicle each
time. A view whose obstruction went away is "ok" (or turned, as the clear later frame
measures it), with the reason saying it passed. A view found turned is looked at again too,
and stays turned only if the later frame says so as well: a bus across a zoomed view of
paving, or the long shadows of the hour, can drag the alignment with them. A
blurred view is looked at again too: a lorry filling a zoomed view close up has no fine
detail either. Views of another place get one more look, at one of them: a bus at the lens
hides the scene of every view alike, and so does a move; if that view shows its own scene
again, its later judgement stands and the other views of another place are not judged now
(something passed in front of the lens); if not, they all stay another place.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from devmgr.compliance.model import ViewEvidence
from devmgr.vision import GRID_COLS, GRID_ROWS, OBSTRUCTED_SHARE_MIN


def suspected(views: list[ViewEvidence]) -> frozenset[str]:
    """The views to look at again: obstructed, blurred (a lorry filling a zoomed view close
    up has no fine detail either), turned (a vehicle across a zoomed view can drag the
    alignment with it), and, once, the last view of another place."""
    names = {v.name for v in views if {"obstructed", "blurred", "turned"} & set(v.verdicts)}
    elsewhere = [v for v in views if "elsewhere" in v.verdicts]
    if elsewhere and not any(v.frames for v in elsewhere):
        names.add(elsewhere[-1].name)  # the head's last stop among them: one travel
    return frozenset(names)


def persist(first: list[ViewEvidence], again: list[ViewEvidence],
            digests: dict[str, str],
            changing: Mapping[str, Collection[tuple[int, int]]] | None = None,
            ) -> list[ViewEvidence]:
    """``first`` with each suspected view's obstruction cut to what ``again`` still shows
    (``digests``: the later frames' SHA-256 by view name), less the tiles where the two
    frames differ from each other (``changing``, by view name: one car, then another)."""
    later = {v.name: v for v in again}
    passed_by = next((v.name for v in first if "elsewhere" in v.verdicts and v.name in later
                      and not {"elsewhere", "unjudged"} & set(later[v.name].verdicts)), None)
    out = []
    for view in first:
        if passed_by is not None and "elsewhere" in view.verdicts and view.name not in later:
            out.append(view.model_copy(update={"verdicts": ("unjudged",), "reason": (
                f"not judged now: {passed_by} showed its own scene again on a second look "
                "(something passed in front of the lens)")}))
            continue
        second = later.get(view.name)
        if not {"obstructed", "blurred", "elsewhere", "turned"} & set(view.verdicts) \
                or second is None:
            out.append(view)
            continue
        frames = (*view.frames, digests.get(view.name, ""))
        if "elsewhere" in view.verdicts:
            settled = second if view.name == passed_by else view
            out.append(settled.model_copy(update={"frames": frames}))
            continue
        if "unusable" in second.verdicts or "unjudged" in second.verdicts:
            out.append(view.model_copy(update={"frames": frames}))
            continue  # the later frame says nothing either way: keep what was seen
        out.append(_settle(view, second, frames, (changing or {}).get(view.name, ())))
    return out


def _settle(view: ViewEvidence, second: ViewEvidence, frames: tuple[str, ...],
            changing: Collection[tuple[int, int]]) -> ViewEvidence:
    """A suspected view, judged again on a later frame: only what is in both, and the same
    in both, stands."""
    verdicts = set(view.verdicts)
    update: dict[str, object] = {"frames": frames}
    reason = view.reason
    if "blurred" in verdicts and "blurred" not in second.verdicts:
        verdicts.discard("blurred")
        update["blur_ratio"] = second.blur_ratio
        reason = "a loss of sharpness passed (gone in a later frame)"
    cleared = False
    if "obstructed" in verdicts:
        still = set(second.obstructed_tiles) - set(changing)
        tiles = tuple(t for t in view.obstructed_tiles if t in still)
        share = len(tiles) / (GRID_COLS * GRID_ROWS)
        passed = tuple(sorted({*view.passed_tiles, *(t for t in view.obstructed_tiles
                                                      if t not in tiles)}))
        update |= {"obstructed_tiles": tiles, "obstructed_share": share,
                   "passed_tiles": passed}
        if share < OBSTRUCTED_SHARE_MIN:
            cleared = True
            verdicts.discard("obstructed")
            update["obstructed_where"] = ""
            reason = (f"an obstruction of {view.obstructed_share:.0%} passed (gone in a later "
                      "frame: traffic or people)")
    if "turned" in verdicts and (cleared or "turned" not in second.verdicts):
        # What stood in front has gone, or the turn did: the later, clear frame measures
        # the view (a turn measured across a bus, or on the shadows of the hour, is theirs).
        verdicts = (verdicts - {"turned"}) | ({"turned"} & set(second.verdicts))
        update |= {"pan_deg": second.pan_deg, "tilt_deg": second.tilt_deg}
        if not cleared and "turned" not in verdicts:
            reason = ("a turn seen in one frame was not there in a later one (something "
                      "passed in front of the lens)")
    update |= {"verdicts": tuple(sorted(verdicts)) or ("ok",), "reason": reason}
    return view.model_copy(update=update)
