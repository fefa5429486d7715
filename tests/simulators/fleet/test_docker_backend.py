"""The docker fleet backend. End to end only where a local Docker daemon answers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from simulators.fleet.docker_backend import (
    DOCKERFILE,
    DockerBackendError,
    DockerCameraRunner,
    docker_unavailable_reason,
)
from simulators.spec import SpecError

REPO = Path(__file__).resolve().parents[3]
DOME = REPO / "simulators" / "specs" / "dome.yaml"


def test_import_has_no_heavy_side_effects() -> None:
    # docker_backend is imported by the fleet supervisor for every backend.
    code = ("import sys, simulators.fleet.docker_backend; "
            "sys.exit(int('testcontainers' in sys.modules or 'docker' in sys.modules))")
    assert subprocess.run([sys.executable, "-c", code], cwd=REPO, check=False).returncode == 0


def test_reason_says_how_to_proceed() -> None:
    reason = docker_unavailable_reason()
    if reason is None:
        pytest.skip("a Docker daemon answers here; nothing to explain")
    assert "docker" in reason.lower()
    assert "--backend loopback or netns" in reason


def test_remote_daemons_are_refused_without_contact(monkeypatch: pytest.MonkeyPatch) -> None:
    # 192.0.2.1 is TEST-NET-1; the check refuses it before any connection is attempted.
    monkeypatch.setenv("DOCKER_HOST", "tcp://192.0.2.1:2375")
    monkeypatch.delenv("TC_HOST", raising=False)
    monkeypatch.delenv("TESTCONTAINERS_HOST_OVERRIDE", raising=False)
    import testcontainers.core.config as tc_config  # noqa: PLC0415

    monkeypatch.setattr(tc_config.testcontainers_config, "tc_properties", {})
    reason = docker_unavailable_reason()
    assert reason is not None
    assert "not on this machine" in reason


def test_dockerfile_installs_the_project_and_runs_a_camera() -> None:
    text = DOCKERFILE.read_text()
    assert "FROM python:3.11-slim" in text
    assert "pip install ." in text
    assert '"--spec", "/etc/camfleet/camera.yaml"' in text


def test_bad_spec_is_refused_before_docker_is_asked() -> None:
    runner = DockerCameraRunner()
    try:
        with pytest.raises(SpecError, match="camera spec: not valid YAML"):
            runner.start("id: [not, a, camera")
    finally:
        runner.stop()


@pytest.mark.skipif((reason := docker_unavailable_reason()) is not None,
                    reason=f"docker backend: {reason}")
def test_one_camera_container() -> None:
    runner = DockerCameraRunner()
    try:
        try:
            camera = runner.start(DOME.read_text())
        except DockerBackendError as exc:
            if "not available locally" in str(exc):
                pytest.skip(str(exc))
            raise
        assert camera.camera_id == "dome-1"
        assert camera.address.startswith(str(runner.subnet).rsplit(".", 1)[0])
        assert camera.device_service.startswith(f"http://{camera.address}:")
    finally:
        runner.stop()
    assert runner.cameras == []
