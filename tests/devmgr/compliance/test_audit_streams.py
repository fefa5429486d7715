"""The audit plays each camera's main stream (Art. 7: a live picture): a camera that answers
ONVIF but streams nothing, black or a frozen picture is a finding naming the camera and what
was seen; a healthy one raises none. Through the CLI, on a small fleet."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from devmgr.cli import app
from devmgr.registry import Registry
from simulators.fleet.fleet import Fleet
from simulators.fleet.generate import FleetMember, generate_fleet
from tests.conftest import free_udp_port

runner = CliRunner()
#: Camera index -> the stream fault it has, and the rule that must find it.
FAULTS = {1: ("stream_down", "stream-down"), 2: ("frozen", "stream-frozen"),
          3: ("black", "stream-black")}
#: A camera whose view is obstructed: it says so itself (GlobalSceneChange).
TAMPERED = 1
SCENE = "tns1:VideoSource/GlobalSceneChange/ImagingService"


@pytest.fixture(scope="module")
def fleet() -> Iterator[Fleet]:
    with Fleet([FleetMember(s) for s in generate_fleet(4, seed=21)],
               discovery_port=free_udp_port()) as running:
        for index, (fault, _rule) in FAULTS.items():
            running.add_fault(running.camera_ids[index], fault)
        running.add_fault(running.camera_ids[TAMPERED], "obstructed")
        yield running


@pytest.fixture(scope="module")
def audited(fleet: Fleet, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any],
                                                                             Path]:
    where = tmp_path_factory.mktemp("streams")
    targets, registry = where / "fleet.json", where / "registry.sqlite"
    fleet.manifest().save(targets)
    result = runner.invoke(app, ["audit", "--targets", str(targets), "--json", "--no-discover",
                                 "--no-credential-check", "--report", str(where / "report"),
                                 "--registry", str(registry)])
    assert result.exit_code == 3, result.output  # findings
    report = json.loads(result.stdout)
    return {c["camera"]: c for c in report["cameras"]}, where


def test_each_dead_stream_is_its_finding_under_art_7(
        fleet: Fleet, audited: tuple[dict[str, Any], Path]) -> None:
    cameras, _ = audited
    for index, camera_id in enumerate(fleet.camera_ids):
        found = [f for f in cameras[camera_id]["findings"] if f["rule"].startswith("stream-")]
        if index not in FAULTS:
            assert found == [], camera_id
            stream = cameras[camera_id]["stream"]
            assert stream["changed"] is True
            assert stream["mean_luma"] > 20
            assert stream["error_kind"] == ""
            continue
        fault, rule = FAULTS[index]
        assert [f["rule"] for f in found] == [rule], (camera_id, fault,
                                                      cameras[camera_id]["stream"])
        assert found[0]["article"] == "Art. 7"
        assert camera_id in found[0]["message"]
        assert "/Streaming/Channels/101" in found[0]["message"]  # which stream
        assert "run effectively" in found[0]["message"]  # why this article


def test_what_was_seen_is_named(fleet: Fleet, audited: tuple[dict[str, Any], Path]) -> None:
    cameras, _ = audited
    down = cameras[fleet.camera_ids[1]]["findings"]
    assert any("unreachable" in f["message"] for f in down)  # RTSP refused
    frozen = next(f for f in cameras[fleet.camera_ids[2]]["findings"]
                  if f["rule"] == "stream-frozen")
    assert frozen["evidence"]["frames"] >= 2  # pictures came, all the same
    black = next(f for f in cameras[fleet.camera_ids[3]]["findings"]
                 if f["rule"] == "stream-black")
    assert black["evidence"]["mean_luma"] <= 20


def test_the_play_is_registered_and_reported(
        fleet: Fleet, audited: tuple[dict[str, Any], Path]) -> None:
    """Playing a stream is a retrieval of video (Art. 16(3)): logged, and in the reports."""
    _, where = audited
    with Registry.open(where / "registry.sqlite") as registry:
        plays = [e for e in registry.audit_entries() if e.how == "RTSP (FFmpeg)"]
    assert sorted(e.target_id or "" for e in plays) == sorted(fleet.camera_ids)
    html = (where / "report" / "audit.html").read_text(encoding="utf-8")
    assert "stream-frozen" in html
    assert "Main stream (played by the audit)" in html
    csv = (where / "report" / "audit.csv").read_text(encoding="utf-8")
    assert csv.count("stream-") == len(FAULTS)


def test_the_cameras_own_tamper_verdict_is_evidence(
        fleet: Fleet, audited: tuple[dict[str, Any], Path]) -> None:
    """Beside the audit's own look at the view: what the camera says about it."""
    cameras, where = audited
    for index, camera_id in enumerate(fleet.camera_ids):
        events = {(e["topic"], e["state"], e["via"]) for e in cameras[camera_id]["camera_events"]}
        state = "true" if index == TAMPERED else "false"
        assert (SCENE, state, "audit") in events, camera_id
    html = (where / "report" / "audit.html").read_text(encoding="utf-8")
    assert "own tamper events since the last audit" in html
    with Registry.open(where / "registry.sqlite") as registry:
        reads = [e for e in registry.audit_entries() if e.how == "ONVIF events (pull point)"]
    assert sorted(e.target_id or "" for e in reads) == sorted(fleet.camera_ids)


def test_a_view_finding_carries_what_the_camera_said(fleet: Fleet, tmp_path: Path) -> None:
    """The audit sees the view obstructed against commissioning; the camera's own
    GlobalSceneChange stands beside it in the finding's evidence."""
    healthy = fleet.camera_ids[0]
    manifest = fleet.manifest()
    one = manifest.model_copy(update={"targets": tuple(
        t for t in manifest.targets if t.id == healthy)})
    targets, registry = tmp_path / "one.json", tmp_path / "registry.sqlite"
    one.save(targets)
    done = runner.invoke(app, ["commission", "--targets", str(targets), "--no-move",
                               "--registry", str(registry)])
    assert done.exit_code == 0, done.output
    fleet.add_fault(healthy, "obstructed")
    try:
        result = runner.invoke(app, ["audit", "--targets", str(targets), "--json",
                                     "--no-move", "--no-discover", "--no-credential-check",
                                     "--stream-seconds", "0", "--registry", str(registry)])
    finally:
        fleet.clear_faults(healthy)
    camera = json.loads(result.stdout)["cameras"][0]
    view = next(f for f in camera["findings"] if f["rule"] == "view-obstructed")
    assert view["evidence"]["camera_says"].startswith("GlobalSceneChange: true (true at ")
    assert "ImageTooBlurry: false" in view["evidence"]["camera_says"]
