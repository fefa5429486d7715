"""What every Probe needs: which Types it carries, when it is repeated, how replies are counted.

The timing rests on WS-Discovery 2005 + SOAP-over-UDP (see :mod:`devmgr.discovery.wsd`).
"""

from __future__ import annotations

import asyncio
import ipaddress
import random
from collections.abc import Iterable
from typing import Literal, Protocol

from camfleet.printable import printable
from camfleet.protocols import wsdiscovery as wsd
from devmgr.inventory.model import UnreadableReply, WsdEndpoint

#: WS-Discovery APP_MAX_DELAY: a target waits a random 0..500 ms before answering a multicast Probe.
APP_MAX_DELAY_S = 0.5
#: SOAP-over-UDP Appendix I retransmission constants (milliseconds in the spec).
UDP_MIN_DELAY_S = 0.050
UDP_MAX_DELAY_S = 0.250
UDP_UPPER_DELAY_S = 0.500
#: Unreadable replies kept per probe (the rest are only counted in ``invalid``).
MAX_UNREADABLE = 32
#: Characters of an unreadable reply's reason kept (it quotes the device's bytes).
UNREADABLE_REASON_CHARS = 200

#: Which Types a Probe carries. "both": one Probe for dn:NetworkVideoTransmitter and one for
#: tds:Device (some devices answer only one of them); "none": one Probe with Types omitted,
#: which matches any target (WS-Discovery 2005 Probe; DISCOVERY-1-1-4).
ProbeTypes = Literal["both", "nvt", "device", "none"]
TYPE_SETS: dict[str, tuple[tuple[wsd.QName, ...], ...]] = {
    "both": ((wsd.TYPE_NVT,), (wsd.TYPE_DEVICE,)),
    "nvt": ((wsd.TYPE_NVT,),),
    "device": ((wsd.TYPE_DEVICE,),),
    "none": ((),),
}


class ReplyCounters(Protocol):
    """The statistics every kind of probe keeps about the datagrams it receives."""

    datagrams_received: int
    faults: int
    invalid: int
    #: The first :data:`MAX_UNREADABLE` invalid replies: sender and (bounded) reason.
    unreadable: list[UnreadableReply]


def endpoint_of(match: wsd.ProbeMatch, address: str) -> WsdEndpoint:
    return WsdEndpoint(address=address, endpoint=match.endpoint, xaddrs=match.xaddrs,
                       scopes=match.scopes, types=tuple(str(t) for t in match.types),
                       metadata_version=match.metadata_version,
                       nonconformities=match.nonconformities)


def unreadable_reply(address: str, exc: Exception) -> UnreadableReply:
    """The record of a reply that could not be read; the reason bounded, then escaped."""
    reason = str(exc)
    if len(reason) > UNREADABLE_REASON_CHARS:
        reason = f"{reason[:UNREADABLE_REASON_CHARS]}... ({len(reason)} chars)"
    return UnreadableReply(address=address, reason=printable(reason))


def sorted_by_address(endpoints: Iterable[WsdEndpoint]) -> list[WsdEndpoint]:
    return sorted(endpoints, key=lambda e: (int(ipaddress.ip_address(e.address)), e.endpoint))


def retransmit_delays(repeat: int, rng: random.Random) -> list[float]:
    """Offsets after the first send (SOAP-over-UDP Appendix I): T, then doubling, capped."""
    delays, offset = [], 0.0
    step = rng.uniform(UDP_MIN_DELAY_S, UDP_MAX_DELAY_S)
    for _ in range(repeat):
        offset += step
        delays.append(offset)
        step = min(2 * step, UDP_UPPER_DELAY_S)
    return delays



class Replies:
    """Matches ProbeMatches to our MessageIDs; first reply per endpoint wins."""

    def __init__(self, loop: asyncio.AbstractEventLoop, stats: ReplyCounters) -> None:
        self._loop = loop
        self._stats = stats
        self.found: dict[str, WsdEndpoint] = {}
        self.last_new = loop.time()

    def parse(self, data: bytes, source: str) -> list[wsd.ProbeMatch]:
        """The matches in a reply; what real firmware gets wrong is accepted and named in each
        match's ``nonconformities``, what cannot be read is kept (bounded) in ``unreadable``."""
        self._stats.datagrams_received += 1
        try:
            return wsd.parse_probe_matches(data, lenient=True)
        except wsd.FaultReceived:
            self._stats.faults += 1
        except wsd.InvalidMessage as exc:  # the codec caps size, refuses DTDs and entities
            self._stats.invalid += 1
            if len(self._stats.unreadable) < MAX_UNREADABLE:
                self._stats.unreadable.append(unreadable_reply(source, exc))
        return []

    def add(self, match: wsd.ProbeMatch, source: str) -> bool:
        """Record a match; True if its endpoint is new."""
        if match.endpoint in self.found:
            return False
        self.found[match.endpoint] = endpoint_of(match, source)
        self.last_new = self._loop.time()
        return True
