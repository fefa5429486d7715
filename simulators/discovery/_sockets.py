"""A camera's WS-Discovery sockets, the shared group socket of a fleet, and Probe parsing once
per datagram.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ipaddress
import logging
import socket
from collections.abc import Callable
from typing import Any, Protocol

from camfleet.protocols import wsdiscovery as wsd
from camfleet.protocols.multicast import group_socket, send_from

_LOG = logging.getLogger(__name__)

#: How long stop() waits for the event loop to release a socket.
CLOSE_TIMEOUT_S = 2.0


class ProbeListener(Protocol):
    """A camera attached to a :class:`SharedGroupSocket`: it is handed every Probe heard."""

    def on_probe(self, probe: wsd.Probe, addr: tuple[str, int], *, multicast: bool) -> None: ...


class Receiver(asyncio.DatagramProtocol):
    """Hands datagrams of one socket to the responder; tells stop() when the socket is gone."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        handler: Callable[[bytes, tuple[str, int], bool], None],
        *,
        multicast: bool,
    ) -> None:
        self._handler = handler
        self._multicast = multicast
        self.closed: asyncio.Future[None] = loop.create_future()

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        self._handler(data, (str(addr[0]), int(addr[1])), self._multicast)

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable from a client that already closed its socket, and the like.
        _LOG.debug("WS-Discovery socket error: %s", exc)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)


class SharedGroupSocket:
    """One multicast socket for all cameras of a process on one interface: the fleet option.

    With a group socket per camera the kernel hands every multicast datagram to every camera,
    so N cameras starting (N Hellos) or stopping (N Byes) cost N² deliveries; measured on this
    2-core machine: 200 cameras 0.4 s CPU, 1000 cameras ~9 s CPU at start and again at stop.
    Shared, each datagram is received and parsed once and only Probes reach the cameras: O(N).
    Every attached camera must be on the interface that owns ``interface`` (all of 127/8 is
    ``lo``); cameras keep their own unicast socket, so replies still come from their address.

        async with SharedGroupSocket(interface="127.0.0.1") as group:
            cameras = [DiscoveryResponder(state, addr, xaddrs, group=group) for ...]
    """

    def __init__(self, port: int = wsd.PORT, interface: str = "127.0.0.1") -> None:
        self.interface = interface
        self._port = port
        self._transport: asyncio.DatagramTransport | None = None
        self._receiver: Receiver | None = None
        self._members: dict[ProbeListener, None] = {}

    @property
    def port(self) -> int:
        """The group port; the one actually bound once opened with port 0."""
        return self._port

    @property
    def is_open(self) -> bool:
        return self._transport is not None

    async def open(self) -> None:
        if self._transport is not None:
            raise RuntimeError(f"shared group socket on port {self._port} is already open")
        loop = asyncio.get_running_loop()
        sock = multicast_socket(self.interface, self._port)
        self._port = int(sock.getsockname()[1])
        receiver = Receiver(loop, self._on_datagram, multicast=True)
        try:
            self._transport, _ = await loop.create_datagram_endpoint(lambda: receiver, sock=sock)
        except BaseException:
            sock.close()
            raise
        self._receiver = receiver

    async def close(self) -> None:
        """Leave the group. Safe to call again; attached cameras keep their unicast side."""
        transport, receiver = self._transport, self._receiver
        self._transport = self._receiver = None
        self._members.clear()
        if transport is not None and receiver is not None:
            transport.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(receiver.closed), CLOSE_TIMEOUT_S)

    async def __aenter__(self) -> SharedGroupSocket:
        await self.open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def attach(self, responder: ProbeListener) -> None:
        self._members[responder] = None

    def detach(self, responder: ProbeListener) -> None:
        self._members.pop(responder, None)

    def _on_datagram(self, data: bytes, addr: tuple[str, int], multicast: bool) -> None:
        probe = probe_or_none(data)
        if probe is None:
            return  # other cameras' Hello/Bye, garbage: parsed once, nobody disturbed
        for responder in list(self._members):
            responder.on_probe(probe, addr, multicast=multicast)


def check_camera_address(address: str) -> None:
    ip = ipaddress.ip_address(address)
    if ip.version != 4 or ip.is_unspecified or ip.is_multicast:
        # Replies must leave from the camera's own address (clients, and DISCOVERY tests,
        # take the reply's source as the camera); a wildcard or v6 address cannot give that.
        raise ValueError(f"a simulated camera needs one specific IPv4 unicast address, got "
                         f"{address!r} (IPv6 WS-Discovery, group ff02::c, is not simulated)")


def probe_or_none(data: bytes) -> wsd.Probe | None:
    if len(data) > wsd.MAX_MESSAGE_BYTES:
        return None  # before the cache, so it never holds on to an oversized datagram
    return _cached_probe(data)


@functools.lru_cache(maxsize=256)
def _cached_probe(data: bytes) -> wsd.Probe | None:
    """The Probe in a datagram, or None; memoised because every camera gets the same bytes.

    Probe is frozen, so sharing one parsed value between cameras is safe. Non-Probes (the
    other cameras' Hellos, garbage) are memoised as None for the same reason.
    """
    try:
        return wsd.parse_probe(data)
    except wsd.InvalidMessage:
        return None


def multicast_socket(address: str, port: int) -> socket.socket:
    try:
        return group_socket(wsd.MULTICAST_GROUP, port, [address])
    except OSError as exc:
        raise OSError(exc.errno, f"cannot join {wsd.MULTICAST_GROUP}:{port}/udp on the "
                                 f"interface of {address}: {exc.strerror}") from exc


def unicast_socket(address: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        # No SO_REUSEADDR/SO_REUSEPORT: two cameras given one address must fail loudly here
        # instead of silently sharing (and load-balancing) unicast Probes.
        sock.bind((address, port))
        send_from(sock, address)  # loops back: clients and monitors on this host hear Hello
        sock.setblocking(False)
    except OSError as exc:
        sock.close()
        raise OSError(exc.errno, f"cannot bind WS-Discovery socket {address}:{port}/udp: "
                                 f"{exc.strerror} (another camera or program on this address? "
                                 f"is {address} assigned to an interface?)") from exc
    return sock
