"""WS-Discovery group sockets on several interfaces of one host each hear their own LAN.

In network namespaces this test makes: namespace A has lo and a bridge (192.0.2.1) with a
veth to namespace B (192.0.2.2). Two group sockets in A share the port, one joined on lo, one
on the bridge; B multicasts a datagram. The bridge socket must get it, the lo one must not
(with SO_REUSEPORT the kernel handed it to the lo socket instead).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from simulators.fleet.netns import netns_unavailable_reason

NETNS = netns_unavailable_reason()
pytestmark = pytest.mark.skipif(NETNS is not None, reason=f"needs network namespaces: {NETNS}")

RECEIVER = """
import sys, time
from camfleet.protocols.multicast import group_socket
lo = group_socket("239.255.255.250", 39702, ["127.0.0.1"])
bridge = group_socket("239.255.255.250", 39702, ["192.0.2.1"])
print("ready", flush=True)
time.sleep(1.5)
for name, sock in (("lo", lo), ("bridge", bridge)):
    try:
        print(name, sock.recv(100).decode())
    except BlockingIOError:
        print(name, "-")
"""
SENDER = """
import socket
from camfleet.protocols.multicast import send_from
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
send_from(sock, "192.0.2.2")
sock.sendto(b"probe-from-B", ("239.255.255.250", 39702))
"""


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


@pytest.fixture
def two_lans() -> Iterator[tuple[str, str]]:
    a, b = f"cf-mc-a-{os.getpid()}", f"cf-mc-b-{os.getpid()}"
    veth = f"cfmc{os.getpid() % 100000}"
    ip("netns", "add", a)
    ip("netns", "add", b)
    try:
        ip("link", "add", f"{veth}a", "type", "veth", "peer", "name", f"{veth}b")
        ip("link", "set", f"{veth}a", "netns", a)
        ip("link", "set", f"{veth}b", "netns", b)
        for args in (("link", "set", "lo", "up"), ("link", "add", "br0", "type", "bridge"),
                     ("link", "set", f"{veth}a", "master", "br0"),
                     ("link", "set", f"{veth}a", "up"),
                     ("addr", "add", "192.0.2.1/24", "dev", "br0"),
                     ("link", "set", "br0", "up")):
            ip("-n", a, *args)
        for args in (("link", "set", "lo", "up"),
                     ("addr", "add", "192.0.2.2/24", "dev", f"{veth}b"),
                     ("link", "set", f"{veth}b", "up")):
            ip("-n", b, *args)
        yield a, b
    finally:
        ip("netns", "del", a)
        ip("netns", "del", b)


def test_each_group_socket_hears_only_the_interface_it_joined(
        two_lans: tuple[str, str]) -> None:
    a, b = two_lans
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    receiver = subprocess.Popen(["ip", "netns", "exec", a, sys.executable, "-c", RECEIVER],
                                stdout=subprocess.PIPE, text=True, env=env)
    assert receiver.stdout is not None
    assert receiver.stdout.readline().strip() == "ready"
    subprocess.run(["ip", "netns", "exec", b, sys.executable, "-c", SENDER], check=True,
                   env=env, timeout=30)
    out, _ = receiver.communicate(timeout=30)
    heard = dict(line.split(" ", 1) for line in out.splitlines())
    assert heard == {"bridge": "probe-from-B", "lo": "-"}
