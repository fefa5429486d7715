"""What the audit's stream check costs: an audit of a loopback fleet with and without it.

    python bench/audit_streams.py                       # 8 cameras, 3 runs each
    python bench/audit_streams.py --count 16 --runs 1

The alternative, in the same run: the same audit with ``--stream-seconds 0`` (no stream
played). Each audit runs in this process against a fleet in worker processes; reported are
the wall time and this process's CPU time (the decoding runs in its threads; the simulated
cameras' encoding is in the fleet's workers and not counted), medians of ``--runs``, and the
ratios. No move, no discovery, no credential probes: the audit's other work is the inventory.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from devmgr.compliance.audit import AuditOptions, audit
from devmgr.media.liveness import StreamCheck
from devmgr.registry import Registry
from simulators.fleet.fleet import Fleet
from simulators.fleet.generate import FleetMember, generate_fleet


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def one_audit(fleet: Fleet, seconds: float, concurrency: int) -> tuple[float, float, int]:
    """Wall s, CPU s, stream findings of one audit."""
    with tempfile.TemporaryDirectory() as where, \
            Registry.open(Path(where) / "registry.sqlite") as registry:
        options = AuditOptions(move=False, discovery=None, check_credentials=False,
                               streams=StreamCheck(seconds=seconds, concurrency=concurrency))
        began, cpu = time.monotonic(), _cpu()
        report = asyncio.run(audit(fleet.manifest(), registry, options))
        wall, used = time.monotonic() - began, _cpu() - cpu
    streams = sum(1 for f in report.findings if f.rule.startswith("stream-"))
    return wall, used, streams


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=8)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f}; {args.count} cameras, "
          f"{args.seconds:g} s per stream, {args.concurrency} at once")
    with Fleet([FleetMember(s) for s in generate_fleet(args.count, seed=3)]) as fleet:
        results: dict[str, list[tuple[float, float, int]]] = {"without": [], "with": []}
        for _ in range(args.runs):  # interleaved, so load changes hit both alike
            results["without"].append(one_audit(fleet, 0.0, args.concurrency))
            results["with"].append(one_audit(fleet, args.seconds, args.concurrency))
    medians = {}
    for name, runs in results.items():
        wall = statistics.median(r[0] for r in runs)
        cpu = statistics.median(r[1] for r in runs)
        medians[name] = (wall, cpu)
        print(f"audit {name:7} stream check: wall {wall:6.2f} s, CPU {cpu:6.2f} s "
              f"({cpu / args.count * 1000:.0f} ms per camera); stream findings "
              f"{[r[2] for r in runs]}")
    (wall0, cpu0), (wall1, cpu1) = medians["without"], medians["with"]
    print(f"with/without: wall x{wall1 / wall0:.2f} (+{(wall1 - wall0) / args.count:.2f} s "
          f"per camera), CPU x{cpu1 / cpu0:.2f} (+{(cpu1 - cpu0) / args.count * 1000:.0f} ms "
          "per camera)")


if __name__ == "__main__":
    main()
