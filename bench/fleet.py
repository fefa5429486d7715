"""Fleet start time, memory and SOAP throughput, against private-transport cameras.

    python bench/fleet.py                       # 100, 500 and 1000 cameras (a few minutes)
    python bench/fleet.py --sizes 100 --runs 1  # quick look

For each size it starts a generated loopback fleet and measures:

* start: wall time of ``Fleet.start()`` (worker processes spawned, every camera listening on
  HTTP, SNMP and WS-Discovery);
* memory: RSS and PSS summed over the supervisor and its workers (PSS shares the pages the
  processes have in common fairly; RSS counts them once per process);
* throughput: GetDeviceInformation requests per second, each with a fresh WS-Security
  UsernameToken digest, spread over every camera by a client in this process (aiohttp, 64 in
  flight), for ``--duration`` seconds.

The named alternative, measured in the same run at ``--alternative-size`` cameras: the same
cameras with private transports (an aiohttp server, a WS-Discovery multicast socket and an
SNMP engine per camera), which is what one ``SimulatedCamera`` per unit would cost. Medians of
``--runs`` runs; the machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from simulators.fleet.fleet import Fleet
from simulators.fleet.generate import FleetMember, generate_fleet

REQUEST = """<?xml version="1.0" encoding="UTF-8"?>
<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"
 xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
 xmlns:wsu="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd">
<s:Header><wsse:Security><wsse:UsernameToken><wsse:Username>{user}</wsse:Username>
<wsse:Password Type="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest">{digest}</wsse:Password>
<wsse:Nonce>{nonce}</wsse:Nonce><wsu:Created>{created}</wsu:Created></wsse:UsernameToken>
</wsse:Security></s:Header>
<s:Body><GetDeviceInformation xmlns="http://www.onvif.org/ver10/device/wsdl"/></s:Body>
</s:Envelope>"""


def envelope(user: str, password: str) -> bytes:
    nonce = os.urandom(16)
    created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    digest = base64.b64encode(hashlib.sha1(nonce + created.encode() + password.encode())
                              .digest()).decode()
    return REQUEST.format(user=user, digest=digest, nonce=base64.b64encode(nonce).decode(),
                          created=created).encode()


def memory_kib(pids: list[int]) -> tuple[int, int]:
    """(RSS, PSS) in KiB summed over ``pids``."""
    rss = pss = 0
    for pid in pids:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Rss:"):
                rss += int(line.split()[1])
            elif line.startswith("Pss:"):
                pss += int(line.split()[1])
    return rss, pss


async def throughput(targets: list[tuple[str, str, str]], seconds: float,
                     in_flight: int = 64) -> tuple[float, int]:
    """GetDeviceInformation requests/s over all targets; also the count of non-200 answers."""
    done = errors = 0
    deadline = time.monotonic() + seconds
    connector = aiohttp.TCPConnector(limit=in_flight, limit_per_host=4)
    headers = {"Content-Type": "application/soap+xml; charset=utf-8"}
    async with aiohttp.ClientSession(connector=connector) as session:
        async def worker(offset: int) -> None:
            nonlocal done, errors
            i = offset
            while time.monotonic() < deadline:
                url, user, password = targets[i % len(targets)]
                i += in_flight
                async with session.post(url, data=envelope(user, password),
                                        headers=headers) as reply:
                    await reply.read()
                    if reply.status == 200:
                        done += 1
                    else:
                        errors += 1

        began = time.monotonic()
        await asyncio.gather(*(worker(k) for k in range(in_flight)))
        elapsed = time.monotonic() - began
    return done / elapsed, errors


def measure(size: int, seconds: float, shared: bool) -> dict[str, float]:
    members = [FleetMember(spec) for spec in generate_fleet(size, seed=2026)]
    fleet = Fleet(members, discovery_port=random.randrange(40000, 60000),
                  share_transports=shared)
    began = time.monotonic()
    fleet.start(control_port=None)
    start_s = time.monotonic() - began
    try:
        targets = [(t.device_url, t.onvif.username, t.onvif_password() or "")
                   for t in fleet.manifest().targets]
        rate, errors = asyncio.run(throughput(targets, seconds))
        rss, pss = memory_kib([os.getpid(), *fleet.worker_pids()])
        served = fleet.stats()["requests_served"]
    finally:
        fleet.stop()
    if errors:
        print(f"  warning: {errors} requests were not answered with 200", file=sys.stderr)
    return {"start_s": start_s, "rss_mib": rss / 1024, "pss_mib": pss / 1024, "rps": rate,
            "served": served}


def median_of(runs: list[dict[str, float]]) -> dict[str, float]:
    return {key: statistics.median(r[key] for r in runs) for key in runs[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 500, 1000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--duration", type=float, default=5.0,
                        help="seconds of GetDeviceInformation load per run")
    parser.add_argument("--alternative-size", type=int, default=100)
    args = parser.parse_args()

    print(f"{'cameras':>8} {'transports':>10} {'start s':>8} {'RSS MiB':>8} {'PSS MiB':>8} "
          f"{'req/s':>7}  (median of {args.runs}, {os.cpu_count()} cores)")
    results = {}
    for size, shared in [(args.alternative_size, False)] + [(s, True) for s in args.sizes]:
        row = median_of([measure(size, args.duration, shared) for _ in range(args.runs)])
        results[(size, shared)] = row
        print(f"{size:>8} {'shared' if shared else 'private':>10} {row['start_s']:>8.2f} "
              f"{row['rss_mib']:>8.0f} {row['pss_mib']:>8.0f} {row['rps']:>7.0f}", flush=True)

    alt = results[(args.alternative_size, False)]
    same = results.get((args.alternative_size, True))
    if same:
        print(f"\nat {args.alternative_size} cameras, shared vs private transports: start "
              f"{alt['start_s'] / same['start_s']:.1f}x faster, PSS "
              f"{alt['pss_mib'] / same['pss_mib']:.1f}x smaller, throughput "
              f"{same['rps'] / alt['rps']:.2f}x")
    biggest = results.get((1000, True))
    if biggest:
        verdicts = [("start <= 15 s", biggest["start_s"] <= 15),
                    ("RSS <= 1 GiB", biggest["rss_mib"] <= 1024),
                    (">= 1000 GetDeviceInformation/s", biggest["rps"] >= 1000)]
        print("1000-camera targets: " + ", ".join(f"{name}: {'met' if ok else 'MISSED'}"
                                                   for name, ok in verdicts))


if __name__ == "__main__":
    main()
