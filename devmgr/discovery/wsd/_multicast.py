"""Multicast Probe on each interface; listening stops once everyone who could answer has."""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from camfleet.protocols import wsdiscovery as wsd
from devmgr.discovery.wsd._replies import (
    APP_MAX_DELAY_S,
    TYPE_SETS,
    ProbeTypes,
    Replies,
    retransmit_delays,
    sorted_by_address,
)
from devmgr.discovery.wsd._sockets import (
    DEFAULT_RCVBUF,
    Datagrams,
    close_endpoints,
    kernel_drops,
    multicast_sender,
    open_endpoint,
    queued,
    resolve_all,
)
from devmgr.inventory.model import UnreadableReply, WsdEndpoint

#: Turns of the loop given, after the deadline, to replies already queued in the kernel.
_DRAIN_MAX = 10_000


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
    #: The first invalid replies, with sender and reason (``_replies.MAX_UNREADABLE``).
    unreadable: list[UnreadableReply] = field(default_factory=list)
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
    if types not in TYPE_SETS:
        raise ValueError(f"types must be one of {', '.join(TYPE_SETS)}, got {types!r}")
    stats = stats if stats is not None else ProbeStats()
    addresses = resolve_all(interfaces)
    probes = [wsd.build_probe(type_set, scopes) for type_set in TYPE_SETS[types]]
    ours = {message_id for message_id, _ in probes}
    loop = asyncio.get_running_loop()
    replies = Replies(loop, stats)
    done = asyncio.Event()

    def on_datagram(data: bytes, source: str) -> None:
        for match in replies.parse(data, source):
            if match.relates_to not in ours:
                stats.unrelated += 1
                continue
            stats.matches += 1
            if not replies.add(match, source):
                stats.duplicates += 1
            elif expect is not None and len(replies.found) >= expect:
                done.set()

    opened: list[tuple[asyncio.DatagramTransport, Datagrams]] = []
    sockets: list[socket.socket] = []
    began: float | None = None
    try:
        for address in addresses:
            sock, stats.rcvbuf_bytes[address] = multicast_sender(address, rcvbuf)
            sockets.append(sock)
            opened.append(await open_endpoint(sock, on_datagram))

        def send_all() -> None:
            for transport, _ in opened:
                for _, datagram in probes:
                    transport.sendto(datagram, (wsd.MULTICAST_GROUP, port))
                    stats.datagrams_sent += 1

        began = replies.last_new = loop.time()
        send_all()
        stats.stopped_by = await _listen(
            send_all, [began + d for d in retransmit_delays(repeat, rng or random.Random())],
            replies, done, deadline=began + wait_s, quiet_s=quiet_s, max_delay_s=max_delay_s,
            pending=lambda: queued(sockets))
    finally:
        drops = [d for d in map(kernel_drops, sockets) if d is not None]
        stats.kernel_drops = sum(drops) if drops else None
        await close_endpoints(opened)
        if began is not None:
            stats.elapsed_s = loop.time() - began
            if replies.found:
                stats.time_to_last_new_s = replies.last_new - began
    return sorted_by_address(replies.found.values())


async def _listen(send_all: Callable[[], None], retransmits: list[float], replies: Replies,
                  done: asyncio.Event, *, deadline: float, quiet_s: float | None,
                  max_delay_s: float, pending: Callable[[], bool]) -> str:
    """Retransmit on schedule and wait for replies; return why listening stopped.

    Neither the deadline nor a quiet spell ends listening while replies wait unread in the
    kernel's queue (``pending``): they arrived in time, a busy loop only read them late. The
    drain after the deadline is bounded, so a flood cannot keep it open.
    """
    loop = asyncio.get_running_loop()
    # Replies to the last copy may come up to max_delay_s after it; only after that does a
    # quiet spell mean "everyone who heard a copy has answered".
    window_end = (retransmits[-1] if retransmits else loop.time()) + max_delay_s
    drain_left = _DRAIN_MAX
    while True:
        now = loop.time()
        if done.is_set():
            return "expect"
        if now >= deadline:
            if drain_left > 0 and pending():
                drain_left -= 1
                await asyncio.sleep(0)  # the transport reads one datagram per turn
                continue
            return "wait"
        while retransmits and retransmits[0] <= now:
            retransmits.pop(0)
            send_all()
        if (quiet_s is not None and now >= window_end and now - replies.last_new >= quiet_s
                and not pending()):
            return "quiet"
        wake = [deadline]
        if retransmits:
            wake.append(retransmits[0])
        elif quiet_s is not None:
            wake.append(max(window_end, replies.last_new + quiet_s))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), max(0.0, min(wake) - loop.time()))
