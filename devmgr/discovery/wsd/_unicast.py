"""Unicast sweep: a Probe to every host of some CIDRs, paced, each matched by its MessageID.

This is how ONVIF discovery crosses VLANs and routers, which multicast with TTL 1 does not
(ONVIF Core allows a unicast Probe to a device's port; DISCOVERY-1-1-6).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import ipaddress
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from camfleet.protocols import wsdiscovery as wsd
from devmgr.discovery.wsd._replies import (
    TYPE_SETS,
    ProbeTypes,
    Replies,
    retransmit_delays,
    sorted_by_address,
)
from devmgr.discovery.wsd._sockets import (
    DEFAULT_RCVBUF,
    close_endpoints,
    kernel_drops,
    open_endpoint,
    queued,
    unicast_sender,
)
from devmgr.inventory.model import UnreadableReply, WsdEndpoint

#: A sweep larger than this (a /16) is refused unless forced: it is a scan, not a discovery.
MAX_SWEEP_HOSTS = 65536


class TooManyHosts(ValueError):
    """A unicast sweep over more than :data:`MAX_SWEEP_HOSTS` addresses without ``force``."""


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
    #: The first invalid replies, with sender and reason (``_replies.MAX_UNREADABLE``).
    unreadable: list[UnreadableReply] = field(default_factory=list)
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


#: Loop turns given in a row to replies queued in the kernel before timers are judged.
_DRAIN_MAX = 10_000


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
        self.replies = Replies(self.loop, stats)
        # Building a Probe with lxml costs ~50 µs, seconds for a /16. The codec builds one
        # template per type set; each host's copy differs only in its urn:uuid MessageID, of
        # fixed length, which is swapped into the bytes.
        self.templates = [wsd.build_probe(type_set) for type_set in TYPE_SETS[types]]
        self.hosts: list[_Host] = []
        self.by_id: dict[str, int] = {}
        self.timers: list[tuple[float, int]] = []  # (when, host index)
        self.outstanding = 0
        self.next_host = 0
        self.wake = asyncio.Event()
        self.transport: asyncio.DatagramTransport | None = None

    def on_datagram(self, data: bytes, source: str) -> None:
        for match in self.replies.parse(data, source):
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
                     retransmits=[now + d for d in retransmit_delays(self.repeat, self.rng)
                                  if d < self.timeout_s])
        self.hosts.append(host)
        self.next_host += 1
        for message_id in ids:
            self.by_id[message_id] = index
        self._send(host)
        heapq.heappush(self.timers, (host.next_timer(), index))
        self.outstanding += 1
        return len(datagrams)

    async def run(self, transport: asyncio.DatagramTransport,
                  pending: Callable[[], bool]) -> None:
        """Sweep until every host answered or timed out.

        Replies waiting unread in the kernel's queue (``pending``) are read before any
        timeout is judged: they came in time, a busy loop only got to them late.
        """
        self.transport = transport
        send_at = self.loop.time()
        total = len(self.addresses)
        drains = 0
        while self.next_host < total or self.outstanding:
            if drains < _DRAIN_MAX and pending():
                drains += 1
                await asyncio.sleep(0)  # the transport reads one datagram per turn
                continue
            drains = 0
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
    if types not in TYPE_SETS:
        raise ValueError(f"types must be one of {', '.join(TYPE_SETS)}, got {types!r}")
    stats = stats if stats is not None else SweepStats()
    addresses = _hosts_of(cidrs, force)
    stats.hosts = len(addresses)
    sweep = _Sweep(addresses, port=port, types=types, concurrency=concurrency, rate=rate,
                   timeout_s=timeout_s, repeat=repeat, stats=stats,
                   rng=rng or random.Random())
    sock, stats.rcvbuf_bytes = unicast_sender(bind, rcvbuf)
    transport, protocol = await open_endpoint(sock, sweep.on_datagram)
    began = sweep.replies.last_new = sweep.loop.time()
    try:
        await sweep.run(transport, lambda: queued((sock,)))
    finally:
        stats.kernel_drops = kernel_drops(sock)
        stats.socket_errors = protocol.errors
        await close_endpoints([(transport, protocol)])
        stats.elapsed_s = sweep.loop.time() - began
        if sweep.replies.found:
            stats.time_to_last_new_s = sweep.replies.last_new - began
    return sorted_by_address(sweep.replies.found.values())
