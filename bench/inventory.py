"""Inventory throughput for a simulated fleet: devmgr against onvif-zeep-async at its best.

    python bench/inventory.py                  # 1000 cameras (several minutes)
    python bench/inventory.py --count 200 --baseline-runs 1

Both clients collect the same facts from every camera of a loopback fleet: clock, device
information, services, scopes, network interfaces, hostname, NTP, discovery mode, media
profiles with stream and snapshot URIs, PTZ nodes, configurations, options, status and presets,
and recordings (devmgr also asks for GetGeoLocation, which onvif-zeep-async's WSDLs lack).

* devmgr: ``inventory_sweep`` on one event loop (zeep-built envelopes, one aiohttp pool,
  lxml extraction), and ``parallel_inventory_sweep`` (one such loop per core, what the CLI
  runs for large sweeps);
* the named alternative, onvif-zeep-async as documented at its best: one ``ONVIFCamera`` per
  device, ``asyncio.gather`` behind a Semaphore(100), ``adjust_time=True``, its WSDLs loaded
  once before the clock starts.

Printed: wall time, cameras/s and client CPU per camera (this process's CPU time; the fleet
runs in its own worker processes), medians over the runs, and the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from camfleet.targets import Target
from devmgr.inventory.collect import inventory_sweep
from devmgr.inventory.parallel import default_processes, parallel_inventory_sweep
from devmgr.onvif.session import Timeouts
from simulators.fleet.fleet import Fleet
from simulators.fleet.generate import FleetMember, generate_fleet

STREAM_SETUP = {"Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}}


async def devmgr_run(targets: list[Target]) -> int:
    """Complete inventories: one process, one event loop."""
    inventories = await inventory_sweep(targets, concurrency=256,
                                        timeouts=Timeouts(call=10, camera=60))
    return sum(1 for inv in inventories if inv.device and not inv.errors)


async def devmgr_parallel_run(targets: list[Target]) -> int:
    """devmgr as the CLI runs it: one event loop per core (worker processes)."""
    inventories = await parallel_inventory_sweep(targets, concurrency=256,
                                                 timeouts=Timeouts(call=10, camera=60))
    return sum(1 for inv in inventories if inv.device and not inv.errors)


async def zeep_camera(target: Target) -> int:
    from onvif import ONVIFCamera  # noqa: PLC0415

    camera = ONVIFCamera(target.address, target.http_port, target.onvif.username,
                         target.onvif_password(), adjust_time=True)
    try:
        await camera.update_xaddrs()  # GetSystemDateAndTime + GetServices
        device = await camera.create_devicemgmt_service()
        await device.GetDeviceInformation()
        await device.GetScopes()
        await device.GetNetworkInterfaces()
        await device.GetHostname()
        await device.GetNTP()
        await device.GetDiscoveryMode()
        media = await camera.create_media_service()
        profiles = await media.GetProfiles()
        for profile in profiles:
            await media.GetStreamUri({"ProfileToken": profile.token, "StreamSetup": STREAM_SETUP})
            await media.GetSnapshotUri({"ProfileToken": profile.token})
        if "ptz" in {key[0] for key in camera.xaddrs} or any(
                "ptz" in str(ns) for ns in camera.xaddrs):
            ptz = await camera.create_ptz_service()
            await ptz.GetNodes()
            configs = await ptz.GetConfigurations()
            await ptz.GetConfigurationOptions({"ConfigurationToken": configs[0].token})
            await ptz.GetStatus({"ProfileToken": profiles[0].token})
            await ptz.GetPresets({"ProfileToken": profiles[0].token})
        recording = await camera.create_recording_service()
        await recording.GetRecordings()
        return 1
    except Exception:  # a failure counts as an incomplete inventory, as for devmgr
        return 0
    finally:
        await camera.close()


async def zeep_run(targets: list[Target]) -> int:
    semaphore = asyncio.Semaphore(100)

    async def one(target: Target) -> int:
        async with semaphore:
            return await zeep_camera(target)

    return sum(await asyncio.gather(*(one(t) for t in targets)))


async def warm_zeep(target: Target) -> None:
    """Load onvif-zeep-async's WSDLs once, so the timed run measures calls, not parsing."""
    await zeep_camera(target)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(run: Any, targets: list[Target]) -> dict[str, float]:
    # Client CPU: this process plus the inventory worker processes it waited for (the fleet's
    # workers are not waited for until it stops, so they do not count).
    wall, cpu = time.perf_counter(), time.process_time() + _children_cpu()
    complete = asyncio.run(run(targets))
    wall = time.perf_counter() - wall
    cpu = time.process_time() + _children_cpu() - cpu
    return {"wall_s": wall, "cameras_per_s": len(targets) / wall,
            "cpu_ms_per_camera": 1000 * cpu / len(targets), "complete": complete}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--baseline-runs", type=int, default=1)
    args = parser.parse_args()
    logging.getLogger().setLevel(logging.ERROR)

    members = [FleetMember(spec) for spec in generate_fleet(args.count, seed=7)]
    with Fleet(members, discovery_port=random.randrange(40000, 60000)) as fleet:
        print(f"fleet of {args.count} started in {fleet.start_seconds:.1f} s", flush=True)
        targets = list(fleet.manifest().targets)
        ours = [timed(devmgr_run, targets) for _ in range(args.runs)]
        parallel = [timed(devmgr_parallel_run, targets) for _ in range(args.runs)]
        asyncio.run(warm_zeep(targets[0]))
        theirs = [timed(zeep_run, targets) for _ in range(args.baseline_runs)]

    def med(rows: list[dict[str, float]], key: str) -> float:
        return statistics.median(r[key] for r in rows)

    print(f"{'client':<34} {'wall s':>7} {'cams/s':>7} {'CPU ms/cam':>10} {'complete':>9}")
    workers = default_processes(args.count)
    for name, rows in (("devmgr, one event loop", ours),
                       (f"devmgr, {workers} worker processes", parallel),
                       ("onvif-zeep-async (WSDLs warm)", theirs)):
        print(f"{name:<34} {med(rows, 'wall_s'):>7.2f} {med(rows, 'cameras_per_s'):>7.0f} "
              f"{med(rows, 'cpu_ms_per_camera'):>10.1f} {med(rows, 'complete'):>9.0f}")
    best = min((ours, parallel), key=lambda rows: med(rows, "wall_s"))
    speedup = med(theirs, "wall_s") / med(best, "wall_s")
    single = med(theirs, "wall_s") / med(ours, "wall_s")
    cpu_ratio = med(theirs, "cpu_ms_per_camera") / med(ours, "cpu_ms_per_camera")
    print(f"\ndevmgr is {speedup:.1f}x faster (wall; {single:.1f}x on one event loop) and uses "
          f"{cpu_ratio:.1f}x less client CPU per camera (medians: {args.runs} devmgr runs, "
          f"{args.baseline_runs} baseline runs)")
    if args.count == 1000:
        wall, cpu = med(best, "wall_s"), med(ours, "cpu_ms_per_camera")
        print(f"targets at 1000: full inventory <= 15 s: {'met' if wall <= 15 else 'MISSED'}; "
              f">= 3x the baseline: {'met' if speedup >= 3 else 'MISSED'}; <= 15 ms CPU per "
              f"camera: {'met' if cpu <= 15 else 'MISSED'}")


if __name__ == "__main__":
    main()
