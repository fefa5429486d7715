"""The netns fleet backend: namespaces on a bridge, driven with raw sockets from both sides.

Traffic goes only to the networks these tests create (and to nothing else): every socket in
the root namespace binds to, sends from, or joins on the fleet's manager address.
"""

from __future__ import annotations

import ipaddress
import json
import os
import socket
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import pytest

from simulators.fleet.netns import (
    STATE_DIR,
    NamespaceHost,
    NetnsError,
    NetnsNetwork,
    _network,
    cleanup_stale,
    current_namespace_inode,
    entered,
    join_group,
    netns_unavailable_reason,
    set_multicast_interface,
    socket_in,
)

REASON = netns_unavailable_reason()
pytestmark = pytest.mark.skipif(REASON is not None, reason=f"netns backend: {REASON}")

GROUP = "239.255.255.250"
TIMEOUT_S = 2.0
T = TypeVar("T")


def in_worker_thread(fn: Callable[[], T]) -> T:
    """Run fn on a fresh thread (as a fleet worker would) and return its result."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(fn).result(timeout=10)


def ip_text(*args: str) -> str:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=True).stdout


def leftovers(prefix: str) -> list[str]:
    """Every namespace, link or bookkeeping file still named after ``prefix``."""
    names = [line.split()[0] for line in ip_text("netns", "list").splitlines() if line.strip()]
    links = [link["ifname"] for link in json.loads(ip_text("-j", "link", "show"))]
    found = [n for n in names + links if n.startswith(f"{prefix}-")]
    if (STATE_DIR / f"{prefix}.json").exists():
        found.append(f"{STATE_DIR}/{prefix}.json")
    return found


def unique_prefix(tag: str) -> str:
    # Our pid in base 36 keeps parallel xdist workers apart; tag keeps tests apart.
    digits, pid = "", os.getpid()
    while pid:
        pid, rem = divmod(pid, 36)
        digits = "0123456789abcdefghijklmnopqrstuvwxyz"[rem] + digits
    return f"t{tag}{digits}"


@pytest.fixture(scope="module")
def network() -> Iterator[NetnsNetwork]:
    net = NetnsNetwork(3)
    try:
        net.create()
        yield net
    finally:
        net.destroy()
    assert leftovers(net.prefix) == []


@pytest.fixture
def sockets() -> Iterator[list[socket.socket]]:
    """Collects sockets a test opens and closes them whatever happens."""
    opened: list[socket.socket] = []
    yield opened
    for sock in opened:
        sock.close()


def ns_socket(host: NamespaceHost, kind: int, opened: list[socket.socket]) -> socket.socket:
    sock = in_worker_thread(lambda: socket_in(host.name, socket.AF_INET, kind))
    opened.append(sock)
    sock.settimeout(TIMEOUT_S)
    return sock


def root_socket(kind: int, opened: list[socket.socket]) -> socket.socket:
    sock = socket.socket(socket.AF_INET, kind)
    opened.append(sock)
    sock.settimeout(TIMEOUT_S)
    return sock


# -- layout ------------------------------------------------------------------------------------

def test_layout(network: NetnsNetwork) -> None:
    subnet = network.subnet
    assert subnet.is_private
    assert network.manager_address == str(subnet.network_address + 1)
    for index, host in enumerate(network.hosts):
        assert host.name == f"{network.prefix}-{index}"
        assert host.address == str(subnet.network_address + 2 + index)
        assert host.interface == "eth0"
        link = json.loads(ip_text("-n", host.name, "-j", "link", "show", "eth0"))[0]
        assert link["address"] == host.mac
        assert "UP" in link["flags"]
        # No default route: a camera reaches its segment and nothing else.
        routes = ip_text("-n", host.name, "route", "show")
        assert "default" not in routes
        assert "224.0.0.0/4 dev eth0" in routes
    for name in (network.bridge, *(h.host_interface for h in network.hosts)):
        assert len(name) <= 15
    assert f"dev {network.bridge}" in ip_text("route", "get", network.hosts[-1].address)


def test_given_macs_are_used() -> None:
    macs = ["44:19:b6:12:34:56", None]
    net = NetnsNetwork(2, macs=macs)
    try:
        net.create()
        hosts = net.hosts
        assert hosts[0].mac == "44:19:b6:12:34:56"
        assert hosts[1].mac == "02:cf:" + ":".join(
            f"{b:02x}" for b in ipaddress.IPv4Address(hosts[1].address).packed)
        link = json.loads(ip_text("-n", hosts[0].name, "-j", "link", "show", "eth0"))[0]
        assert link["address"] == "44:19:b6:12:34:56"
    finally:
        net.destroy()
    assert leftovers(net.prefix) == []


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="IFNAMSIZ"):
        NetnsNetwork(3, prefix="muchtoolongprefix")
    with pytest.raises(ValueError, match="letters and digits"):
        NetnsNetwork(3, prefix="Bad_Prefix")
    with pytest.raises(ValueError, match="duplicate MACs"):
        NetnsNetwork(2, macs=["02:00:00:00:00:01", "02:00:00:00:00:01"])
    with pytest.raises(ValueError, match="multicast MAC"):
        NetnsNetwork(1, macs=["01:00:5e:00:00:01"])


def test_unsafe_subnets_are_refused(network: NetnsNetwork) -> None:
    # Not private: could shadow real hosts. Overlapping: already routed elsewhere.
    for subnet in ("198.51.100.0/24", str(network.subnet)):
        net = NetnsNetwork(2, prefix=unique_prefix("u"), subnet=subnet)
        with pytest.raises(NetnsError):
            net.create()
        net.destroy()
        assert leftovers(net.prefix) == []


def test_sockets_stay_in_their_namespace(network: NetnsNetwork,
                                         sockets: list[socket.socket]) -> None:
    host = network.hosts[0]
    inside = ns_socket(host, socket.SOCK_DGRAM, sockets)
    inside.bind((host.address, 0))  # bound after leaving: the namespace is the socket's
    outside = root_socket(socket.SOCK_DGRAM, sockets)
    with pytest.raises(OSError, match="assign requested address"):
        outside.bind((host.address, 0))


# -- traffic between the root namespace and the cameras -----------------------------------------

def test_tcp_connect_from_root(network: NetnsNetwork, sockets: list[socket.socket]) -> None:
    for host in network.hosts:
        def listen(host: NamespaceHost = host) -> socket.socket:
            with entered(host.name):
                return socket.create_server((host.address, 0))
        listener = in_worker_thread(listen)
        sockets.append(listener)
        listener.settimeout(TIMEOUT_S)
        port = listener.getsockname()[1]
        client = socket.create_connection((host.address, port), timeout=TIMEOUT_S)
        sockets.append(client)
        served, peer = listener.accept()
        sockets.append(served)
        assert peer[0] == network.manager_address
        client.sendall(b"ping")
        assert served.recv(4) == b"ping"


def test_udp_round_trip(network: NetnsNetwork, sockets: list[socket.socket]) -> None:
    client = root_socket(socket.SOCK_DGRAM, sockets)
    client.bind((network.manager_address, 0))
    for host in network.hosts:
        server = ns_socket(host, socket.SOCK_DGRAM, sockets)
        server.bind((host.address, 0))
        client.sendto(host.name.encode(), server.getsockname())
        data, peer = server.recvfrom(100)
        assert (data, peer) == (host.name.encode(), client.getsockname())
        server.sendto(b"pong " + data, peer)
        assert client.recvfrom(100) == (b"pong " + data, server.getsockname())


def group_receiver(sock: socket.socket, port: int, interface_address: str) -> None:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((GROUP, port))
    join_group(sock, GROUP, interface_address)


def test_multicast_root_to_cameras(network: NetnsNetwork, sockets: list[socket.socket]) -> None:
    sender = root_socket(socket.SOCK_DGRAM, sockets)
    set_multicast_interface(sender, network.manager_address)  # else: the default route's NIC
    sender.bind((network.manager_address, 0))
    port = sender.getsockname()[1]  # free in the root namespace; namespaces are empty anyway
    receivers = []
    for host in network.hosts:
        receiver = ns_socket(host, socket.SOCK_DGRAM, sockets)
        group_receiver(receiver, port, host.address)
        receivers.append(receiver)
    sender.sendto(b"probe", (GROUP, port))
    for receiver in receivers:
        assert receiver.recvfrom(100) == (b"probe", (network.manager_address, port))


def test_multicast_cameras_to_root_and_to_each_other(network: NetnsNetwork,
                                                     sockets: list[socket.socket]) -> None:
    probe = root_socket(socket.SOCK_DGRAM, sockets)
    probe.bind((network.manager_address, 0))
    port = probe.getsockname()[1]
    listener = root_socket(socket.SOCK_DGRAM, sockets)
    group_receiver(listener, port, network.manager_address)
    hosts = network.hosts
    others = []
    for host in hosts[1:]:
        receiver = ns_socket(host, socket.SOCK_DGRAM, sockets)
        group_receiver(receiver, port, host.address)
        others.append(receiver)
    # One camera with IP_MULTICAST_IF set (as the discovery responder does), one relying on
    # the namespace's 224.0.0.0/4 route.
    for host, set_interface in ((hosts[0], True), (hosts[1], False)):
        sender = ns_socket(host, socket.SOCK_DGRAM, sockets)
        if set_interface:
            set_multicast_interface(sender, host.address)
        sender.bind((host.address, 0))
        sender.sendto(b"hello " + host.name.encode(), (GROUP, port))
        expected = (b"hello " + host.name.encode(), sender.getsockname())
        assert listener.recvfrom(100) == expected
        if host is hosts[0]:
            for receiver in others:  # the other cameras hear a Hello too
                assert receiver.recvfrom(100) == expected


# -- entered() ---------------------------------------------------------------------------------

def test_entered_switches_and_restores(network: NetnsNetwork) -> None:
    def run() -> tuple[int, int, int, int, int]:
        before = current_namespace_inode()
        with entered(network.hosts[0].name):
            first = current_namespace_inode()
            with entered(network.hosts[1].name):
                second = current_namespace_inode()
            back_in_first = current_namespace_inode()
        return before, first, second, back_in_first, current_namespace_inode()

    before, first, second, back_in_first, after = in_worker_thread(run)
    assert len({before, first, second}) == 3
    assert back_in_first == first
    assert after == before
    # Only the calling thread moved: this one never left.
    assert current_namespace_inode() == before


def test_entered_restores_after_an_exception(network: NetnsNetwork) -> None:
    before = current_namespace_inode()
    seen = []

    def fail_inside() -> None:
        with entered(network.hosts[2].name):
            seen.append(current_namespace_inode())
            raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        fail_inside()
    assert len(seen) == 1
    assert seen[0] != before
    assert current_namespace_inode() == before
    with pytest.raises(NetnsError, match="no network namespace"), entered("cf-no-such-ns"):
        pass
    assert current_namespace_inode() == before


def test_entered_is_per_thread(network: NetnsNetwork) -> None:
    before = current_namespace_inode()
    inside, seen_by_other = threading.Event(), []
    release = threading.Event()

    def hold() -> None:
        with entered(network.hosts[0].name):
            inside.set()
            release.wait(TIMEOUT_S)

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert inside.wait(TIMEOUT_S)
        seen_by_other.append(current_namespace_inode())
    finally:
        release.set()
        thread.join()
    assert seen_by_other == [before]


# -- lifecycle ---------------------------------------------------------------------------------

def test_destroy_leaves_nothing_and_is_idempotent() -> None:
    net = NetnsNetwork(2)
    try:
        with net:
            assert len(leftovers(net.prefix)) == 2 + 2 + 1 + 1  # namespaces, veths, bridge, file
    finally:
        net.destroy()
    assert leftovers(net.prefix) == []
    assert net.bridge not in ip_text("link", "show")
    net.destroy()  # again: nothing to do, no error


def test_two_networks_at_once() -> None:
    nets = [NetnsNetwork(2), NetnsNetwork(2)]
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:  # concurrent creates share the lock
            list(pool.map(NetnsNetwork.create, nets))
        first, second = nets
        assert first.prefix != second.prefix
        assert not first.subnet.overlaps(second.subnet)
        for net in nets:
            for host in net.hosts:
                assert f"dev {net.bridge}" in ip_text("route", "get", host.address)
    finally:
        for net in nets:
            net.destroy()
    for net in nets:
        assert leftovers(net.prefix) == []


def test_cleanup_stale_removes_a_crashed_run(network: NetnsNetwork) -> None:
    prefix = unique_prefix("c")
    # A process that builds a network and dies without any cleanup (os._exit skips atexit).
    script = textwrap.dedent(f"""
        import os
        from simulators.fleet.netns import NetnsNetwork
        NetnsNetwork(2, prefix={prefix!r}).create()
        os._exit(0)
    """)
    try:
        subprocess.run([sys.executable, "-c", script], check=True, timeout=30,
                       cwd=Path(__file__).resolve().parents[3])
        assert len(leftovers(prefix)) == 6
        # Live networks are not stale: ours survives a sweep that matches it.
        assert cleanup_stale(network.prefix) == []
        assert len(leftovers(network.prefix)) == 3 + 3 + 1 + 1
        assert cleanup_stale(prefix) == [prefix]
        assert leftovers(prefix) == []
    finally:
        cleanup_stale(prefix)
    assert leftovers(prefix) == []


def test_route_check_failure_refuses_and_cleans_up(monkeypatch: pytest.MonkeyPatch) -> None:
    # Pretend `ip route get` answered through another interface (a more specific route
    # elsewhere, a policy rule): create() must refuse and leave nothing behind.
    def elsewhere(text: str) -> list[object]:
        return [[{"dev": "eth0"}] for line in text.splitlines() if line.strip()]

    monkeypatch.setattr(_network, "json_values", elsewhere)
    net = NetnsNetwork(2)
    with pytest.raises(NetnsError, match="refusing"):
        net.create()
    assert not net.created
    assert leftovers(net.prefix) == []


def test_same_prefix_live_is_refused_stale_is_replaced(network: NetnsNetwork) -> None:
    twin = NetnsNetwork(1, prefix=network.prefix)
    with pytest.raises(NetnsError, match="alive"):
        twin.create()
    twin.destroy()  # must not touch the live network it collided with
    assert len(leftovers(network.prefix)) == 3 + 3 + 1 + 1

    prefix = unique_prefix("s")
    script = ("import os; from simulators.fleet.netns import NetnsNetwork; "
              f"NetnsNetwork(2, prefix={prefix!r}).create(); os._exit(0)")
    net = NetnsNetwork(1, prefix=prefix)
    try:
        subprocess.run([sys.executable, "-c", script], check=True, timeout=30,
                       cwd=Path(__file__).resolve().parents[3])
        net.create()  # the crashed owner's leftovers are removed first
        assert [h.name for h in net.hosts] == [f"{prefix}-0"]
        assert len(leftovers(prefix)) == 1 + 1 + 1 + 1
    finally:
        net.destroy()
        cleanup_stale(prefix)
    assert leftovers(prefix) == []
