"""Suspected obstructions judged in like light (``devmgr.compliance.lighting``), on frames of
the simulated living world: a dome commissioned at 11:30 and looked at again at 7:30, when
the shadows lie elsewhere."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import cv2
import pytest

from devmgr.compliance.baseline import ReferenceView
from devmgr.compliance.lighting import (
    ALL_TILES,
    GoodView,
    good_views,
    judge_in_like_light,
    unsteady_tiles,
)
from devmgr.compliance.model import CameraAudit, Finding, Severity, ViewEvidence
from devmgr.vision import OBSTRUCTED_SHARE_MIN, compare_views, light_distance
from simulators import effects as fx
from simulators.scene import ImageEffect, Scene, render
from simulators.scene.living import conditions_at, living_effects
from simulators.spec import LivingWorld

SEED, POSE = 2, (14.3, -17.0, 0.0, 60.0)  # a street corner whose facade the sun sweeps
STILL: dict[str, Any] = {"enabled": True, "speed": 0.0, "traffic": 0.0}


def shot(hour: float, *extra: ImageEffect) -> bytes:
    world = LivingWorld.model_validate({**STILL, "start_hour": hour})
    effects = living_effects(conditions_at(world, 0.0, SEED), POSE) + list(extra)
    frame = render(Scene.for_seed(SEED), *POSE, 1280, 720, effects=effects)
    return bytes(cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 85])[1].tobytes())


def judged(baseline: bytes, now: bytes) -> ViewEvidence:
    """A view judged against the baseline, as the audit's first look does."""
    r = compare_views(baseline, now, POSE[3])
    verdicts = tuple(sorted(v for v in r.verdicts if v in {"ok", "obstructed", "turned"}))
    return ViewEvidence(name="home", hfov_deg=POSE[3], obstructed_share=r.obstructed_share,
                        obstructed_tiles=r.obstructed_tiles, verdicts=verdicts,
                        current_image=f"sha-{len(now)}")


def audited(*views: ViewEvidence, findings: tuple[Finding, ...] = ()) -> CameraAudit:
    """An earlier audit of the camera that showed these views."""
    return CameraAudit(camera="cam", status="findings" if findings else "compliant",
                       views=views, findings=findings)


@pytest.fixture(scope="module")
def baseline() -> bytes:
    return shot(11.5)


def test_the_baseline_alone_calls_the_morning_shadows_an_obstruction(baseline: bytes) -> None:
    assert "obstructed" in judged(baseline, shot(7.5)).verdicts  # what this module is about


@pytest.mark.parametrize("hour", [7.0, 15.0, 19.0, 23.0])
def test_shadows_that_sweep_a_facade_are_no_obstruction_against_the_baseline_alone(
        hour: float) -> None:
    """A facade of faint brick the lamp posts' and roofs' shadows sweep all day: where a
    shadow's edge lay at commissioning the tile loses its edges later, but the bricks are
    still there, in place (``TEXTURE_KEPT_NCC``). Without that test this view read as 8-12 %
    obstructed at 6 of 7 hours of the day."""
    pose = (18.9, -8.2, 0.0, 63.0)

    def at(h: float) -> bytes:
        world = LivingWorld.model_validate({**STILL, "start_hour": h})
        effects = living_effects(conditions_at(world, 0.0, SEED), pose)
        frame = render(Scene.for_seed(SEED), *pose, 1280, 720, effects=effects)
        return bytes(cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 85])[1].tobytes())

    r = compare_views(at(11.5), at(hour), pose[3])
    assert r.verdicts == {"ok"}, r
    assert r.obstructed_share < OBSTRUCTED_SHARE_MIN


def test_a_good_view_in_like_light_clears_the_shadows(baseline: bytes) -> None:
    earlier = shot(6.5)  # an earlier audit, in the early sun: healthy
    good = judged(baseline, earlier)
    assert good.verdicts == ("ok",)
    store = {good.current_image: earlier}
    today = judged(baseline, shot(7.5))
    [view] = judge_in_like_light([today], {"home": shot(7.5)}, good_views([audited(good)]),
                                 store.get)
    assert view.verdicts == ("ok",)
    assert view.light_reference == good.current_image
    assert "light of the moment" in view.reason


def test_the_good_view_in_the_most_like_light_is_the_one_used(baseline: bytes) -> None:
    morning, evening = shot(6.5), shot(17.5)
    assert light_distance(shot(7.5), morning) < light_distance(shot(7.5), evening)
    views = [GoodView("home", "evening", frozenset()), GoodView("home", "morning", frozenset())]
    store = {"evening": evening, "morning": morning}
    [view] = judge_in_like_light([judged(baseline, shot(7.5))], {"home": shot(7.5)},
                                 {"home": views}, store.get)
    assert view.light_reference == "morning"


def test_something_in_front_today_stays_an_obstruction(baseline: bytes) -> None:
    earlier = shot(6.5)
    good = judged(baseline, earlier)
    panel = fx.obstruction((0.0, 0.5, 0.5, 1.0), "billboard", seed=SEED)
    now = shot(7.5, panel)
    [view] = judge_in_like_light([judged(baseline, now)], {"home": now},
                                 good_views([audited(good)]), {good.current_image: earlier}.get)
    assert "obstructed" in view.verdicts
    assert set(view.obstructed_tiles) >= {(0, 4), (1, 4), (0, 5), (1, 5)}


def test_a_bush_creeping_in_below_the_threshold_is_not_excused_by_its_own_past(
        baseline: bytes) -> None:
    # An earlier audit saw a small bush in the lower left corner (two tiles against the
    # baseline: no finding); it has grown since, and most of it was there then too.
    small = fx.obstruction((0.0, 0.84, 0.25, 1.0), "billboard", seed=SEED)
    grown = fx.obstruction((0.0, 0.5, 0.375, 1.0), "billboard", seed=SEED)
    earlier = shot(6.5, small)
    own = {(0, 5), (1, 5)}  # the tiles the small panel covers, which that audit saw lost
    assert own <= set(judged(baseline, earlier).obstructed_tiles)
    now = shot(7.5, grown)
    views = {"home": [GoodView("home", "earlier", frozenset(own))]}
    [view] = judge_in_like_light([judged(baseline, now)], {"home": now}, views,
                                 {"earlier": earlier}.get)
    assert "obstructed" in view.verdicts
    assert own <= set(view.obstructed_tiles)


def test_only_healthy_views_with_a_snapshot_of_a_healthy_audit_are_good_views() -> None:
    ok = ViewEvidence(name="home", verdicts=("ok",), current_image="a",
                      obstructed_tiles=((1, 1),))
    bad = ViewEvidence(name="home", verdicts=("obstructed",), current_image="b")
    blank = ViewEvidence(name="preset:1", verdicts=("ok",))
    assert good_views([audited(ok, bad, blank)]) == {
        "home": [GoodView("home", "a", frozenset({(1, 1)}))]}
    # An audit that found the view obstructed elsewhere (a preset) lends none: the foliage
    # in front of the lens is in every view, and this one may have missed it.
    other = ViewEvidence(name="preset:1", verdicts=("obstructed",), current_image="c")
    finding = Finding(camera="cam", rule="view-obstructed", article="Art. 12",
                      severity=Severity.MAJOR, message="obstructed at preset:1")
    assert good_views([audited(ok, other, findings=(finding,))]) == {}
    # Findings of other kinds (a clock, a password), or a view not judgeable now, do not.
    clock = finding.model_copy(update={"rule": "clock-offset", "article": "Art. 14"})
    foggy = finding.model_copy(update={"rule": "view-not-judged", "severity": Severity.INFO})
    assert good_views([audited(ok, findings=(clock, foggy))]) == {
        "home": [GoodView("home", "a", frozenset({(1, 1)}))]}


def test_without_a_good_view_or_a_readable_one_the_baseline_verdict_stands(
        baseline: bytes) -> None:
    today = judged(baseline, shot(7.5))
    assert judge_in_like_light([today], {"home": shot(7.5)}, {}, {}.get) == [today]
    views = {"home": [GoodView("home", "gone", frozenset())]}
    assert judge_in_like_light([today], {"home": shot(7.5)}, views, {}.get) == [today]
    garbage = {"gone": b"not a jpeg"}
    assert judge_in_like_light([today], {"home": shot(7.5)}, views, garbage.get) == [today]


def street(elapsed_s: float, traffic: float) -> bytes:
    """The corner at 11:00 with ``traffic``, ``elapsed_s`` seconds into a real-speed clock."""
    world = LivingWorld.model_validate({**STILL, "start_hour": 11.0, "traffic": traffic,
                                        "speed": 1.0})
    effects = living_effects(conditions_at(world, elapsed_s, SEED), POSE)
    frame = render(Scene.for_seed(SEED), *POSE, 1280, 720, effects=effects)
    return bytes(cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 85])[1].tobytes())


def test_traffic_in_the_commissioning_frame_is_cleared_by_its_second_frame() -> None:
    """Cars passed through the view as it was commissioned; on an empty street, where they
    stood reads as "obstructed" against that frame. Commissioning's second frame, 5 s later,
    is a good view from the first audit on, and clears it; it is never a reason to excuse
    an obstruction it does not show."""
    first, second, empty = street(20.0, 1.0), street(25.0, 1.0), street(0.0, 0.0)
    today = judged(first, empty)
    assert "obstructed" in today.verdicts  # what commissioning's second frame is for
    unsteady = unsteady_tiles(first, second)
    assert set(today.obstructed_tiles) <= set(unsteady)  # where the cars were, then
    ref = ReferenceView(name="home", snapshot="first", second_snapshot="second",
                        unsteady_tiles=unsteady, taken_at=datetime.now(UTC))
    good = good_views([], [ref])
    assert good == {"home": [GoodView("home", "second", ALL_TILES - set(unsteady),
                                      commissioned=True)]}
    store = {"second": second}
    [view] = judge_in_like_light([today], {"home": empty}, good, store.get)
    assert view.verdicts == ("ok",)
    assert view.light_reference == "second"
    assert "passed in front of the lens as it was taken" in view.reason
    # A panel in front today is in front against the second frame too.
    covered = shot(11.0, fx.obstruction((0.0, 0.5, 0.5, 1.0), "billboard", seed=SEED))
    [view] = judge_in_like_light([judged(first, covered)], {"home": covered}, good, store.get)
    assert view.verdicts == ("obstructed",)


def test_the_second_commissioning_frame_counts_even_when_another_view_is_in_liker_light(
        ) -> None:
    """A good view of an earlier audit in liker light that had cars where the baseline had
    them excuses nothing there; commissioning's second frame, judged against too, does."""
    first, second, empty = street(20.0, 1.0), street(25.0, 1.0), street(0.0, 0.0)
    busy = street(20.0, 1.0)  # an earlier audit's frame with the same traffic
    assert light_distance(empty, busy) < light_distance(empty, second)
    today = judged(first, empty)
    assert today.obstructed_share >= 0.08
    good = {"home": [GoodView("home", "busy", frozenset()),
                     GoodView("home", "second", ALL_TILES - set(unsteady_tiles(first, second)),
                              commissioned=True)]}
    store = {"busy": busy, "second": second}
    [view] = judge_in_like_light([today], {"home": empty}, good, store.get)
    assert view.light_reference == "busy"
    assert view.verdicts == ("ok",), view.obstructed_tiles


def test_an_obstruction_one_audit_caught_in_one_frame_only_is_not_excused_by_its_picture(
        baseline: bytes) -> None:
    """An audit saw a panel in its first frame, not in its second (a flicker of the
    detector), and passed the view as healthy. Its picture shows the panel; used as a good
    view, it must not excuse the panel at the next audit: those tiles are its own."""
    panel = fx.obstruction((0.0, 0.5, 0.5, 1.0), "billboard", seed=SEED)
    covered = shot(11.0, panel)
    today = judged(baseline, covered)
    assert "obstructed" in today.verdicts
    missed = ViewEvidence(name="home", verdicts=("ok",), current_image="missed",
                          obstructed_tiles=(), passed_tiles=today.obstructed_tiles)
    good = good_views([audited(missed)])
    assert good["home"][0].own_tiles == frozenset(today.obstructed_tiles)
    [view] = judge_in_like_light([today], {"home": covered}, good, {"missed": covered}.get)
    assert view.verdicts == ("obstructed",)
    assert view.obstructed_tiles == today.obstructed_tiles


def test_where_the_commissioning_frames_agree_the_second_one_excuses_nothing(
        baseline: bytes) -> None:
    """Two looks at one still picture differ only by the detector's noise at the edge of an
    obstruction: the second frame has no say there, and a panel today keeps every tile it
    was found in against the baseline."""
    assert unsteady_tiles(baseline, baseline) == ()
    covered = shot(11.0, fx.obstruction((0.0, 0.5, 0.5, 1.0), "foliage", seed=SEED))
    today = judged(baseline, covered)
    assert "obstructed" in today.verdicts
    ref = ReferenceView(name="home", snapshot="first", second_snapshot="second",
                        taken_at=datetime.now(UTC))
    [view] = judge_in_like_light([today], {"home": covered}, good_views([], [ref]),
                                 {"second": shot(11.0)}.get)
    assert view.verdicts == ("obstructed",)
    assert view.obstructed_tiles == today.obstructed_tiles


def test_a_year_of_audits_every_two_weeks_raises_nothing_as_the_seasons_turn() -> None:
    """Commissioned at midsummer, audited at 11:00 every two weeks for a year: the trees turn
    and go bare, the sun's path drops. Against the summer baseline alone some of those views
    read as obstructed; judged in like light against the good views of the audits before,
    none does."""
    pose = (14.3, -17.0, 0.0, 60.0)  # a corner with a tree in front of a facade

    def audit_on(day: int) -> bytes:
        world = LivingWorld.model_validate({**STILL, "start_hour": 11.0, "day_of_year": day})
        effects = living_effects(conditions_at(world, 0.0, SEED), pose)
        frame = render(Scene.for_seed(SEED), *pose, 960, 540, effects=effects)
        return bytes(cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 85])[1].tobytes())

    baseline, good, store = audit_on(172), [], {}
    flagged, false = [], []
    for day in range(186, 172 + 365, 14):
        now = audit_on((day - 1) % 365 + 1)
        seen = judged(baseline, now).model_copy(update={"current_image": f"day-{day}"})
        if "obstructed" in seen.verdicts:
            flagged.append(day)
            [seen] = judge_in_like_light([seen], {"home": now}, {"home": good}, store.get)
        if "obstructed" in seen.verdicts:
            false.append(day)
        else:
            store[seen.current_image] = now
            good.append(GoodView("home", seen.current_image, frozenset(seen.obstructed_tiles)))
    assert flagged, "the seasons changed nothing the baseline alone would call obstructed"
    assert false == []
