"""The client's UDP sockets: interfaces resolved, buffers sized, datagrams handed to callbacks.

Linux only: interface names are resolved with an ioctl, drops are read from ``/proc/net/udp``.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import ipaddress
import os
import socket
import struct
import sys
import termios
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from camfleet.printable import device_logger
from camfleet.protocols import wsdiscovery as wsd
from camfleet.protocols.multicast import group_socket, send_from

_LOG = device_logger(__name__)

#: Receive buffer asked for. 1000 cameras send 1000 ProbeMatches (~1.5 KiB each) per Probe
#: within APP_MAX_DELAY; the default 208 KiB holds ~270 of them, enough only while the event
#: loop keeps up. Measured (1000 loopback cameras, loop blocked 0.5 s by other work): default
#: buffer 726 of 1000 dropped, 4 MiB none.
DEFAULT_RCVBUF = 4 * 1024 * 1024

_SIOCGIFADDR = 0x8915  # linux/sockios.h
_SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)


def resolve_interface(interface: str) -> str:
    """An interface's IPv4 address: ``"127.0.0.1"`` stays itself, ``"lo"`` becomes 127.0.0.1.

    Names are looked up with ``if_nametoindex`` and the SIOCGIFADDR ioctl (the interface's
    primary IPv4 address; Linux only).
    """
    text = interface.strip()
    try:
        address = ipaddress.IPv4Address(text)
    except ValueError:
        pass
    else:
        if address.is_multicast or address.is_unspecified:
            raise ValueError(f"{interface!r} is not an interface address")
        return str(address)
    if sys.platform != "linux":
        raise ValueError(f"interface names ({interface!r}) are resolved on Linux only; pass "
                         "the interface's IPv4 address")
    try:
        socket.if_nametoindex(text)
    except OSError:
        raise ValueError(f"no network interface named {interface!r} and not an IPv4 "
                         "address") from None
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            reply = fcntl.ioctl(sock.fileno(), _SIOCGIFADDR,
                                struct.pack("256s", text.encode()[:15]))
        except OSError as exc:
            raise ValueError(f"interface {interface!r} has no IPv4 address ({exc.strerror})"
                             ) from None
    # struct ifreq: 16-byte name, then struct sockaddr_in (family, port, address).
    return socket.inet_ntoa(reply[20:24])


def resolve_all(interfaces: Iterable[str]) -> list[str]:
    addresses = list(dict.fromkeys(resolve_interface(i) for i in interfaces))
    if not addresses:
        raise ValueError("no interface given: name at least one (e.g. '127.0.0.1' or 'eth0')")
    return addresses


# -- sockets -------------------------------------------------------------------------------------
def set_rcvbuf(sock: socket.socket, size: int) -> int:
    """Ask for ``size`` bytes of receive buffer; return what the kernel granted.

    Linux caps SO_RCVBUF at net.core.rmem_max; SO_RCVBUFFORCE passes the cap with
    CAP_NET_ADMIN. getsockopt reports twice the request (the kernel's bookkeeping share).
    """
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)
    granted = int(sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF))
    if granted < size:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, _SO_RCVBUFFORCE, size)
            granted = int(sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF))
    return granted


def multicast_sender(interface: str, rcvbuf: int) -> tuple[socket.socket, int]:
    """A socket that sends Probes to the group out of ``interface`` and hears the replies."""
    def prepare(sock: socket.socket) -> None:
        # Bound to the interface's address: replies come back to it, and the Probe leaves with
        # it as source. IP_MULTICAST_IF picks the interface; TTL 1 keeps the Probe on the link
        # (SOAP-over-UDP multicast; WS-Discovery ad hoc mode is link-local).
        sock.bind((interface, 0))
        send_from(sock, interface)  # loops back too: devices on this host hear the Probe

    return _sender(interface, rcvbuf, prepare)


def unicast_sender(bind: str, rcvbuf: int) -> tuple[socket.socket, int]:
    """One socket for a whole unicast sweep, bound to ``bind``."""
    def prepare(sock: socket.socket) -> None:
        # A large send buffer too: a burst of Probes must not fail with EAGAIN.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1024 * 1024)
        sock.bind((bind, 0))

    return _sender(bind, rcvbuf, prepare)


def _sender(where: str, rcvbuf: int,
            prepare: Callable[[socket.socket], None]) -> tuple[socket.socket, int]:
    """A non-blocking UDP socket with ``rcvbuf`` asked for; also what the kernel granted."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        granted = set_rcvbuf(sock, rcvbuf)
        prepare(sock)
        sock.setblocking(False)
    except OSError as exc:
        sock.close()
        raise OSError(exc.errno, f"cannot open a WS-Discovery socket on {where}: "
                                 f"{exc.strerror}") from exc
    return sock, granted


def joined_group_socket(interfaces: Sequence[str], port: int,
                        rcvbuf: int) -> tuple[socket.socket, int]:
    try:
        sock = group_socket(wsd.MULTICAST_GROUP, port, interfaces)
    except OSError as exc:
        raise OSError(exc.errno, f"cannot join {wsd.MULTICAST_GROUP}:{port}/udp on "
                                 f"{', '.join(interfaces)}: {exc.strerror}") from exc
    return sock, set_rcvbuf(sock, rcvbuf)


def queued(sockets: Iterable[socket.socket]) -> bool:
    """Whether datagrams wait in any of these sockets' receive queues (FIONREAD).

    A busy event loop reads late: a reply that arrived in time is still in the kernel's
    queue, and silence on the loop's side is not silence on the wire.
    """
    for sock in sockets:
        with contextlib.suppress(OSError):
            if struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.FIONREAD,
                                              b"\0\0\0\0"))[0] > 0:
                return True
    return False


def kernel_drops(sock: socket.socket) -> int | None:
    """Datagrams the kernel dropped for this socket (full buffer), from /proc/net/udp."""
    try:
        inode = os.fstat(sock.fileno()).st_ino
        with open("/proc/net/udp", encoding="ascii") as table:
            next(table)
            for line in table:
                fields = line.split()
                if len(fields) >= 13 and fields[9] == str(inode):
                    return int(fields[12])
    except (OSError, ValueError, StopIteration):
        return None
    return None


class Datagrams(asyncio.DatagramProtocol):
    """Hands each datagram to a callback; tells the owner when the socket is closed."""

    def __init__(self, loop: asyncio.AbstractEventLoop,
                 handler: Callable[[bytes, str], None]) -> None:
        self._handler = handler
        self.errors = 0
        self.closed: asyncio.Future[None] = loop.create_future()

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        try:
            self._handler(data, str(addr[0]))
        except Exception:  # one datagram must never end a discovery
            _LOG.exception("WS-Discovery: error handling a datagram from %s", addr[0])

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable from swept hosts without a listener, and the like.
        self.errors += 1

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)


async def open_endpoint(sock: socket.socket,
                handler: Callable[[bytes, str], None]) -> tuple[asyncio.DatagramTransport,
                                                                 Datagrams]:
    loop = asyncio.get_running_loop()
    protocol = Datagrams(loop, handler)
    try:
        transport, _ = await loop.create_datagram_endpoint(lambda: protocol, sock=sock)
    except BaseException:
        sock.close()
        raise
    return transport, protocol


async def close_endpoints(pairs: Iterable[tuple[asyncio.DatagramTransport, Datagrams]]) -> None:
    waits = []
    for transport, protocol in pairs:
        transport.close()
        waits.append(protocol.closed)
    if waits:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*waits), 2.0)
