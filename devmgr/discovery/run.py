"""One discovery run: every route a network allows, merged into one device per unit.

    report = await discover(DiscoveryOptions(interfaces=["lo"], cidrs=["127.42.0.0/24"],
                                             snmp=SnmpConfig(communities=("public",))))
    for device in report.devices: ...

Routes: WS-Discovery multicast on the chosen interfaces, unicast WS-Discovery Probes to every
host of the CIDRs (how discovery crosses VLANs), and an SNMP sweep of the same CIDRs. They run
concurrently; ``merge_devices`` folds what they found into physical units.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from camfleet.protocols import wsdiscovery as wsd
from devmgr.discovery.merge import merge_devices
from devmgr.discovery.wsd import ProbeStats, SweepStats, probe_multicast, probe_unicast
from devmgr.discovery.wsd._replies import MAX_UNREADABLE
from devmgr.inventory.model import DiscoveredDevice, Route, UnreadableReply, WsdEndpoint
from devmgr.layer2 import ArpSweep, arp_sweep
from devmgr.snmp import SnmpConfig, SweepResult, snmp_sweep


@dataclass(frozen=True)
class DiscoveryOptions:
    #: Local interfaces (names or IPv4 addresses) for multicast; empty: no multicast.
    interfaces: Sequence[str] = ("lo",)
    #: Ranges for the unicast WS-Discovery and SNMP sweeps; empty: no sweeps.
    cidrs: Sequence[str] = ()
    port: int = wsd.PORT
    #: How long multicast listens for ProbeMatches, seconds.
    wait_s: float = 2.0
    #: A silence this long, once every reply window has passed, ends multicast listening
    #: before ``wait_s``; ``None``: always listen the whole ``wait_s``.
    quiet_s: float | None = 0.2
    #: Per-host answer timeout of the unicast sweeps, seconds.
    timeout_s: float = 1.0
    #: SNMP credentials to try; ``None``: no SNMP sweep.
    snmp: SnmpConfig | None = None
    unicast: bool = True
    #: Interface to ARP-sweep ``cidrs`` on (devmgr.layer2; root or CAP_NET_RAW); None: no
    #: ARP route. Finds units whose WS-Discovery and SNMP are off.
    arp_interface: str | None = None


@dataclass
class DiscoveryReport:
    devices: list[DiscoveredDevice]
    multicast: list[WsdEndpoint] = field(default_factory=list)
    unicast: list[WsdEndpoint] = field(default_factory=list)
    snmp: SweepResult | None = None
    elapsed_s: float = 0.0
    #: The ARP sweeps (one per CIDR), each with its own error if it could not run.
    arp: list[ArpSweep] = field(default_factory=list)
    #: WS-Discovery replies that arrived but could not be read (multicast, then unicast; at
    #: most ``MAX_UNREADABLE``), instead of being dropped silently.
    unreadable: list[UnreadableReply] = field(default_factory=list)


async def discover(options: DiscoveryOptions,
                   progress: Callable[[str], None] | None = None) -> DiscoveryReport:
    began = time.monotonic()
    multicast_stats, unicast_stats = ProbeStats(), SweepStats()

    async def multicast() -> list[WsdEndpoint]:
        if not options.interfaces:
            return []
        found = await probe_multicast(options.interfaces, port=options.port,
                                      wait_s=options.wait_s, quiet_s=options.quiet_s,
                                      stats=multicast_stats)
        if progress:
            progress(f"multicast: {len(found)} answered")
        return found

    async def unicast() -> list[WsdEndpoint]:
        if not (options.cidrs and options.unicast):
            return []
        found = await probe_unicast(options.cidrs, port=options.port,
                                    timeout_s=options.timeout_s, stats=unicast_stats)
        if progress:
            progress(f"unicast sweep: {len(found)} answered")
        return found

    async def snmp() -> SweepResult | None:
        if not (options.cidrs and options.snmp):
            return None
        result = await snmp_sweep(options.cidrs, options.snmp)
        if progress:
            progress(f"SNMP sweep: {len(result.identities)} identified")
        return result

    async def arp() -> list[ArpSweep]:
        if not (options.cidrs and options.arp_interface):
            return []
        sweeps = [await arp_sweep(options.arp_interface, cidr, timeout_s=options.timeout_s)
                  for cidr in options.cidrs]
        if progress:
            progress(f"ARP sweep: {sum(len(s.hosts) for s in sweeps)} answered"
                     + "".join(f"; {s.network}: {s.error}" for s in sweeps if s.error))
        return sweeps

    found_multicast, found_unicast, found_snmp, found_arp = await asyncio.gather(
        multicast(), unicast(), snmp(), arp())
    wsd: list[tuple[Route, WsdEndpoint]] = [
        *((Route.WSD_MULTICAST, e) for e in found_multicast),
        *((Route.WSD_UNICAST, e) for e in found_unicast)]
    devices = merge_devices(wsd, list(found_snmp.identities) if found_snmp else [],
                            [(h.address, h.mac) for s in found_arp for h in s.hosts])
    return DiscoveryReport(devices=devices, multicast=found_multicast, unicast=found_unicast,
                           snmp=found_snmp, elapsed_s=time.monotonic() - began,
                           arp=found_arp,
                           unreadable=[*multicast_stats.unreadable,
                                       *unicast_stats.unreadable][:MAX_UNREADABLE])
