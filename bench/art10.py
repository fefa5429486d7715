"""Art. 10 verdicts on switch evidence, through the CLI: precision, recall, confusions, cost.

    python bench/art10.py                  # 16 cameras on 2 switches, 1 run
    python bench/art10.py --count 22 --runs 3 --backend netns   # needs root

Starts a fleet (``--backend loopback`` or ``netns``, where each camera has its own network
namespace on a bridge and ARP is real) whose cameras hang off two simulated access switches,
files them (library), then runs ``devmgr commission`` and, after the faults, ``devmgr audit``
as a user would, and reads the audit's JSON report. The faults cycle through silent moves
(another port of the same switch, another switch, another switch and /24, and two on the
same port that only the picture tells: 30 m along the street, across town), announced moves,
removals, hung services (``services_down``), re-addressings and healthy units. Printed:
precision and recall per
verdict, the confusions between removed, services-down, not-answering and readdressed, and
the cost of the switch evidence -- a read of both switches -- against the named alternative,
an SNMP identity GET of every camera (what the audit already does), medians over ``--runs``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from devmgr.compliance.baseline import Baseline
from devmgr.registry import Registry
from devmgr.snmp import snmp_identity_for_target
from devmgr.switches import read_switches
from devmgr.vision import scene_match
from scenarios.fleet_filings import fleet_filings
from simulators.fleet.fleet import Fleet
from simulators.fleet.generate import FleetMember, generate_fleet
from simulators.switch.model import Attachment, SwitchSpec

#: (expected presence verdict, faults); camera i gets entry i % len(MIX).
MIX: tuple[tuple[str, list[dict[str, Any]]], ...] = (
    ("moved", [{"kind": "moved", "switch": "SAME"}]),  # another port, same switch
    ("moved", [{"kind": "moved", "switch": "OTHER"}]),  # another switch
    ("moved", [{"kind": "moved", "distance_m": 300.0, "announce": True}]),
    ("moved", [{"kind": "moved", "switch": "OTHER2"}, {"kind": "readdressed"}]),  # new subnet
    # Silent, on the same port: only the picture tells (a partly overlapping view at 30 m).
    ("moved", [{"kind": "moved", "distance_m": 30.0}]),  # the next pole along the street
    ("moved", [{"kind": "moved", "distance_m": 3000.0}]),  # across town
    ("removed", [{"kind": "removed"}]),
    ("services-down", [{"kind": "services_down"}]),
    ("readdressed", [{"kind": "readdressed"}]),
    ("present", []),
    ("present", []),
)
VERDICTS = ("moved", "removed", "services-down", "readdressed")


def cli(*args: str) -> None:
    run = subprocess.run([sys.executable, "-m", "devmgr", *args], capture_output=True,
                         text=True, check=False)
    if run.returncode not in (0, 3):  # 3: findings to act on
        raise SystemExit(f"devmgr {args[0]} failed ({run.returncode}): {run.stderr[-2000:]}")


def faults_for(index: int, home: Attachment, ports: int, fleet: Fleet,
               mix: tuple[tuple[str, list[dict[str, Any]]], ...] = MIX) -> list[dict[str, Any]]:
    faults = []
    lap = index // len(mix)
    for template in mix[index % len(mix)][1]:
        fault = dict(template)
        # Homes take the low ports; moves take distinct high ones.
        other = "sw-a" if home.switch == "sw-b" else "sw-b"
        if fault.get("switch") == "SAME":
            fault.update(switch=home.switch, port=ports - 3 * lap)
        elif fault.get("switch") == "OTHER":
            fault.update(switch=other, port=ports - 1 - 3 * lap)
        elif fault.get("switch") == "OTHER2":
            fault.update(switch=other, port=ports - 2 - 3 * lap)
        elif fault["kind"] == "readdressed":
            # A move's re-addressing lands in another /24; a plain one stays in the fleet's.
            moved = any(f.get("switch") for f in mix[index % len(mix)][1])
            fault["address"] = fleet.spare_address(index, other_subnet=moved)
        faults.append(fault)
    return faults


def run(count: int, runs: int, backend: str) -> None:
    mix = MIX
    ports = max(16, count)
    specs = generate_fleet(count, seed=31)
    homes = [Attachment(switch="sw-a" if i % 2 else "sw-b", port=1 + i // 2)
             for i in range(count)]
    switches = [SwitchSpec(name="sw-a", ports=ports), SwitchSpec(name="sw-b", ports=ports)]
    with tempfile.TemporaryDirectory() as tmp, Fleet(
            [FleetMember(s, attachment=a) for s, a in zip(specs, homes, strict=True)],
            switches=switches, http_port=0, snmp_port=0, backend=backend) as fleet:
        work = Path(tmp)
        manifest = fleet.manifest()
        manifest.save(work / "fleet.json")
        registry_url = str(work / "registry.sqlite")
        filings = fleet_filings(specs, accepted_on=datetime.now(UTC).date() - timedelta(30))
        with Registry.open(registry_url) as registry:
            registry.put_filings([(f.device_id, f.model_copy(update={
                "ip_address": t.address, "port": t.http_port}))
                for f, t in zip(filings, manifest.targets, strict=True)], source="bench")
        began = time.monotonic()
        cli("commission", "--targets", str(work / "fleet.json"), "--registry", registry_url,
            "--no-move")
        commission_s = time.monotonic() - began
        expected: dict[str, str] = {}
        for index, (filing, target) in enumerate(zip(filings, manifest.targets, strict=True)):
            expected[filing.device_id] = mix[index % len(mix)][0]
            faults = faults_for(index, homes[index], ports, fleet, mix)
            if faults:
                fleet.set_faults(target.id, faults)
        began = time.monotonic()
        cli("audit", "--targets", str(work / "fleet.json"), "--registry", registry_url,
            "--no-move", "--report", str(work / "report"), "--discovery-port",
            str(fleet.discovery_port), "-i", fleet.manager_address)
        audit_s = time.monotonic() - began
        report = json.loads((work / "report" / "audit.json").read_text(encoding="utf-8"))
        judged = {c["camera"]: c["presence"] if c["presence"] != "present" else next(
            (f["rule"] for f in c["findings"] if f["rule"] == "readdressed"), "present")
            for c in report["cameras"]}
        print(f"{count} cameras on 2 switches ({backend}); commission {commission_s:.1f} s, "
              f"audit {audit_s:.1f} s (CLI, --no-move)")
        for verdict in VERDICTS:
            said = {k for k, v in judged.items() if v == verdict}
            truth = {k for k, v in expected.items() if v == verdict}
            hit = len(said & truth)
            print(f"  {verdict:14s} precision {hit / len(said) if said else 1.0:.2f}  "
                  f"recall {hit / len(truth) if truth else 1.0:.2f}  ({hit}/{len(truth)})")
        absent = ("removed", "services-down", "not-answering", "readdressed")
        confusions = Counter((expected[k], judged.get(k, "?")) for k in expected
                             if expected[k] in absent and judged.get(k) != expected[k])
        print(f"  confusions between {', '.join(absent)}: {sum(confusions.values())} "
              f"{dict(confusions) or ''}")
        fingerprints(registry_url, report, {k: (mix[i % len(mix)][1] or [{}])[0]
                                             for i, k in enumerate(expected)})
        measure_cost(fleet, runs)


def fingerprints(registry_url: str, report: dict[str, Any],
                 fault: dict[str, dict[str, Any]]) -> None:
    """The scene fingerprints commissioning recorded, found in today's pictures: healthy
    units' views (in place), and the silent moves the picture has to tell."""
    moves = {30.0: "30 m along the street", 3000.0: "across town"}
    found: dict[str, list[float]] = {"in place": [], **{name: [] for name in moves.values()}}
    with Registry.open(registry_url) as registry:
        baselines = registry.baselines(Baseline)
        for camera in report["cameras"]:
            baseline = baselines.get(camera["camera"])
            faulted = fault.get(camera["camera"], {})
            which = moves.get(faulted.get("distance_m", 0.0)) if faulted else "in place"
            if baseline is None or which is None:
                continue
            for view in camera["views"]:
                ref, jpeg = baseline.view(view["name"]), registry.snapshot(view["current_image"])
                if ref is not None and ref.fingerprint and jpeg is not None:
                    found[which].append(scene_match(ref.fingerprint, jpeg) or 0.0)
    print("  scene fingerprint found in today's view: " + "; ".join(
        f"{name} {min(shares):.0%}-{max(shares):.0%} ({len(shares)} views)"
        for name, shares in found.items() if shares))


def measure_cost(fleet: Fleet, runs: int) -> None:
    manifest = fleet.manifest()
    switch_s, snmp_s = [], []
    for _ in range(runs):
        began = time.perf_counter()
        readings = asyncio.run(read_switches(manifest.switches))
        switch_s.append(time.perf_counter() - began)
        assert all(r.answered for r in readings), [r.error for r in readings]

        async def identities() -> None:
            await asyncio.gather(*(snmp_identity_for_target(t) for t in manifest.targets))
        began = time.perf_counter()
        asyncio.run(identities())
        snmp_s.append(time.perf_counter() - began)
    a, b = statistics.median(switch_s), statistics.median(snmp_s)
    print(f"  switch evidence: read 2 switches {a * 1000:.0f} ms (median of {runs}); "
          f"alternative, SNMP identity of every camera: {b * 1000:.0f} ms; ratio {a / b:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=16)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--backend", choices=("loopback", "netns"), default="loopback")
    args = parser.parse_args()
    run(args.count, args.runs, args.backend)


if __name__ == "__main__":
    main()
