"""Districts without the city's services: isolation, the relayed service, and a teardown that
leaves nothing behind (``simulators.fleet.districts``). Needs root; skips elsewhere."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import threading
from collections.abc import Iterator

import pytest

from simulators.fleet.districts import CollectorNamespace, District
from simulators.fleet.generate import FleetMember, generate_fleet
from simulators.fleet.netns import NetnsError, socket_in
from simulators.fleet.netns._iproute import links, netns_names
from simulators.fleet.netns._ownership import default_prefix
from tests.conftest import free_udp_port
from tests.simulators.fleet.backends import require


@pytest.fixture
def echo() -> Iterator[int]:
    """A TCP service on 127.0.0.1 only, as PostgreSQL and RabbitMQ are: answers b"hello"."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    done = threading.Event()

    def serve() -> None:
        while not done.is_set():
            with contextlib.suppress(TimeoutError):
                conn, _ = server.accept()
                with conn:
                    conn.sendall(b"hello")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield int(server.getsockname()[1])
    done.set()
    thread.join()
    server.close()


def test_each_collector_reaches_its_cameras_and_the_service_only(echo: int) -> None:
    require("netns")
    members = [FleetMember(s) for s in generate_fleet(2, seed=5)]
    services = {"echo": ("127.0.0.1", echo)}
    with District("east", members[:1], services=services,
                  discovery_port=free_udp_port()) as east, \
            District("west", members[1:], services=services,
                     discovery_port=free_udp_port()) as west:
        names = {east.collector.namespace, west.collector.namespace}
        sleeper = east.collector.popen(["sleep", "60"])
        for source, other in ((east, west), (west, east)):
            mine, theirs = source.targets().targets[0], other.targets().targets[0]
            assert mine.district == source.name
            assert source.collector.reaches(mine.address, mine.http_port)
            assert not source.collector.reaches(theirs.address, theirs.http_port)
            assert not source.collector.reaches("127.0.0.1", echo)  # its own lo
            with socket_in(source.collector.namespace, socket.AF_INET,
                           socket.SOCK_STREAM) as sock:
                sock.settimeout(3)
                sock.connect(source.collector.service("echo"))
                assert sock.recv(5) == b"hello"
            routes = subprocess.run(["ip", "-n", source.collector.namespace, "-4", "route"],
                                    capture_output=True, text=True, check=True).stdout
            assert "default" not in routes
    assert sleeper.returncode is not None  # killed with its namespace
    assert not names & set(netns_names())
    assert not [link for link in links() if str(link.get("ifname", "")).split("-")[0]
                in {n.split("-")[0] for n in names}]


def test_a_collector_namespace_that_cannot_be_built_leaves_nothing_behind() -> None:
    require("netns")
    with pytest.raises(NetnsError, match="no link of the root namespace holds"):
        CollectorNamespace("10.213.255.254", "10.213.255.7", {}).create()
    with pytest.raises(NetnsError, match="not a host address"):
        CollectorNamespace("127.0.0.1", "10.213.255.7", {}).create()
    # Halfway: uplink and namespace made, then the leg cannot join "lo" (not a bridge).
    with pytest.raises(NetnsError, match="cannot attach the collector to lo"):
        CollectorNamespace("127.0.0.1", "127.0.0.9", {}).create()
    ours = default_prefix()[:7]  # "cf" + this pid: every network this process made
    assert not [name for name in netns_names() if name.startswith(ours)]
    assert not [link for link in links() if str(link.get("ifname", "")).startswith(ours)]
