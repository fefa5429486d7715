"""ARP sweep of a /24 against WS-Discovery and SNMP on the same netns fleet (root).

    sudo python bench/arp_sweep.py                 # 30 cameras, every 5th with discovery
    sudo python bench/arp_sweep.py --count 60 --runs 3   # and SNMP turned off

Starts a netns fleet (each camera in its own namespace on a bridge, a real L2 segment) in
which every ``--quiet-every``-th camera has WS-Discovery and SNMP turned off, then per run:
``devmgr.layer2.arp_sweep`` of the /24 the cameras are in, and the named alternative,
``devmgr.discovery.discover`` (multicast and unicast WS-Discovery plus an SNMP sweep with
every community of the fleet) over the same /24. Prints medians of wall time and how many
cameras each found, and how many of the quiet ones.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import statistics
import subprocess
import time

from devmgr.discovery.run import DiscoveryOptions, discover
from devmgr.layer2 import arp_sweep
from devmgr.snmp import SnmpConfig
from simulators.fleet.fleet import Fleet
from simulators.fleet.generate import FleetMember, generate_fleet


def interface_with(address: str) -> str:
    listed = subprocess.run(["ip", "-o", "-4", "addr", "show"], capture_output=True, text=True,
                            check=True).stdout
    for line in listed.splitlines():
        fields = line.split()
        if fields[3].split("/")[0] == address:
            return fields[1]
    raise SystemExit(f"no interface carries {address}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=30)
    parser.add_argument("--quiet-every", type=int, default=5)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    specs = generate_fleet(args.count, seed=43)
    quiet = {s.id for i, s in enumerate(specs) if i % args.quiet_every == args.quiet_every - 1}
    members = [FleetMember(s.model_copy(update={"snmp": s.snmp.model_copy(
        update={"enabled": False})}) if s.id in quiet else s) for s in specs]
    with Fleet(members, backend="netns") as fleet:
        for camera_id in quiet:
            fleet.add_fault(camera_id, "non_discoverable")
        manifest = fleet.manifest()
        assert manifest.fleet is not None
        manager = manifest.fleet.manager_address
        cidr = str(ipaddress.IPv4Network(f"{manager}/24", strict=False))
        interface = interface_with(manager)
        by_address = {t.address: t.id for t in manifest.targets}
        communities = tuple(sorted({t.snmp.community for t in manifest.targets
                                    if t.snmp and t.snmp.community}))
        options = DiscoveryOptions(interfaces=(manager,), cidrs=(cidr,), wait_s=2.0,
                                   snmp=SnmpConfig(communities=communities, timeout_s=1.0,
                                                   retries=0))
        arp_s, arp_found, wsd_s, wsd_found = [], [], [], []
        for _ in range(args.runs):
            began = time.perf_counter()
            swept = asyncio.run(arp_sweep(interface, cidr, timeout_s=1.0, source=manager))
            arp_s.append(time.perf_counter() - began)
            if swept.error:
                raise SystemExit(swept.error)
            arp_found.append({by_address[h.address] for h in swept.hosts
                              if h.address in by_address})
            began = time.perf_counter()
            report = asyncio.run(discover(options))
            wsd_s.append(time.perf_counter() - began)
            wsd_found.append({by_address[a] for d in report.devices for a in d.addresses
                              if a in by_address})
        arp_med, wsd_med = statistics.median(arp_s), statistics.median(wsd_s)
        print(f"netns fleet, {args.count} cameras ({len(quiet)} with WS-Discovery and SNMP "
              f"off), sweeping {cidr}, median of {args.runs}:")
        print(f"  ARP sweep:                {arp_med:6.2f} s, found {len(arp_found[-1])}, "
              f"quiet ones {len(arp_found[-1] & quiet)}/{len(quiet)}")
        print(f"  WS-Discovery + SNMP sweep: {wsd_med:6.2f} s, found {len(wsd_found[-1])}, "
              f"quiet ones {len(wsd_found[-1] & quiet)}/{len(quiet)}")
        print(f"  ratio ARP / (WS-Discovery + SNMP): {arp_med / wsd_med:.2f}")


if __name__ == "__main__":
    main()
