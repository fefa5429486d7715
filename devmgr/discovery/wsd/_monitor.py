"""Passive monitor: Hello (a unit joined) and Bye (a unit left) as they are heard on the group."""

from __future__ import annotations

import asyncio
import socket
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Literal

from camfleet.protocols import wsdiscovery as wsd
from devmgr.discovery.wsd._replies import unreadable_reply
from devmgr.discovery.wsd._sockets import (
    DEFAULT_RCVBUF,
    Datagrams,
    close_endpoints,
    joined_group_socket,
    kernel_drops,
    open_endpoint,
    resolve_all,
)
from devmgr.inventory.model import WsdEndpoint

#: An unreadable datagram from one sender is reported at most once per this many seconds
#: (the rest are counted): a broken or hostile device must not flood the terminal.
UNREADABLE_EVERY_S = 60.0


@dataclass(frozen=True, slots=True)
class DiscoveryEvent:
    """A unit joined (Hello) or left (Bye), as heard on the group; or (only when the monitor
    reports them) a datagram from ``address`` that could not be read (``reason``)."""

    kind: Literal["joined", "left", "unreadable"]
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
    #: Why an unreadable datagram could not be read (bounded, printable).
    reason: str = ""

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

    One consumer per monitor (events go through one queue). With ``report_unreadable``, a
    datagram that is neither a readable Hello/Bye nor a Probe is an ``unreadable`` event too
    (at most one per sender every ``UNREADABLE_EVERY_S``; all are counted in
    ``stats.invalid``): a camera whose announcements nobody can read is a camera that joins
    unseen, and its engineer should hear of it. Repeated Hellos (the same endpoint
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
                 rcvbuf: int = DEFAULT_RCVBUF, report_unreadable: bool = False) -> None:
        self.interfaces = resolve_all(interfaces)
        self.port = port
        self.stats = MonitorStats()
        self.rcvbuf_bytes = 0
        self._max_queue = max_queue
        self._max_endpoints = max_endpoints
        self._rcvbuf = rcvbuf
        self._queue: asyncio.Queue[DiscoveryEvent | None] = asyncio.Queue()
        self._opened: tuple[asyncio.DatagramTransport, Datagrams] | None = None
        self._sock: socket.socket | None = None
        #: endpoint -> newest (instance_id, message_number), XAddrs, Scopes, Types.
        self._known: OrderedDict[str, tuple[tuple[int, int] | None, tuple[str, ...],
                                            tuple[str, ...], tuple[str, ...]]] = OrderedDict()
        self._recent_ids: OrderedDict[str, None] = OrderedDict()
        self._report_unreadable = report_unreadable
        #: sender -> when its last unreadable datagram was reported (bounded).
        self._unreadable_at: OrderedDict[str, float] = OrderedDict()

    @property
    def running(self) -> bool:
        return self._opened is not None

    @property
    def kernel_drops(self) -> int | None:
        return kernel_drops(self._sock) if self._sock is not None else None

    async def start(self) -> None:
        if self._opened is not None:
            raise RuntimeError("the discovery monitor is already running")
        sock, self.rcvbuf_bytes = joined_group_socket(self.interfaces, self.port, self._rcvbuf)
        self._opened = await open_endpoint(sock, self._on_datagram)
        self._sock = sock

    async def stop(self) -> None:
        """Leave the group; a consumer of :meth:`events` sees the end. Safe to call again."""
        opened, self._opened = self._opened, None
        if opened is not None:
            await close_endpoints([opened])
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
        except wsd.InvalidMessage as exc:
            try:
                wsd.parse_probe(data)
            except wsd.InvalidMessage:
                self.stats.invalid += 1
                self._unreadable(source, exc)
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
        self._put(DiscoveryEvent(
            kind="joined" if message.kind == "hello" else "left", address=source,
            endpoint=message.endpoint, message_id=message.message_id, xaddrs=xaddrs,
            scopes=scopes, types=types, metadata_version=message.metadata_version,
            app_sequence=message.app_sequence, received_at=time.time()))

    def _put(self, event: DiscoveryEvent) -> None:
        if self._queue.qsize() >= self._max_queue:
            self.stats.overflow += 1
            return
        self._queue.put_nowait(event)

    def _unreadable(self, source: str, exc: Exception) -> None:
        if not self._report_unreadable:
            return
        now = time.monotonic()
        last = self._unreadable_at.get(source)
        if last is not None and now - last < UNREADABLE_EVERY_S:
            return
        self._unreadable_at[source] = now
        self._unreadable_at.move_to_end(source)
        if len(self._unreadable_at) > self._max_endpoints:  # bounded: senders can be spoofed
            self._unreadable_at.popitem(last=False)
        self._put(DiscoveryEvent(kind="unreadable", address=source, endpoint="", message_id="",
                                 received_at=time.time(),
                                 reason=unreadable_reply(source, exc).reason))

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
