"""SNMP sweep of a loopback fleet: devmgr.snmp against net-snmp's snmpget, same run.

    python bench/snmp_sweep.py --count 1000              # ~2-3 minutes
    python bench/snmp_sweep.py --count 200 --runs 1      # quick look

Starts a generated loopback fleet in which every camera also has one site-wide SNMPv3
monitoring user (what a real site configures; generated fleets have per-camera keys), then
sweeps the smallest CIDR covering the fleet (silent addresses included) in two modes:

* ``v2c``: the fleet's two communities, nothing else;
* ``v3``: the shared v3 user first (it works), communities as fall-back.

and for each mode measures, as medians of ``--runs`` runs:

* wall time, hosts/s (probed addresses per second), cameras found (and whether each has the
  serial and MAC the manifest says);
* client CPU per probed address: ``time.process_time`` delta / addresses (for snmpget, our
  own CPU plus the CPU of every child process, from ``getrusage(RUSAGE_CHILDREN)``);
* agent CPU per probed address: the fleet's worker processes (utime + stime from /proc).

The named alternative: net-snmp's ``snmpget`` run once per address with the same concurrency
(a bounded asyncio subprocess pool), the same timeout and retries, the same OIDs; in v2c
mode it tries the communities one after the other, as a script around snmpget would. Its
ratio to devmgr.snmp is printed per mode. With ``--hosts-per-engine`` several v3 engine
sizes are measured in v3 mode (one engine for the whole sweep is ``--hosts-per-engine
100000``).
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import os
import resource
import shutil
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from camfleet.targets import SnmpV3Credentials, TargetsFile
from devmgr.inventory.model import SnmpIdentity
from devmgr.snmp import IDENTITY_OIDS, SnmpConfig, SnmpSession, snmp_sweep
from simulators.fleet.fleet import Fleet
from simulators.fleet.generate import FleetMember, generate_fleet
from simulators.spec import SnmpV3User

SITE_USER = SnmpV3User(name="monitor", auth_protocol="SHA", auth_key="site-auth-2024",
                       priv_protocol="AES", priv_key="site-priv-2024")


def free_udp_port() -> int:
    import socket  # noqa: PLC0415

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def site_fleet(count: int, seed: int) -> Fleet:
    members = []
    for spec in generate_fleet(count, seed):
        snmp = spec.snmp.model_copy(update={"v3_users": (SITE_USER, *spec.snmp.v3_users)})
        members.append(FleetMember(spec.model_copy(update={"snmp": snmp})))
    return Fleet(members, discovery_port=free_udp_port())


def covering_cidr(addresses: list[str]) -> str:
    """The smallest single network that holds every address."""
    first = min(ipaddress.ip_address(a) for a in addresses)
    last = max(ipaddress.ip_address(a) for a in addresses)
    for prefix in range(32, -1, -1):
        network = ipaddress.ip_network(f"{first}/{prefix}", strict=False)
        if last in network and first != network.network_address \
                and last != network.broadcast_address:
            return str(network)
    raise ValueError("no covering network")


def worker_cpu_s(pids: list[int]) -> float:
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / ticks


def children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Run:
    wall_s: float
    client_cpu_s: float
    agent_cpu_s: float
    found: int
    correct: int
    probed: int
    #: Cameras identified over v3 (the rest fell back to v2c, or had no choice).
    via_v3: int


async def measure(fleet: Fleet, manifest: TargetsFile,
                  sweep: Callable[[], Awaitable[tuple[int, list[SnmpIdentity]]]]) -> Run:
    truth = {t.address: (t.serial, t.mac) for t in manifest.targets}
    pids = fleet.worker_pids()
    agent0, cpu0, children0 = worker_cpu_s(pids), time.process_time(), children_cpu_s()
    began = time.perf_counter()
    probed, identities = await sweep()
    wall = time.perf_counter() - began
    client = time.process_time() - cpu0 + children_cpu_s() - children0
    agent = worker_cpu_s(pids) - agent0
    correct = sum(1 for i in identities if truth.get(i.address) == (i.serial, i.mac))
    via_v3 = sum(1 for i in identities if i.access.startswith("v3:"))
    return Run(wall, client, agent, len(identities), correct, probed, via_v3)


# -- the alternative: one snmpget per address ---------------------------------------------------

NETSNMP_ENV = {**os.environ, "MIBS": "", "MIBDIRS": "/nonexistent"}


async def snmpget(address: str, args: list[str], timeout_s: float,
                  retries: int) -> list[str] | None:
    process = await asyncio.create_subprocess_exec(
        "snmpget", *args, "-t", f"{timeout_s:g}", "-r", str(retries), "-Oqv", "-On",
        f"{address}:161", *IDENTITY_OIDS[:9],
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL, env=NETSNMP_ENV)
    out, _ = await process.communicate()
    return out.decode("utf-8", "replace").splitlines() if process.returncode == 0 else None


def netsnmp_identity(address: str, values: list[str], access: str) -> SnmpIdentity:
    # Values in IDENTITY_OIDS order: descr, objectID, uptime, contact, name, location, MAC,
    # serial, model. The MAC prints as hex octets ("C0 56 E3 F2 CE 21").
    mac = ":".join(values[6].strip('" ').lower().split()) or None
    return SnmpIdentity(address=address, sys_name=values[4].strip('"'), mac=mac,
                        serial=values[7].strip('"'), model=values[8].strip('"'), access=access)


async def netsnmp_sweep(addresses: list[str], attempts: list[list[str]], concurrency: int,
                        timeout_s: float, retries: int) -> tuple[int, list[SnmpIdentity]]:
    slots = asyncio.Semaphore(concurrency)
    found: list[SnmpIdentity] = []

    async def one(address: str) -> None:
        async with slots:
            for args in attempts:
                values = await snmpget(address, args, timeout_s, retries)
                if values is not None and len(values) == 9:
                    found.append(netsnmp_identity(address, values, f"{args[0][1:]}:"))
                    return

    await asyncio.gather(*(one(a) for a in addresses))
    return len(addresses), found


# -- main ---------------------------------------------------------------------------------------

def summary(label: str, runs: list[Run]) -> dict[str, float]:
    wall = statistics.median(r.wall_s for r in runs)
    probed = runs[0].probed
    row = {
        "wall_s": wall,
        "hosts_per_s": probed / wall,
        "client_ms": 1000 * statistics.median(r.client_cpu_s for r in runs) / probed,
        "agent_ms": 1000 * statistics.median(r.agent_cpu_s for r in runs) / probed,
        "found": statistics.median(r.found for r in runs),
        "correct": statistics.median(r.correct for r in runs),
        "via_v3": statistics.median(r.via_v3 for r in runs),
    }
    walls = sorted(r.wall_s for r in runs)
    print(f"  {label:<34} wall {row['wall_s']:6.2f} s ({walls[0]:.2f}-{walls[-1]:.2f})  "
          f"{row['hosts_per_s']:6.1f} hosts/s  client {row['client_ms']:5.2f} ms/host  "
          f"agents {row['agent_ms']:4.2f} ms/host  found {row['found']:.0f} "
          f"(correct {row['correct']:.0f}, via v3 {row['via_v3']:.0f})", flush=True)
    return row


async def bench(args: argparse.Namespace, fleet: Fleet) -> None:
    manifest = fleet.manifest()
    addresses = [t.address for t in manifest.targets]
    cidr = covering_cidr(addresses)
    hosts = [str(h) for h in ipaddress.ip_network(cidr).hosts()]
    communities = tuple(sorted({t.snmp.community for t in manifest.targets
                                if t.snmp and t.snmp.community}))
    v3 = SnmpV3Credentials(user=SITE_USER.name, auth_protocol="SHA",
                           auth_key=SITE_USER.auth_key, priv_protocol="AES",
                           priv_key=SITE_USER.priv_key)
    print(f"fleet of {len(addresses)} cameras started in {fleet.start_seconds:.1f} s; sweeping "
          f"{cidr} ({len(hosts)} addresses, {len(hosts) - len(addresses)} silent), "
          f"concurrency {args.concurrency}, timeout {args.timeout:g} s, retries "
          f"{args.retries}, {args.runs} run(s), medians", flush=True)
    modes = {
        "v2c": (SnmpConfig(communities=communities, timeout_s=args.timeout,
                           retries=args.retries, concurrency=args.concurrency),
                [["-v2c", "-c", c] for c in communities]),
        "v3": (SnmpConfig(communities=communities, v3_users=(v3,), timeout_s=args.timeout,
                          retries=args.retries, concurrency=args.concurrency),
               [["-v3", "-l", "authPriv", "-u", SITE_USER.name, "-a", "SHA", "-A",
                 SITE_USER.auth_key, "-x", "AES", "-X", SITE_USER.priv_key]]),
    }
    have_netsnmp = shutil.which("snmpget") is not None
    for mode in args.modes:
        config, netsnmp_attempts = modes[mode]
        print(f"{mode}:", flush=True)
        sizes = args.hosts_per_engine if mode == "v3" else args.hosts_per_engine[:1]
        ours: dict[str, float] = {}
        for size in sizes:
            runs = []
            for _ in range(args.runs):
                async def sweep(size: int = size, config: SnmpConfig = config
                                ) -> tuple[int, list[SnmpIdentity]]:
                    async with SnmpSession(concurrency=config.concurrency,
                                           hosts_per_engine=size) as session:
                        result = await snmp_sweep([cidr], config, session=session)
                    return result.probed, list(result.identities)

                runs.append(await measure(fleet, manifest, sweep))
            label = "devmgr.snmp" + (f" ({size} hosts/engine)" if mode == "v3" else "")
            row = summary(label, runs)
            if size == sizes[0]:
                ours = row
        if not have_netsnmp:
            print("  snmpget: not installed (Debian package 'snmp'); no comparison")
            continue
        runs = []
        for _ in range(args.runs):
            async def alternative(attempts: list[list[str]] = netsnmp_attempts
                                  ) -> tuple[int, list[SnmpIdentity]]:
                return await netsnmp_sweep(hosts, attempts, args.concurrency, args.timeout,
                                           args.retries)

            runs.append(await measure(fleet, manifest, alternative))
        theirs = summary("snmpget per host (same pool)", runs)
        print(f"  ratio snmpget / devmgr.snmp: wall {theirs['wall_s'] / ours['wall_s']:.2f}x, "
              f"client CPU {theirs['client_ms'] / ours['client_ms']:.2f}x", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--concurrency", type=int, default=128)
    parser.add_argument("--timeout", type=float, default=1.0)
    parser.add_argument("--retries", type=int, default=0)
    parser.add_argument("--modes", nargs="+", choices=("v2c", "v3"), default=["v2c", "v3"])
    parser.add_argument("--hosts-per-engine", type=int, nargs="+", default=[64],
                        help="v3 engine sizes to measure; the first is compared with snmpget")
    args = parser.parse_args()
    with site_fleet(args.count, args.seed) as fleet:
        asyncio.run(bench(args, fleet))


if __name__ == "__main__":
    main()
