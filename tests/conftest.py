"""Fixtures shared by the project's tests: free ports and running simulated cameras."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from simulators.fleet.fleet import Fleet
from simulators.host import CameraHandle, CameraHost
from simulators.spec import CameraSpec


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def loopback_spec(spec: CameraSpec | None = None, address: str = "127.0.0.1") -> CameraSpec:
    """A spec bound to the loopback with free ports, so tests run side by side under xdist."""
    spec = spec or CameraSpec.example()
    spec = spec.with_network(address=address, http_port=0, discovery_port=free_udp_port(),
                             discovery_max_delay_ms=20)
    return spec.model_copy(update={"snmp": spec.snmp.model_copy(update={"port": 0})})


@pytest.fixture(scope="module")
def host() -> Iterator[CameraHost]:
    with CameraHost() as camera_host:
        yield camera_host


@pytest.fixture
def camera(host: CameraHost) -> Iterator[CameraHandle]:
    """The example PTZ dome, freshly started for each test."""
    handle = host.start(loopback_spec(), reboot_seconds=0.3)
    yield handle
    handle.stop()


@pytest.fixture
def clean(fleet: Fleet) -> Iterator[None]:
    """Whatever a test injects into its module's ``fleet`` is cleared afterwards."""
    yield
    for camera_id in fleet.camera_ids:
        if fleet.faults(camera_id):
            fleet.clear_faults(camera_id)
