"""Which fleet backends can run here; fleet checks take a backend and call :func:`require`.

netns needs root and iproute2; docker needs a local daemon and a fresh image
(``python -m simulators.fleet.docker_image``). Without them a check skips with the reason,
except that ``CAMFLEET_REQUIRE_DOCKER=1`` (``.ci/run`` sets it) turns a docker skip into a
failure: CI must not pass with the docker backend untested.
"""

from __future__ import annotations

import functools
import os
import subprocess

import pytest

from simulators.fleet.docker_backend import docker_unavailable_reason
from simulators.fleet.docker_image import image_name
from simulators.fleet.netns import netns_unavailable_reason

REQUIRE_DOCKER_ENV = "CAMFLEET_REQUIRE_DOCKER"


@functools.cache
def unavailable_reason(backend: str) -> str | None:
    """Why ``backend`` cannot run fleets here, or None."""
    if backend == "netns":
        return netns_unavailable_reason()
    if backend == "docker":
        return docker_unavailable_reason(image=image_name())
    return None


def require(backend: str) -> None:
    """Skip (or, for docker under ``CAMFLEET_REQUIRE_DOCKER=1``, fail) if it cannot run."""
    reason = unavailable_reason(backend)
    if reason is None:
        return
    if backend == "docker" and os.environ.get(REQUIRE_DOCKER_ENV) == "1":
        pytest.fail(f"{REQUIRE_DOCKER_ENV}=1, but the docker backend cannot run: {reason}")
    pytest.skip(f"{backend} backend: {reason}")


def ip_inside(namespace: str | None, container_pid: int | None) -> list[str]:
    """``ip`` run inside a camera's network namespace: a named one, or a container's."""
    if namespace is not None:
        return ["ip", "-n", namespace]
    assert container_pid is not None
    return ["nsenter", "--target", str(container_pid), "--net", "ip"]


def container_pid(container_id: str) -> int:
    """The host pid of a container's first process (its network namespace's holder)."""
    out = subprocess.run(["docker", "inspect", "--format", "{{.State.Pid}}", container_id],
                         capture_output=True, text=True, check=True).stdout
    return int(out)
