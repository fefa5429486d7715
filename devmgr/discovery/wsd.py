"""WS-Discovery client: multicast Probe, unicast sweep of CIDRs, passive Hello/Bye monitor.

The wire format is :mod:`devmgr.protocols.wsdiscovery` (shared with the simulated cameras);
this module owns the sockets, the timing and the bookkeeping. Linux only (interface names are
resolved with an ioctl; drops are read from ``/proc/net/udp``).

Multicast, on every interface that may have cameras (addresses or names)::

    stats = ProbeStats()
    found = await probe_multicast(["eth0"], expect=120, stats=stats)
    # -> [WsdEndpoint(address="10.1.2.3", endpoint="urn:uuid:...", xaddrs=(...), ...), ...]
    print(stats.time_to_last_new_s, stats.kernel_drops, stats.stopped_by)

Unicast, across VLANs where multicast does not reach (ONVIF Core allows a unicast Probe to a
device's port 3702; DISCOVERY-1-1-6)::

    found = await probe_unicast(["10.20.0.0/22", "10.30.4.17"], timeout_s=1.0)

Passive, for Hello (a unit joined) and Bye (a unit left)::

    async with DiscoveryMonitor(["127.0.0.1"], port=3702) as monitor:
        async for event in monitor.events():
            print(event.kind, event.address, event.endpoint)   # "joined"/"left"

What the timing rests on (WS-Discovery 2005 + SOAP-over-UDP, the versions ONVIF pins):

* a target answers a multicast Probe after a random delay in 0..APP_MAX_DELAY (500 ms), so a
  client that has heard nothing new for a short quiet period *after* that window can stop;
  one that knows how many devices to expect stops the moment the last one answered;
* a multicast message is repeated MULTICAST_UDP_REPEAT times with the *same* MessageID, first
  after a random UDP_MIN_DELAY..UDP_MAX_DELAY (50..250 ms), then doubling up to
  UDP_UPPER_DELAY (500 ms): compliant targets answer one MessageID once, so repeats only help
  targets that missed the first copy and cost no extra replies;
* a unicast Probe is answered without the random delay (it exists to spread a multicast reply
  implosion), so a sweep's per-host timeout can be short.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import heapq
import ipaddress
import logging
import os
import random
import socket
import struct
import sys
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from devmgr.inventory.model import WsdEndpoint
from devmgr.protocols import wsdiscovery as wsd
from devmgr.protocols.multicast import group_socket, send_from

__all__ = [
    "APP_MAX_DELAY_S",
    "MAX_SWEEP_HOSTS",
    "DiscoveryEvent",
    "DiscoveryMonitor",
    "MonitorStats",
    "ProbeStats",
    "ProbeTypes",
    "SweepStats",
    "TooManyHosts",
    "probe_multicast",
    "probe_unicast",
    "resolve_interface",
]

_LOG = logging.getLogger(__name__)

#: WS-Discovery APP_MAX_DELAY: a target waits a random 0..500 ms before answering a multicast Probe.
APP_MAX_DELAY_S = 0.5
#: SOAP-over-UDP Appendix I retransmission constants (milliseconds in the spec).
UDP_MIN_DELAY_S = 0.050
UDP_MAX_DELAY_S = 0.250
UDP_UPPER_DELAY_S = 0.500
#: A sweep larger than this (a /16) is refused unless forced: it is a scan, not a discovery.
MAX_SWEEP_HOSTS = 65536
#: Receive buffer asked for. 1000 cameras send 1000 ProbeMatches (~1.5 KiB each) per Probe
#: within APP_MAX_DELAY; the default 208 KiB holds ~270 of them, enough only while the event
#: loop keeps up. Measured (1000 loopback cameras, loop blocked 0.5 s by other work): default
#: buffer 726 of 1000 dropped, 4 MiB none.
DEFAULT_RCVBUF = 4 * 1024 * 1024

#: Which Types a Probe carries. "both": one Probe for dn:NetworkVideoTransmitter and one for
#: tds:Device (some devices answer only one of them); "none": one Probe with Types omitted,
#: which matches any target (WS-Discovery 2005 Probe; DISCOVERY-1-1-4).
ProbeTypes = Literal["both", "nvt", "device", "none"]
_TYPE_SETS: dict[str, tuple[tuple[wsd.QName, ...], ...]] = {
    "both": ((wsd.TYPE_NVT,), (wsd.TYPE_DEVICE,)),
    "nvt": ((wsd.TYPE_NVT,),),
    "device": ((wsd.TYPE_DEVICE,),),
    "none": ((),),
}

_SIOCGIFADDR = 0x8915  # linux/sockios.h
_SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)


class TooManyHosts(ValueError):
    """A unicast sweep over more than :data:`MAX_SWEEP_HOSTS` addresses without ``force``."""


# -- interfaces ----------------------------------------------------------------------------------
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


def _resolve_all(interfaces: Iterable[str]) -> list[str]:
    addresses = list(dict.fromkeys(resolve_interface(i) for i in interfaces))
    if not addresses:
        raise ValueError("no interface given: name at least one (e.g. '127.0.0.1' or 'eth0')")
    return addresses


# -- sockets -------------------------------------------------------------------------------------
def _set_rcvbuf(sock: socket.socket, size: int) -> int:
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


def _sender_socket(interface: str, rcvbuf: int) -> tuple[socket.socket, int]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        granted = _set_rcvbuf(sock, rcvbuf)
        # Bound to the interface's address: replies come back to it, and the Probe leaves with
        # it as source. IP_MULTICAST_IF picks the interface; TTL 1 keeps the Probe on the link
        # (SOAP-over-UDP multicast; WS-Discovery ad hoc mode is link-local).
        sock.bind((interface, 0))
        send_from(sock, interface)  # loops back too: devices on this host hear the Probe
        sock.setblocking(False)
    except OSError as exc:
        sock.close()
        raise OSError(exc.errno, f"cannot open a WS-Discovery socket on {interface}: "
                                 f"{exc.strerror}") from exc
    return sock, granted


def _group_socket(interfaces: Sequence[str], port: int, rcvbuf: int) -> tuple[socket.socket, int]:
    try:
        sock = group_socket(wsd.MULTICAST_GROUP, port, interfaces)
    except OSError as exc:
        raise OSError(exc.errno, f"cannot join {wsd.MULTICAST_GROUP}:{port}/udp on "
                                 f"{', '.join(interfaces)}: {exc.strerror}") from exc
    return sock, _set_rcvbuf(sock, rcvbuf)


def _kernel_drops(sock: socket.socket) -> int | None:
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


class _Datagrams(asyncio.DatagramProtocol):
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


async def _open(sock: socket.socket,
                handler: Callable[[bytes, str], None]) -> tuple[asyncio.DatagramTransport,
                                                                 _Datagrams]:
    loop = asyncio.get_running_loop()
    protocol = _Datagrams(loop, handler)
    try:
        transport, _ = await loop.create_datagram_endpoint(lambda: protocol, sock=sock)
    except BaseException:
        sock.close()
        raise
    return transport, protocol


async def _close(pairs: Iterable[tuple[asyncio.DatagramTransport, _Datagrams]]) -> None:
    waits = []
    for transport, protocol in pairs:
        transport.close()
        waits.append(protocol.closed)
    if waits:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*waits), 2.0)


def _endpoint_of(match: wsd.ProbeMatch, address: str) -> WsdEndpoint:
    return WsdEndpoint(address=address, endpoint=match.endpoint, xaddrs=match.xaddrs,
                       scopes=match.scopes, types=tuple(str(t) for t in match.types),
                       metadata_version=match.metadata_version)


def _sorted(endpoints: Iterable[WsdEndpoint]) -> list[WsdEndpoint]:
    return sorted(endpoints, key=lambda e: (int(ipaddress.ip_address(e.address)), e.endpoint))


def _retransmit_delays(repeat: int, rng: random.Random) -> list[float]:
    """Offsets after the first send (SOAP-over-UDP Appendix I): T, then doubling, capped."""
    delays, offset = [], 0.0
    step = rng.uniform(UDP_MIN_DELAY_S, UDP_MAX_DELAY_S)
    for _ in range(repeat):
        offset += step
        delays.append(offset)
        step = min(2 * step, UDP_UPPER_DELAY_S)
    return delays


# -- multicast -----------------------------------------------------------------------------------
@dataclass
class ProbeStats:
    """What one :func:`probe_multicast` did; pass one in to have it filled."""

    #: Datagrams sent: Probes x (1 + repeat) x interfaces.
    datagrams_sent: int = 0
    #: Datagrams received on our sockets, whatever they were.
    datagrams_received: int = 0
    #: ProbeMatch elements that relate to our Probes.
    matches: int = 0
    #: ... of which for an endpoint already found (it answered both Probes, or two interfaces).
    duplicates: int = 0
    #: Garbage: not well-formed, not ProbeMatches, over the size cap (dropped, DISCOVERY-1-1-5).
    invalid: int = 0
    #: SOAP faults received.
    faults: int = 0
    #: Valid ProbeMatches whose RelatesTo is none of our MessageIDs.
    unrelated: int = 0
    #: Receive buffer per interface as the kernel reports it (twice what was granted).
    rcvbuf_bytes: dict[str, int] = field(default_factory=dict)
    #: Datagrams the kernel dropped on our sockets (full receive buffer); None if unknown.
    kernel_drops: int | None = None
    elapsed_s: float = 0.0
    #: From the first send to the last *new* endpoint (time-to-all when everyone answered).
    time_to_last_new_s: float | None = None
    #: "expect" (all expected answered), "quiet" (nothing new after the reply window) or "wait".
    stopped_by: str = ""


class _Replies:
    """Matches ProbeMatches to our MessageIDs; first reply per endpoint wins."""

    def __init__(self, loop: asyncio.AbstractEventLoop, stats: ProbeStats | SweepStats) -> None:
        self._loop = loop
        self._stats = stats
        self.found: dict[str, WsdEndpoint] = {}
        self.last_new = loop.time()

    def parse(self, data: bytes) -> list[wsd.ProbeMatch]:
        self._stats.datagrams_received += 1
        try:
            return wsd.parse_probe_matches(data)
        except wsd.FaultReceived:
            self._stats.faults += 1
        except wsd.InvalidMessage:  # the codec caps size, refuses DTDs and entities
            self._stats.invalid += 1
        return []

    def add(self, match: wsd.ProbeMatch, source: str) -> bool:
        """Record a match; True if its endpoint is new."""
        if match.endpoint in self.found:
            return False
        self.found[match.endpoint] = _endpoint_of(match, source)
        self.last_new = self._loop.time()
        return True


async def probe_multicast(
    interfaces: Sequence[str],
    *,
    port: int = wsd.PORT,
    types: ProbeTypes = "both",
    scopes: Sequence[str] = (),
    wait_s: float = 2.0,
    repeat: int = 2,
    expect: int | None = None,
    quiet_s: float | None = 0.2,
    max_delay_s: float = APP_MAX_DELAY_S,
    rcvbuf: int = DEFAULT_RCVBUF,
    stats: ProbeStats | None = None,
    rng: random.Random | None = None,
) -> list[WsdEndpoint]:
    """Multicast Probe(s) on each interface; return every distinct endpoint that answered.

    ``interfaces``: IPv4 addresses of local interfaces or interface names (``"lo"``,
    ``"eth0"``). ``repeat``: retransmissions of each Probe (SOAP-over-UDP
    MULTICAST_UDP_REPEAT; same MessageID, so compliant devices answer once). Listening ends at
    the first of: ``expect`` distinct endpoints found; nothing new for ``quiet_s`` once the
    last copy's reply window (``max_delay_s``, APP_MAX_DELAY) has passed (``quiet_s=None``
    turns this off); ``wait_s`` after the first send (the ONVIF tool waits 5 s).

    Results are deduplicated by endpoint reference (the first reply wins; its source address
    is the device's address) and sorted by address, numerically.
    """
    if repeat < 0:
        raise ValueError(f"repeat must be >= 0, got {repeat}")
    if types not in _TYPE_SETS:
        raise ValueError(f"types must be one of {', '.join(_TYPE_SETS)}, got {types!r}")
    stats = stats if stats is not None else ProbeStats()
    addresses = _resolve_all(interfaces)
    probes = [wsd.build_probe(type_set, scopes) for type_set in _TYPE_SETS[types]]
    ours = {message_id for message_id, _ in probes}
    loop = asyncio.get_running_loop()
    replies = _Replies(loop, stats)
    done = asyncio.Event()

    def on_datagram(data: bytes, source: str) -> None:
        for match in replies.parse(data):
            if match.relates_to not in ours:
                stats.unrelated += 1
                continue
            stats.matches += 1
            if not replies.add(match, source):
                stats.duplicates += 1
            elif expect is not None and len(replies.found) >= expect:
                done.set()

    opened: list[tuple[asyncio.DatagramTransport, _Datagrams]] = []
    sockets: list[socket.socket] = []
    began: float | None = None
    try:
        for address in addresses:
            sock, stats.rcvbuf_bytes[address] = _sender_socket(address, rcvbuf)
            sockets.append(sock)
            opened.append(await _open(sock, on_datagram))

        def send_all() -> None:
            for transport, _ in opened:
                for _, datagram in probes:
                    transport.sendto(datagram, (wsd.MULTICAST_GROUP, port))
                    stats.datagrams_sent += 1

        began = replies.last_new = loop.time()
        send_all()
        stats.stopped_by = await _listen(
            send_all, [began + d for d in _retransmit_delays(repeat, rng or random.Random())],
            replies, done, deadline=began + wait_s, quiet_s=quiet_s, max_delay_s=max_delay_s)
    finally:
        drops = [d for d in map(_kernel_drops, sockets) if d is not None]
        stats.kernel_drops = sum(drops) if drops else None
        await _close(opened)
        if began is not None:
            stats.elapsed_s = loop.time() - began
            if replies.found:
                stats.time_to_last_new_s = replies.last_new - began
    return _sorted(replies.found.values())


async def _listen(send_all: Callable[[], None], retransmits: list[float], replies: _Replies,
                  done: asyncio.Event, *, deadline: float, quiet_s: float | None,
                  max_delay_s: float) -> str:
    """Retransmit on schedule and wait for replies; return why listening stopped."""
    loop = asyncio.get_running_loop()
    # Replies to the last copy may come up to max_delay_s after it; only after that does a
    # quiet spell mean "everyone who heard a copy has answered".
    window_end = (retransmits[-1] if retransmits else loop.time()) + max_delay_s
    while True:
        now = loop.time()
        if done.is_set():
            return "expect"
        if now >= deadline:
            return "wait"
        while retransmits and retransmits[0] <= now:
            retransmits.pop(0)
            send_all()
        if quiet_s is not None and now >= window_end and now - replies.last_new >= quiet_s:
            return "quiet"
        wake = [deadline]
        if retransmits:
            wake.append(retransmits[0])
        elif quiet_s is not None:
            wake.append(max(window_end, replies.last_new + quiet_s))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), max(0.0, min(wake) - loop.time()))


# -- unicast -------------------------------------------------------------------------------------
@dataclass
class SweepStats:
    """What one :func:`probe_unicast` did."""

    hosts: int = 0
    datagrams_sent: int = 0
    retransmissions: int = 0
    answered: int = 0
    timeouts: int = 0
    datagrams_received: int = 0
    invalid: int = 0
    faults: int = 0
    #: Valid replies whose RelatesTo is not an outstanding Probe of this sweep (late, foreign).
    unrelated: int = 0
    #: Replies that came from another address than the one probed (NAT, multi-homed device).
    source_mismatch: int = 0
    #: Socket errors reported by the kernel (ICMP port/host unreachable on some systems).
    socket_errors: int = 0
    rcvbuf_bytes: int = 0
    kernel_drops: int | None = None
    elapsed_s: float = 0.0
    time_to_last_new_s: float | None = None


@dataclass(slots=True)
class _Host:
    address: str
    message_ids: tuple[str, ...]
    datagrams: tuple[bytes, ...]
    deadline: float = 0.0
    retransmits: list[float] = field(default_factory=list)
    done: bool = False

    def next_timer(self) -> float:
        return min(self.deadline, *self.retransmits) if self.retransmits else self.deadline


def _hosts_of(cidrs: Sequence[str], force: bool) -> list[str]:
    networks = []
    total = 0
    for cidr in cidrs:
        try:
            network = ipaddress.IPv4Network(cidr.strip(), strict=False)
        except ValueError as exc:
            raise ValueError(f"not an IPv4 address or network: {cidr!r} ({exc})") from None
        networks.append(network)
        total += network.num_addresses
        if total > MAX_SWEEP_HOSTS and not force:
            raise TooManyHosts(f"{', '.join(cidrs)} spans more than {MAX_SWEEP_HOSTS} "
                               "addresses; narrow the ranges or pass force=True")
    hosts: dict[str, None] = {}
    for network in networks:
        # hosts() leaves out network and broadcast addresses (and gives /31, /32 whole).
        for host in network.hosts():
            if not host.is_multicast and not host.is_unspecified:
                hosts[str(host)] = None
    return list(hosts)


class _Sweep:
    """One unicast sweep: pacing, per-host retransmission and timeout, RelatesTo matching."""

    def __init__(self, addresses: list[str], *, port: int, types: ProbeTypes, concurrency: int,
                 rate: float, timeout_s: float, repeat: int, stats: SweepStats,
                 rng: random.Random) -> None:
        self.addresses = addresses
        self.port = port
        self.concurrency = concurrency
        self.interval = 1.0 / rate
        self.timeout_s = timeout_s
        self.repeat = repeat
        self.stats = stats
        self.rng = rng
        self.loop = asyncio.get_running_loop()
        self.replies = _Replies(self.loop, stats)
        # Building a Probe with lxml costs ~50 µs, seconds for a /16. The codec builds one
        # template per type set; each host's copy differs only in its urn:uuid MessageID, of
        # fixed length, which is swapped into the bytes.
        self.templates = [wsd.build_probe(type_set) for type_set in _TYPE_SETS[types]]
        self.hosts: list[_Host] = []
        self.by_id: dict[str, int] = {}
        self.timers: list[tuple[float, int]] = []  # (when, host index)
        self.outstanding = 0
        self.next_host = 0
        self.wake = asyncio.Event()
        self.transport: asyncio.DatagramTransport | None = None

    def on_datagram(self, data: bytes, source: str) -> None:
        for match in self.replies.parse(data):
            index = self.by_id.get(match.relates_to)
            if index is None:
                self.stats.unrelated += 1
                continue
            host = self.hosts[index]
            if source != host.address:
                self.stats.source_mismatch += 1
            self.replies.add(match, source)
            if not host.done:
                self._finish(index, answered=True)

    def _finish(self, index: int, *, answered: bool) -> None:
        host = self.hosts[index]
        host.done = True
        self.outstanding -= 1
        for message_id in host.message_ids:
            self.by_id.pop(message_id, None)
        if answered:
            self.stats.answered += 1
        else:
            self.stats.timeouts += 1
        self.wake.set()

    def _send(self, host: _Host) -> None:
        assert self.transport is not None
        for datagram in host.datagrams:
            self.transport.sendto(datagram, (host.address, self.port))
            self.stats.datagrams_sent += 1

    def _fire_timers(self, now: float) -> None:
        while self.timers and self.timers[0][0] <= now:
            _, index = heapq.heappop(self.timers)
            host = self.hosts[index]
            if host.done:
                continue
            if host.retransmits and host.retransmits[0] <= now:
                host.retransmits.pop(0)  # same MessageIDs: a retransmission, not a new Probe
                self._send(host)
                self.stats.retransmissions += len(host.datagrams)
            if now >= host.deadline:
                self._finish(index, answered=False)
            else:
                heapq.heappush(self.timers, (host.next_timer(), index))

    def _start_host(self, now: float) -> int:
        ids, datagrams = [], []
        for template_id, template in self.templates:
            message_id = wsd.new_message_id()
            ids.append(message_id)
            datagrams.append(template.replace(template_id.encode(), message_id.encode(), 1))
        index = len(self.hosts)
        host = _Host(self.addresses[self.next_host], tuple(ids), tuple(datagrams),
                     deadline=now + self.timeout_s,
                     retransmits=[now + d for d in _retransmit_delays(self.repeat, self.rng)
                                  if d < self.timeout_s])
        self.hosts.append(host)
        self.next_host += 1
        for message_id in ids:
            self.by_id[message_id] = index
        self._send(host)
        heapq.heappush(self.timers, (host.next_timer(), index))
        self.outstanding += 1
        return len(datagrams)

    async def run(self, transport: asyncio.DatagramTransport) -> None:
        self.transport = transport
        send_at = self.loop.time()
        total = len(self.addresses)
        while self.next_host < total or self.outstanding:
            now = self.loop.time()
            self._fire_timers(now)
            # Token pacing; after an idle spell no burst larger than ~10 ms worth of Probes.
            send_at = max(send_at, now - 0.01)
            while self.next_host < total and self.outstanding < self.concurrency \
                    and send_at <= now:
                send_at += self.interval * self._start_host(now)
            if self.next_host >= total and not self.outstanding:
                break
            until = [self.timers[0][0]] if self.timers else []
            if self.next_host < total and self.outstanding < self.concurrency:
                until.append(send_at)
            self.wake.clear()
            timeout = max(0.0, min(until) - self.loop.time()) if until else None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), timeout)


async def probe_unicast(
    cidrs: Sequence[str],
    *,
    port: int = wsd.PORT,
    types: ProbeTypes = "none",
    concurrency: int = 512,
    rate: float = 5000.0,
    timeout_s: float = 1.0,
    repeat: int = 1,
    bind: str = "0.0.0.0",
    force: bool = False,
    rcvbuf: int = DEFAULT_RCVBUF,
    stats: SweepStats | None = None,
    rng: random.Random | None = None,
) -> list[WsdEndpoint]:
    """Send a Probe to every host of ``cidrs`` (addresses or networks) on ``port``.

    This is how ONVIF discovery crosses VLANs and routers, which multicast with TTL 1 does
    not. One socket serves the whole sweep; each host gets its own MessageID and a reply is
    matched to its host by RelatesTo. At most ``concurrency`` hosts are outstanding and at
    most ``rate`` Probe datagrams leave per second; a host that has not answered ``timeout_s``
    after its first Probe is given up. ``repeat``: retransmissions per host
    (SOAP-over-UDP UNICAST_UDP_REPEAT), at T, 3T, ... with T in 50..250 ms.

    ``types`` defaults to "none": one Probe per host with Types omitted, which every target
    must match (DISCOVERY-1-1-4); "both" sends two per host for devices that only answer a
    typed Probe. More than :data:`MAX_SWEEP_HOSTS` addresses raise :class:`TooManyHosts`
    unless ``force``. Results: one per endpoint, sorted by address.
    """
    if concurrency < 1 or rate <= 0 or timeout_s <= 0 or repeat < 0:
        raise ValueError("concurrency >= 1, rate > 0, timeout_s > 0 and repeat >= 0 are needed")
    if types not in _TYPE_SETS:
        raise ValueError(f"types must be one of {', '.join(_TYPE_SETS)}, got {types!r}")
    stats = stats if stats is not None else SweepStats()
    addresses = _hosts_of(cidrs, force)
    stats.hosts = len(addresses)
    sweep = _Sweep(addresses, port=port, types=types, concurrency=concurrency, rate=rate,
                   timeout_s=timeout_s, repeat=repeat, stats=stats,
                   rng=rng or random.Random())
    sock, stats.rcvbuf_bytes = _sender_socket_unicast(bind, rcvbuf)
    transport, protocol = await _open(sock, sweep.on_datagram)
    began = sweep.replies.last_new = sweep.loop.time()
    try:
        await sweep.run(transport)
    finally:
        stats.kernel_drops = _kernel_drops(sock)
        stats.socket_errors = protocol.errors
        await _close([(transport, protocol)])
        stats.elapsed_s = sweep.loop.time() - began
        if sweep.replies.found:
            stats.time_to_last_new_s = sweep.replies.last_new - began
    return _sorted(sweep.replies.found.values())


def _sender_socket_unicast(bind: str, rcvbuf: int) -> tuple[socket.socket, int]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        granted = _set_rcvbuf(sock, rcvbuf)
        # A large send buffer too: a burst of Probes must not fail with EAGAIN.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1024 * 1024)
        sock.bind((bind, 0))
        sock.setblocking(False)
    except OSError as exc:
        sock.close()
        raise OSError(exc.errno, f"cannot open a WS-Discovery socket on {bind}: "
                                 f"{exc.strerror}") from exc
    return sock, granted


# -- passive monitor -----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class DiscoveryEvent:
    """A unit joined (Hello) or left (Bye), as heard on the group."""

    kind: Literal["joined", "left"]
    #: Source address of the datagram: the device's address.
    address: str
    endpoint: str
    message_id: str
    xaddrs: tuple[str, ...] = ()
    scopes: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    metadata_version: int | None = None
    app_sequence: wsd.AppSequence | None = None
    #: time.time() when it arrived.
    received_at: float = 0.0

    def as_endpoint(self) -> WsdEndpoint:
        return WsdEndpoint(address=self.address, endpoint=self.endpoint, xaddrs=self.xaddrs,
                           scopes=self.scopes, types=self.types,
                           metadata_version=self.metadata_version or 0)


@dataclass
class MonitorStats:
    datagrams_received: int = 0
    hellos: int = 0
    byes: int = 0
    #: Same endpoint and AppSequence (or MessageID) again: SOAP-over-UDP retransmissions.
    duplicates: int = 0
    #: AppSequence InstanceId lower than one already seen for the endpoint: a message from an
    #: earlier incarnation arriving late (or replayed). Dropped.
    stale: int = 0
    #: Same InstanceId, lower MessageNumber: reordering, or a device that restarted without
    #: raising its InstanceId (non-compliant, and common). Reported, and counted here.
    sequence_resets: int = 0
    #: Valid WS-Discovery that is not Hello/Bye (other clients' Probes).
    ignored: int = 0
    #: Garbage: dropped (DISCOVERY-1-1-5 applies to a listener as much as to a device).
    invalid: int = 0
    #: Events dropped because nobody consumed them (queue full).
    overflow: int = 0


class DiscoveryMonitor:
    """Passive listener on 239.255.255.250:``port``: Hello and Bye as they happen.

    One consumer per monitor (events go through one queue). Repeated Hellos (the same endpoint
    with the same AppSequence InstanceId/MessageNumber, or the same MessageID) are reported
    once. WS-Discovery 2005 application sequencing says a target raises InstanceId each time
    it restarts, so a message with a *lower* InstanceId than one already seen for its endpoint
    is from an earlier incarnation and is dropped as stale. A lower MessageNumber within the
    same InstanceId is still reported (``stats.sequence_resets``): that is what a device that
    restarts without raising InstanceId sends, and silently dropping its Hello would turn a
    reboot into an apparent removal. A Bye carries no XAddrs or Scopes; the event is given
    those last heard for the endpoint, if any.
    """

    def __init__(self, interfaces: Sequence[str], *, port: int = wsd.PORT,
                 max_queue: int = 10000, max_endpoints: int = 100000,
                 rcvbuf: int = DEFAULT_RCVBUF) -> None:
        self.interfaces = _resolve_all(interfaces)
        self.port = port
        self.stats = MonitorStats()
        self.rcvbuf_bytes = 0
        self._max_queue = max_queue
        self._max_endpoints = max_endpoints
        self._rcvbuf = rcvbuf
        self._queue: asyncio.Queue[DiscoveryEvent | None] = asyncio.Queue()
        self._opened: tuple[asyncio.DatagramTransport, _Datagrams] | None = None
        self._sock: socket.socket | None = None
        #: endpoint -> newest (instance_id, message_number), XAddrs, Scopes, Types.
        self._known: OrderedDict[str, tuple[tuple[int, int] | None, tuple[str, ...],
                                            tuple[str, ...], tuple[str, ...]]] = OrderedDict()
        self._recent_ids: OrderedDict[str, None] = OrderedDict()

    @property
    def running(self) -> bool:
        return self._opened is not None

    @property
    def kernel_drops(self) -> int | None:
        return _kernel_drops(self._sock) if self._sock is not None else None

    async def start(self) -> None:
        if self._opened is not None:
            raise RuntimeError("the discovery monitor is already running")
        sock, self.rcvbuf_bytes = _group_socket(self.interfaces, self.port, self._rcvbuf)
        self._opened = await _open(sock, self._on_datagram)
        self._sock = sock

    async def stop(self) -> None:
        """Leave the group; a consumer of :meth:`events` sees the end. Safe to call again."""
        opened, self._opened = self._opened, None
        if opened is not None:
            await _close([opened])
            self._queue.put_nowait(None)
        self._sock = None

    async def __aenter__(self) -> DiscoveryMonitor:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def events(self) -> AsyncIterator[DiscoveryEvent]:
        """Events in arrival order until :meth:`stop`."""
        while True:
            event = await self._queue.get()
            if event is None:
                return
            yield event

    def _on_datagram(self, data: bytes, source: str) -> None:
        self.stats.datagrams_received += 1
        try:
            message = wsd.parse_hello_bye(data)
        except wsd.InvalidMessage:
            try:
                wsd.parse_probe(data)
            except wsd.InvalidMessage:
                self.stats.invalid += 1
            else:
                self.stats.ignored += 1
            return
        if self._seen(message):
            return
        previous = self._known.get(message.endpoint)
        order = (message.app_sequence.instance_id, message.app_sequence.message_number) \
            if message.app_sequence is not None else None
        last = previous[0] if previous is not None else None
        if order is not None and last is not None:
            if order == last:  # the same message again under a new MessageID
                self.stats.duplicates += 1
                return
            if order[0] < last[0]:  # an earlier incarnation's message, late or replayed
                self.stats.stale += 1
                return
            if order < last:
                self.stats.sequence_resets += 1
        if message.kind == "hello":
            self.stats.hellos += 1
            xaddrs, scopes = message.xaddrs, message.scopes
            types = tuple(str(t) for t in message.types)
        else:
            self.stats.byes += 1
            _, xaddrs, scopes, types = previous or (None, (), (), ())
        self._remember(message.endpoint, (order or last, xaddrs, scopes, types))
        event = DiscoveryEvent(
            kind="joined" if message.kind == "hello" else "left", address=source,
            endpoint=message.endpoint, message_id=message.message_id, xaddrs=xaddrs,
            scopes=scopes, types=types, metadata_version=message.metadata_version,
            app_sequence=message.app_sequence, received_at=time.time())
        if self._queue.qsize() >= self._max_queue:
            self.stats.overflow += 1
            return
        self._queue.put_nowait(event)

    def _seen(self, message: wsd.Announcement) -> bool:
        # SOAP-over-UDP retransmits a message with its MessageID unchanged.
        if message.message_id in self._recent_ids:
            self.stats.duplicates += 1
            return True
        self._recent_ids[message.message_id] = None
        if len(self._recent_ids) > 4096:
            self._recent_ids.popitem(last=False)
        return False

    def _remember(self, endpoint: str, value: tuple[tuple[int, int] | None, tuple[str, ...],
                                                    tuple[str, ...], tuple[str, ...]]) -> None:
        self._known[endpoint] = value
        self._known.move_to_end(endpoint)
        if len(self._known) > self._max_endpoints:  # bounded: endpoints are attacker-chosen
            self._known.popitem(last=False)
