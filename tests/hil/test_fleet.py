"""--hil-fleet specs, camera ids known before the fleet starts, and xdist grouping by camera."""

from __future__ import annotations

from pathlib import Path

import pytest

from hil.fleet import FleetRun, parse_fleet_spec
from hil.xdist import camera_of_nodeid
from simulators.fleet.docker_image import IMAGE_ENV


def test_sim_specs_with_and_without_a_backend() -> None:
    assert parse_fleet_spec("sim:3").backend == "loopback"
    spec = parse_fleet_spec("sim:20@netns", seed=4)
    assert (spec.count, spec.backend, spec.seed) == (20, "netns", 4)
    assert parse_fleet_spec("sim:2", backend="netns").backend == "netns"
    assert parse_fleet_spec("sim:3").camera_ids() == ["cam-0000", "cam-0001", "cam-0002"]


@pytest.mark.parametrize(("text", "backend", "complaint"), [
    ("sim:0", None, "N >= 1"),
    ("sim:x", None, "N >= 1"),
    ("sim:2@netns", "loopback", "give one"),
    ("sim:2@docker", "lxc", "asks for the docker backend"),
    ("no-such-fleet.yaml", None, "no fleet file"),
])
def test_bad_specs_say_what_is_wrong(text: str, backend: str | None, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        parse_fleet_spec(text, backend)


def test_a_fleet_file_names_its_cameras(tmp_path: Path) -> None:
    path = tmp_path / "fleet.yaml"
    path.write_text("cameras:\n  - id: gate-north\n  - count: 2\n    id: dome\n",
                    encoding="utf-8")
    assert parse_fleet_spec(str(path)).camera_ids() == ["gate-north", "dome-0001", "dome-0002"]


def test_a_fleet_that_cannot_start_is_an_error_not_an_exception(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # No daemon, or a daemon without this image: either way the docker fleet cannot start.
    monkeypatch.setenv(IMAGE_ENV, "camfleet-sim:never-built")
    run = FleetRun(parse_fleet_spec("sim:1@docker"))
    run.start(tmp_path)
    failure = run.failure()
    assert failure is not None
    assert "not started" in str(failure)
    assert run.manifest_path is None


def test_nodeids_group_by_the_camera_in_their_parameters() -> None:
    ids = ["cam-0001", "cam-00011", "gate-north"]
    assert camera_of_nodeid("test_ptz.py::test_PTZ_1_1_1_nodes[cam-0001]", ids) == "cam-0001"
    assert camera_of_nodeid("t.py::test_x[cam-00011]", ids) == "cam-00011"
    assert camera_of_nodeid("t.py::test_x[gate-north-3]", ids) == "gate-north"
    assert camera_of_nodeid("t.py::test_x[north]", ids) is None
    assert camera_of_nodeid("t.py::test_x", ids) is None
