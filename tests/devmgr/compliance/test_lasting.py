"""Lasting or passing (``devmgr.compliance.lasting``): what is looked at again, and what a
second look decides, on hand-made evidence."""

from __future__ import annotations

from devmgr.compliance.lasting import persist, suspected
from devmgr.compliance.model import ViewEvidence


def view(name: str, *verdicts: str, frames: tuple[str, ...] = ()) -> ViewEvidence:
    return ViewEvidence(name=name, verdicts=verdicts, frames=frames)


ELSEWHERE = [view("home", "elsewhere"), view("preset:1", "elsewhere"),
             view("preset:2", "ok")]


def test_views_of_another_place_get_one_second_look_at_one_of_them() -> None:
    assert suspected(ELSEWHERE) == {"preset:1"}  # the head's last stop among them
    looked = [view("home", "elsewhere"), view("preset:1", "elsewhere", frames=("f",))]
    assert suspected(looked) == set()  # once settled, not again
    assert suspected([view("home", "obstructed"), *ELSEWHERE[1:]]) == {"home", "preset:1"}


def test_a_second_look_that_shows_the_scene_again_undoes_another_place() -> None:
    settled = persist(ELSEWHERE, [view("preset:1", "ok")], {"preset:1": "sha-later"})
    by_name = {v.name: v for v in settled}
    assert by_name["preset:1"].verdicts == ("ok",)
    assert by_name["preset:1"].frames == ("sha-later",)
    assert by_name["home"].verdicts == ("unjudged",)  # not a move: something passed by
    assert "preset:1 showed its own scene again" in by_name["home"].reason
    assert by_name["preset:2"].verdicts == ("ok",)


def test_a_second_look_at_another_place_keeps_every_view_there() -> None:
    settled = persist(ELSEWHERE, [view("preset:1", "elsewhere")], {"preset:1": "sha-later"})
    assert [v.verdicts for v in settled] == [("elsewhere",), ("elsewhere",), ("ok",)]
    assert settled[1].frames == ("sha-later",)


def test_a_passed_obstruction_leaves_the_turn_to_the_clear_frame() -> None:
    """A bus across the first frame bends its turn estimate; once the bus has gone, the
    later, clear frame measures the view (here: turned 2 deg, not the 6 deg across the bus)."""
    tiles = ((0, 5), (1, 5), (2, 5), (3, 5), (4, 5))
    first = ViewEvidence(name="home", verdicts=("obstructed", "turned"), pan_deg=6.0,
                         tilt_deg=0.5, obstructed_tiles=tiles, obstructed_share=5 / 48)
    clear = ViewEvidence(name="home", verdicts=("turned",), pan_deg=2.0, tilt_deg=0.1)
    [settled] = persist([first], [clear], {"home": "sha-later"})
    assert settled.verdicts == ("turned",)
    assert (settled.pan_deg, settled.tilt_deg) == (2.0, 0.1)
    assert "passed" in settled.reason
    # Nor is a turn that only the bus made kept.
    [settled] = persist([first], [ViewEvidence(name="home", verdicts=("ok",), pan_deg=0.02,
                                               tilt_deg=0.0)], {"home": "sha-later"})
    assert settled.verdicts == ("ok",)
    assert settled.pan_deg == 0.02


def test_a_turn_stands_only_if_a_later_frame_shows_it_too() -> None:
    """A bus across a zoomed view of paving dragged the alignment 2.6 deg; a later frame
    without it shows the view where it was. A real knock is there in every frame, and keeps
    the first frame's measurement."""
    once = ViewEvidence(name="preset:3", verdicts=("turned",), pan_deg=2.6, tilt_deg=0.3)
    assert suspected([once, view("home", "ok")]) == {"preset:3"}
    [settled] = persist([once], [ViewEvidence(name="preset:3", verdicts=("ok",),
                                              pan_deg=0.01, tilt_deg=0.0)], {"preset:3": "b"})
    assert settled.verdicts == ("ok",)
    assert settled.pan_deg == 0.01
    assert "not there in a later one" in settled.reason
    assert settled.frames == ("b",)
    knocked = ViewEvidence(name="preset:3", verdicts=("turned",), pan_deg=2.61, tilt_deg=0.3)
    [settled] = persist([once], [knocked], {"preset:3": "b"})
    assert (settled.verdicts, settled.pan_deg) == (("turned",), 2.6)


def test_the_tiles_a_later_frame_did_not_show_again_are_kept_as_passed() -> None:
    tiles = ((0, 5), (1, 5), (2, 5), (3, 5), (4, 5))
    first = ViewEvidence(name="home", verdicts=("obstructed",), obstructed_tiles=tiles,
                         obstructed_share=5 / 48)
    later = ViewEvidence(name="home", verdicts=("ok",), obstructed_tiles=((0, 5),))
    [settled] = persist([first], [later], {"home": "b"})
    assert settled.verdicts == ("ok",)
    assert settled.obstructed_tiles == ((0, 5),)
    assert settled.passed_tiles == ((1, 5), (2, 5), (3, 5), (4, 5))


def test_what_is_in_front_must_be_the_same_thing_in_every_frame() -> None:
    """A busy street: a vehicle over the bottom row in both frames, another one each time.
    Where the two frames differ from each other, nothing lasting stands in front."""
    tiles = ((1, 5), (2, 5), (3, 5), (4, 5), (5, 5))
    first = ViewEvidence(name="preset:1", verdicts=("obstructed",), obstructed_tiles=tiles,
                         obstructed_share=5 / 48)
    again = first.model_copy()
    [settled] = persist([first], [again], {"preset:1": "b"}, {"preset:1": tiles[1:]})
    assert settled.verdicts == ("ok",)
    assert "passed" in settled.reason
    # A panel is the same in both: it stays.
    [settled] = persist([first], [again], {"preset:1": "b"}, {"preset:1": ()})
    assert settled.verdicts == ("obstructed",)
    assert settled.obstructed_tiles == tiles
