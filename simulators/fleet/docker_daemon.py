"""Which Docker daemon the docker backend and its image builder talk to: a local one only.

    client = local_client()     # docker-py client, or DockerBackendError saying what to do

The daemon is the one testcontainers would use (its ``tc.host``, ``DOCKER_HOST``, the docker
context), but only if it is on this machine: a Unix socket, or TCP on 127.0.0.0/8 or
localhost. Any other is refused before it is contacted. docker-py is imported when first
needed, never on import.
"""

from __future__ import annotations

import contextlib
import importlib
import ipaddress
import os
import urllib.parse
from typing import Any

__all__ = ["DockerBackendError", "connect", "local_client"]

_DEFAULT_HOST = "unix:///var/run/docker.sock"
_HOW_TO_PROCEED = ("the docker backend needs one (start it: dockerd &); use --backend loopback "
                   "or netns")


class DockerBackendError(RuntimeError):
    """The docker backend cannot do what was asked; the message says why."""


# -- is there a (local) daemon? --------------------------------------------------------------

def _docker_host() -> str:
    """The daemon testcontainers would use (tc.host, DOCKER_HOST, docker context) or the default."""
    from testcontainers.core.docker_client import get_docker_host  # noqa: PLC0415 (heavy)

    return get_docker_host() or _DEFAULT_HOST


def _remote_host_problem(host: str) -> str | None:
    """Why ``host`` is not a daemon on this machine, or None if it is."""
    url = urllib.parse.urlparse(host)
    if url.scheme in ("unix", "npipe"):
        return None
    if url.scheme in ("tcp", "http", "https"):
        name = url.hostname or ""
        if name == "localhost":
            return None
        with contextlib.suppress(ValueError):
            if ipaddress.ip_address(name).is_loopback:
                return None
    return (f"the Docker daemon {host} is not on this machine, and this backend only talks to a "
            "local one (a Unix socket or TCP on 127.0.0.0/8)")


def connect(timeout: float) -> tuple[Any, str | None]:
    """A client of the local daemon that answered a ping, or (None, why not)."""
    try:
        host = _docker_host()
        docker = importlib.import_module("docker")
    except ImportError as exc:
        return None, (f"the docker backend needs testcontainers ({exc}): pip install "
                      "'camfleet[docker]', or use --backend loopback or netns")
    if (problem := _remote_host_problem(host)) is not None:
        return None, f"{problem}; start a local daemon, or use --backend loopback or netns"
    if host.startswith("unix://") and not os.path.exists(host.removeprefix("unix://")):
        return None, f"no Docker daemon answers at {host} (no such socket): {_HOW_TO_PROCEED}"
    client = None
    try:
        client = docker.DockerClient(base_url=host, timeout=timeout)
        client.ping()
    except Exception as exc:  # docker raises DockerException, requests and OS errors alike
        if client is not None:
            client.close()
        detail = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        return None, f"no Docker daemon answers at {host} ({detail}): {_HOW_TO_PROCEED}"
    return client, None


def local_client(timeout: float = 60.0) -> Any:
    """A docker-py client of the local daemon; :class:`DockerBackendError` if there is none."""
    client, reason = connect(timeout)
    if reason is not None:
        raise DockerBackendError(reason)
    return client
