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

from devmgr.discovery.merge import merge_devices
from devmgr.discovery.wsd import probe_multicast, probe_unicast
from devmgr.inventory.model import DiscoveredDevice, Route, WsdEndpoint
from devmgr.snmp import SnmpConfig, SweepResult, snmp_sweep


@dataclass(frozen=True)
class DiscoveryOptions:
    #: Local interfaces (names or IPv4 addresses) for multicast; empty: no multicast.
    interfaces: Sequence[str] = ("lo",)
    #: Ranges for the unicast WS-Discovery and SNMP sweeps; empty: no sweeps.
    cidrs: Sequence[str] = ()
    port: int = 3702
    #: How long multicast listens for ProbeMatches, seconds.
    wait_s: float = 2.0
    #: Per-host answer timeout of the unicast sweeps, seconds.
    timeout_s: float = 1.0
    #: SNMP credentials to try; ``None``: no SNMP sweep.
    snmp: SnmpConfig | None = None
    unicast: bool = True


@dataclass
class DiscoveryReport:
    devices: list[DiscoveredDevice]
    multicast: list[WsdEndpoint] = field(default_factory=list)
    unicast: list[WsdEndpoint] = field(default_factory=list)
    snmp: SweepResult | None = None
    elapsed_s: float = 0.0


async def discover(options: DiscoveryOptions,
                   progress: Callable[[str], None] | None = None) -> DiscoveryReport:
    began = time.monotonic()

    async def multicast() -> list[WsdEndpoint]:
        if not options.interfaces:
            return []
        found = await probe_multicast(options.interfaces, port=options.port,
                                      wait_s=options.wait_s)
        if progress:
            progress(f"multicast: {len(found)} answered")
        return found

    async def unicast() -> list[WsdEndpoint]:
        if not (options.cidrs and options.unicast):
            return []
        found = await probe_unicast(options.cidrs, port=options.port,
                                    timeout_s=options.timeout_s)
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

    found_multicast, found_unicast, found_snmp = await asyncio.gather(
        multicast(), unicast(), snmp())
    wsd: list[tuple[Route, WsdEndpoint]] = [
        *((Route.WSD_MULTICAST, e) for e in found_multicast),
        *((Route.WSD_UNICAST, e) for e in found_unicast)]
    devices = merge_devices(wsd, list(found_snmp.identities) if found_snmp else [])
    return DiscoveryReport(devices=devices, multicast=found_multicast, unicast=found_unicast,
                           snmp=found_snmp, elapsed_s=time.monotonic() - began)
