"""WS-Discovery of a loopback fleet: multicast time-to-all, unicast sweep, and alternatives.

    python bench/discovery.py --count 1000 --runs 3
    python bench/discovery.py --count 100 --runs 1     # quick look

Starts ``Fleet.generated(count, seed=1)`` on a free discovery port (cameras answer a multicast
Probe after a random 0..500 ms, APP_MAX_DELAY) and measures, per run, in this process:

* ``mcast expect``: :func:`devmgr.discovery.wsd.probe_multicast` (types "both", repeat 2)
  stopping as soon as ``count`` endpoints answered: wall time to all, kernel drops, CPU;
* ``mcast quiet``: the same without ``expect``: it stops on its own once nothing new arrived
  for 0.2 s after the reply window; wall time until it returned, and when the last one came;
* ``unicast``: :func:`probe_unicast` over the smallest CIDR covering the fleet (a /22 for
  1000 cameras; the addresses without a camera cost the 1 s per-host timeout);
* named alternative ``wsdiscovery``: ``ThreadedWSDiscovery`` of the ``WSDiscovery`` PyPI
  package (python-ws-discovery) searching with Types omitted; time until it knows ``count``
  services, polled every 10 ms, given up after 5 s (the ONVIF tool's wait). Patched to stay on
  the loopback and the fleet's port (it would otherwise probe every non-loopback interface on
  3702, and IPv6), and to bind its Hello/Bye listener to the group address (its wildcard bind
  collides with the cameras' sockets). Skipped if the package is not installed;
* named alternative ``naive 5 s``: one socket, one Probe, no repeat, a fixed 5 s wait (what
  the ONVIF Device Test Tool does), using the same codec.

CPU is this process's CPU time (all threads) during the measurement; the cameras' CPU (in the
fleet's worker processes) is not included. Medians of ``--runs``; the machine is shared.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import ipaddress
import os
import socket
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from devmgr.discovery import wsd
from simulators.fleet.fleet import Fleet

TARGET_S = 2.0  # the target: multicast discovery of 1000 cameras in <= 2 s
ALT_GIVE_UP_S = 5.0


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def covering_cidr(addresses: list[str]) -> str:
    numbers = [int(ipaddress.IPv4Address(a)) for a in addresses]
    low, high = min(numbers), max(numbers)
    prefix = 32
    while (low >> (32 - prefix)) != (high >> (32 - prefix)):
        prefix -= 1
    return str(ipaddress.IPv4Network((low, prefix), strict=False))


def kernel_drops(sock: socket.socket) -> int:
    inode = str(os.fstat(sock.fileno()).st_ino)
    with open("/proc/net/udp", encoding="ascii") as table:
        for line in table:
            fields = line.split()
            if len(fields) >= 13 and fields[9] == inode:
                return int(fields[12])
    return 0


def timed(fn: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    cpu, wall = time.process_time(), time.monotonic()
    result = fn()
    result.setdefault("wall_s", time.monotonic() - wall)
    result["cpu_s"] = time.process_time() - cpu
    return result


def ours_multicast(port: int, count: int, **options: Any) -> dict[str, Any]:
    stats = wsd.ProbeStats()
    found = asyncio.run(wsd.probe_multicast(["127.0.0.1"], port=port, stats=stats, **options))
    return {"found": len(found), "wall_s": stats.elapsed_s,
            "to_all_s": stats.time_to_last_new_s if len(found) >= count else None,
            "drops": stats.kernel_drops, "rcvbuf": sum(stats.rcvbuf_bytes.values()),
            "stopped_by": stats.stopped_by}


def ours_unicast(port: int, count: int, cidr: str) -> dict[str, Any]:
    stats = wsd.SweepStats()
    found = asyncio.run(wsd.probe_unicast([cidr], port=port, stats=stats))
    return {"found": len(found), "wall_s": stats.elapsed_s,
            "to_all_s": stats.time_to_last_new_s if len(found) >= count else None,
            "drops": stats.kernel_drops, "hosts": stats.hosts}


def wsdiscovery_available() -> str:
    try:
        importlib.import_module("wsdiscovery")
    except ImportError:
        return "the WSDiscovery package is not installed (pip install WSDiscovery)"
    return ""


def python_ws_discovery(port: int, count: int) -> dict[str, Any]:
    """ThreadedWSDiscovery, kept on the loopback and on the fleet's port."""
    # Untyped optional package: imported by name so type checkers need no stubs for it.
    threaded: Any = importlib.import_module("wsdiscovery.threaded")
    discovery: Any = importlib.import_module("wsdiscovery.discovery")

    def loopback_only(version: int) -> list[Any]:
        return [ipaddress.IPv4Address("127.0.0.1")] if version == socket.AF_INET else []

    class NoIPv6:
        def __init__(self, *_: object) -> None:
            raise OSError("IPv6 disabled for the benchmark")

    def group_listener(_self: object) -> socket.socket:
        # Its own binds ('', port) with SO_REUSEADDR only: EADDRINUSE next to targets bound to
        # 127.x.y.z:port on the same host. It only hears Hello/Bye there (replies come to its
        # per-interface sockets), so binding the group address changes nothing measured.
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((threaded.MULTICAST_IPV4_ADDRESS, port))
        sock.setblocking(False)
        return sock

    threaded._getNetworkAddrs = loopback_only
    threaded.NetworkingThreadIPv4._createMulticastInSocket = group_listener
    threaded.MULTICAST_PORT = port
    threaded.NetworkingThreadIPv6 = NoIPv6

    client = discovery.ThreadedWSDiscovery()
    client.start()
    try:
        began = time.monotonic()
        search = threading.Thread(target=client.searchServices,
                                  kwargs={"timeout": ALT_GIVE_UP_S}, daemon=True)
        search.start()
        to_all = None
        while time.monotonic() - began < ALT_GIVE_UP_S:
            if len(client._remoteServices) >= count:
                to_all = time.monotonic() - began
                break
            time.sleep(0.01)
        found = len(client._remoteServices)
        thread = client._networkingThread_v4
        drops = sum(kernel_drops(s) for s in thread._multiOutUniInSockets.values())
        rcvbuf = sum(s.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
                     for s in thread._multiOutUniInSockets.values())
        wall = time.monotonic() - began
    finally:
        client.stop()
    return {"found": found, "wall_s": wall, "to_all_s": to_all, "drops": drops,
            "rcvbuf": rcvbuf}


def median(rows: list[dict[str, Any]], key: str) -> float | None:
    values = [r[key] for r in rows if r.get(key) is not None]
    return statistics.median(values) if len(values) == len(rows) and values else None


def fmt(value: float | None, unit: str = "s", digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}{unit}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-alternatives", action="store_true")
    args = parser.parse_args()

    port = free_udp_port()
    fleet = Fleet.generated(args.count, seed=1, discovery_port=port)
    began = time.monotonic()
    fleet.start(control_port=None)
    print(f"fleet of {args.count} started in {time.monotonic() - began:.1f} s "
          f"(discovery port {port}, {os.cpu_count()} cores)", flush=True)
    try:
        addresses = [t.address for t in fleet.manifest().targets]
        cidr = covering_cidr(addresses)
        count = args.count
        methods: dict[str, Callable[[], dict[str, Any]]] = {
            "mcast expect": lambda: ours_multicast(port, count, expect=count),
            "mcast quiet": lambda: ours_multicast(port, count),
            f"unicast {cidr}": lambda: ours_unicast(port, count, cidr),
        }
        if not args.no_alternatives:
            methods["naive 5 s"] = lambda: ours_multicast(
                port, count, types="none", repeat=0, quiet_s=None, wait_s=ALT_GIVE_UP_S)
            reason = wsdiscovery_available()
            if reason:
                print(f"skipping wsdiscovery: {reason}")
            else:
                methods["wsdiscovery"] = lambda: python_ws_discovery(port, count)
        rows: dict[str, list[dict[str, Any]]] = {name: [] for name in methods}
        for run in range(args.runs):
            for name, method in methods.items():
                result = timed(method)
                rows[name].append(result)
                print(f"  run {run + 1} {name:<22} found {result['found']:>5}  "
                      f"wall {fmt(result['wall_s'])}  to-all {fmt(result.get('to_all_s'))}  "
                      f"cpu {fmt(result['cpu_s'])}  drops {result.get('drops')}", flush=True)
                time.sleep(0.6)  # let late replies of one method drain before the next
    finally:
        fleet.stop()

    print(f"\nmedians of {args.runs} run(s), {count} cameras:")
    print(f"  {'method':<22} {'found':>6} {'to-all':>8} {'wall':>8} {'cpu':>8} {'drops':>6}")
    for name, results in rows.items():
        found = statistics.median(r["found"] for r in results)
        drops = median(results, "drops")
        print(f"  {name:<22} {found:>6.0f} {fmt(median(results, 'to_all_s')):>8} "
              f"{fmt(median(results, 'wall_s')):>8} {fmt(median(results, 'cpu_s')):>8} "
              f"{fmt(drops, '', 0):>6}")
    ours = median(rows["mcast expect"], "to_all_s")
    quiet = median(rows["mcast quiet"], "wall_s")
    print(f"\ntarget: multicast discovery of {count} in <= {TARGET_S:.0f} s: "
          f"{'met' if ours is not None and ours <= TARGET_S else 'MISSED'} "
          f"(time-to-all {fmt(ours)}; returning on its own without expect: {fmt(quiet)})")
    for name in ("naive 5 s", "wsdiscovery"):
        if name not in rows or ours is None:
            continue
        alt = median(rows[name], "to_all_s")
        alt_wall = median(rows[name], "wall_s")
        found = statistics.median(r["found"] for r in rows[name])
        if name == "naive 5 s" and alt_wall is not None:
            print(f"ratio {name} / mcast expect: returns after {alt_wall / ours:.1f}x the time "
                  f"(to-all {fmt(alt)}, the replies are the same; the wait is fixed)")
        elif alt is not None:
            print(f"ratio {name} / mcast expect (time-to-all): {alt / ours:.1f}x")
        else:
            print(f"ratio {name} / mcast expect: > {ALT_GIVE_UP_S / ours:.1f}x: it found "
                  f"{found:.0f} of {count} in {ALT_GIVE_UP_S:.0f} s")


if __name__ == "__main__":
    main()
