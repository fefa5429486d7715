"""IPv4 multicast socket setup for WS-Discovery, shared by devmgr's client and the simulators.

The options are easy to get subtly wrong, and wrong means silent: a sender without
``IP_MULTICAST_IF`` follows the default route off the machine; a group socket bound to
0.0.0.0 also receives unicast meant for others; without ``IP_MULTICAST_ALL=0`` a socket hears
groups joined by any socket of the host, on any interface.
"""

from __future__ import annotations

import socket
import sys
from collections.abc import Sequence

#: linux/in.h; Python's socket module does not export it.
IP_MULTICAST_ALL = 49


def send_from(sock: socket.socket, interface: str, *, ttl: int = 1, loop: bool = True) -> None:
    """Send this socket's multicast out of the interface owning address ``interface``.

    TTL 1 keeps it on the link (SOAP-over-UDP; WS-Discovery ad hoc mode is link-local);
    ``loop`` lets parties on this very host (simulated fleets, monitors) hear it too.
    """
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(interface))
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, ttl)
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, int(loop))


def join_group(sock: socket.socket, group: str, interface: str) -> None:
    """Join ``group`` on the interface owning address ``interface`` (ip_mreq)."""
    membership = socket.inet_aton(group) + socket.inet_aton(interface)
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, membership)


def group_socket(group: str, port: int, interfaces: Sequence[str]) -> socket.socket:
    """A non-blocking socket that receives ``group:port`` on ``interfaces``, beside others.

    Every WS-Discovery party on a host binds the same port (devices, clients): with
    SO_REUSEADDR Linux hands each multicast datagram to all of them. Not SO_REUSEPORT on
    Linux: sockets in a reuseport group get each datagram picked for *one* of them, ignoring
    which interface each joined on, so a socket joined on lo swallowed what arrived on a
    bridge for another (measured, kernel 6.18; ``tests/devmgr/protocols/test_multicast.py``).
    BSDs and macOS need SO_REUSEPORT to share a multicast port, and deliver to all. Bound to the
    group rather than 0.0.0.0, it sees no unicast traffic meant for others; with
    IP_MULTICAST_ALL off, only the groups it joined, on the interfaces it joined them on (with
    cameras on several interfaces, netns/veth, each hears its own LAN only).
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if sys.platform != "linux" and hasattr(socket, "SO_REUSEPORT"):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((group, port))
        if sys.platform == "linux":
            sock.setsockopt(socket.IPPROTO_IP, IP_MULTICAST_ALL, 0)
        for interface in interfaces:
            join_group(sock, group, interface)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock
