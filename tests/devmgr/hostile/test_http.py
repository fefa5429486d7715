"""HTTP-level hostility through ``devmgr inventory`` and ``devmgr commission``: redirects,
Basic-only challenges, trickled and oversized replies, DTDs, image bombs. Each is that
camera's classified error, and the healthy cameras keep their results."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from devmgr.cli import app
from simulators.fleet.fleet import Fleet
from simulators.fleet.generate import FleetMember, generate_fleet
from tests.conftest import free_udp_port

runner = CliRunner()


@pytest.fixture(scope="module")
def fleet() -> Iterator[Fleet]:
    with Fleet([FleetMember(s) for s in generate_fleet(3, seed=41)],
               discovery_port=free_udp_port()) as running:
        yield running


@pytest.fixture(scope="module")
def victim(fleet: Fleet) -> str:
    return fleet.camera_ids[0]


@pytest.fixture(scope="module")
def foreign() -> Iterator[socket.socket]:
    """A host a hostile camera redirects to: nothing may ever connect to it."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.setblocking(False)
        yield listener
        with pytest.raises(BlockingIOError):
            listener.accept()


def run(fleet: Fleet, victim: str, faults: list[dict[str, Any]], where: Path,
        *args: str, targets: Path | None = None) -> Any:
    if targets is None:
        targets = where / "fleet.json"
        fleet.manifest().save(targets)
    fleet.set_faults(victim, faults)
    try:
        return runner.invoke(app, [*args, "--targets", str(targets), "--registry",
                                   str(where / "r.sqlite")])
    finally:
        fleet.clear_faults(victim)


def inventory_errors(fleet: Fleet, victim: str, faults: list[dict[str, Any]], where: Path,
                     *options: str) -> list[dict[str, Any]]:
    result = run(fleet, victim, faults, where, "inventory", "--json", *options)
    assert result.exit_code == 0, result.output
    found = {inv["target_id"]: inv for inv in json.loads(result.stdout)}
    assert len(found) == 3
    for target_id, inv in found.items():
        if target_id != victim:
            assert inv.get("errors", []) == [], target_id
            assert inv["device"]["serial"]
    errors: list[dict[str, Any]] = found[victim]["errors"]
    return errors


def test_a_soap_redirect_is_a_protocol_error_and_never_followed(
        fleet: Fleet, victim: str, foreign: socket.socket, tmp_path: Path) -> None:
    where = f"http://127.0.0.1:{foreign.getsockname()[1]}/onvif/media_service"
    errors = inventory_errors(fleet, victim, [{"kind": "redirect", "ops": ["GetProfiles"],
                                               "location": where}], tmp_path)
    assert [(e["kind"], e["operation"]) for e in errors] == [("protocol", "GetProfiles")]
    assert f"HTTP 302 redirect to '{where}'" in errors[0]["message"]


@pytest.mark.parametrize("form", ["long_prefix", "utf16"])
def test_a_dtd_is_refused_however_it_is_hidden(fleet: Fleet, victim: str, tmp_path: Path,
                                                form: str) -> None:
    errors = inventory_errors(fleet, victim, [{"kind": "dtd", "form": form,
                                               "ops": ["GetDeviceInformation"]}], tmp_path)
    assert errors == [{"kind": "protocol", "operation": "GetDeviceInformation",
                       "message": "reply carries a DTD (refused)"}]


def test_too_many_profiles_are_capped(fleet: Fleet, victim: str, tmp_path: Path) -> None:
    errors = inventory_errors(fleet, victim, [{"kind": "oversized", "ops": ["GetProfiles"],
                                               "element": "Profiles", "count": 100}], tmp_path)
    assert [e["message"] for e in errors if e["operation"] == "GetProfiles"] == [
        "100 profiles, more than the 64 accepted (the first 64 kept)"]


def test_a_megabyte_fault_reason_is_stored_bounded(fleet: Fleet, victim: str,
                                                   tmp_path: Path) -> None:
    errors = inventory_errors(fleet, victim, [{"kind": "oversized", "ops": ["GetScopes"],
                                               "count": 3_900_000}], tmp_path)
    message = next(e["message"] for e in errors if e["operation"] == "GetScopes")
    assert len(message) < 1200
    assert "(3900000 characters in all)" in message


def test_a_trickled_reply_meets_the_camera_deadline(fleet: Fleet, victim: str,
                                                    tmp_path: Path) -> None:
    """A byte every 50 ms, each well within the read limit, the whole reply a minute away:
    the camera's deadline ends it, and the other cameras are done."""
    errors = inventory_errors(fleet, victim, [{"kind": "trickle", "bytes_per_s": 20,
                                               "interval_s": 0.05,
                                               "ops": ["GetDeviceInformation"]}], tmp_path,
                              "--camera-timeout", "4")
    assert errors == [{"kind": "timeout", "operation": "inventory",
                       "message": "collection exceeded 4 s"}]


def test_a_trickled_snapshot_meets_its_total_deadline(
        fleet: Fleet, victim: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Short enough for a test, long enough for the healthy cameras' snapshots on a loaded box.
    monkeypatch.setattr("devmgr.onvif.snapshot.SNAPSHOT_DEADLINE_S", 8.0)
    row = commission_problems(fleet, victim, [{"kind": "trickle", "ops": ["Snapshot"],
                                               "bytes_per_s": 200, "interval_s": 0.05}],
                              tmp_path)
    assert "Snapshot: current view: no complete answer" in row
    assert "8 s in all" in row


def commission_problems(fleet: Fleet, victim: str, faults: list[dict[str, Any]], where: Path,
                        targets: Path | None = None) -> str:
    result = run(fleet, victim, faults, where, "commission", "--no-move", targets=targets)
    assert result.exit_code == 0, result.output
    rows = [line for line in result.stdout.splitlines() if "cam-" in line]
    assert len(rows) == 3
    assert all("views" not in r and "Snapshot" not in r for r in rows if victim not in r)
    return next(r for r in rows if victim in r)


def test_a_snapshot_redirect_is_not_followed(fleet: Fleet, victim: str,
                                             foreign: socket.socket, tmp_path: Path) -> None:
    where = f"http://127.0.0.1:{foreign.getsockname()[1]}/latest/meta-data/"
    row = commission_problems(fleet, victim, [{"kind": "redirect", "ops": ["Snapshot"],
                                               "location": where}], tmp_path)
    assert "HTTP 302 redirect from the snapshot URI (not followed)" in row


def test_an_image_bomb_is_refused_before_decoding(fleet: Fleet, victim: str,
                                                  tmp_path: Path) -> None:
    row = commission_problems(fleet, victim, [{"kind": "image_bomb", "ops": ["Snapshot"]}],
                              tmp_path)
    assert "claims 20000 x 20000 pixels" in row


def test_basic_only_snapshots_get_no_password_unless_the_target_allows_it(
        fleet: Fleet, victim: str, tmp_path: Path) -> None:
    basic = [{"kind": "basic_only", "ops": ["Snapshot"]}]
    row = commission_problems(fleet, victim, basic, tmp_path)
    assert "offers no HTTP Digest, only Basic" in row
    targets = tmp_path / "allowing.json"
    data = json.loads(fleet.manifest().model_dump_json())
    for target in data["targets"]:
        target["onvif"]["allow_basic"] = target["id"] == victim
    targets.write_text(json.dumps(data))
    (tmp_path / "opted-in").mkdir()
    row = commission_problems(fleet, victim, basic, tmp_path / "opted-in", targets=targets)
    assert "Snapshot" not in row
