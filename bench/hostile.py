"""Hostile cameras against devmgr: every behaviour in one loopback fleet, with healthy ones.

    python bench/hostile.py                 # inventory, commission and audit of the fleet
    python bench/hostile.py --commands inventory

Starts one simulated camera per hostile behaviour (:mod:`simulators.hostile` faults, and the
markup text of a camera's identity) plus ``--healthy`` healthy ones, and runs each command
once over all of them together, as a subprocess (``python -m devmgr.cli``). Prints, per
command, exit code, wall time, the peak RSS of the command's process, and per behaviour the
outcome: the hostile camera's classified errors (kind, operation), "tolerated" (no error: the
value was within bounds or ignored), or "LOST" (no record at all). The healthy cameras must
come out complete; redirects point at a local listener that counts any connection (requests
to foreign hosts).

The named alternative is the same command over the healthy cameras alone: the difference in
wall time and peak RSS is what the hostile ones cost.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from simulators.fleet.fleet import Fleet
from simulators.fleet.generate import FleetMember, generate_fleet

CLOCK_9999 = [{"kind": "hostile_value", "ops": ["GetSystemDateAndTime"], "element": e,
               "value": v} for e, v in (("Year", "9999"), ("Month", "12"), ("Day", "31"),
                                        ("Hour", "23"), ("Minute", "59"), ("Second", "59"))]


PTZ_BEHAVIOURS = frozenset({"presets 1e309", "PTZ timeout PT1e17S"})


def value(element: str, text: str, **extra: Any) -> list[dict[str, Any]]:
    return [{"kind": "hostile_value", "element": element, "value": text, **extra}]


def behaviours(foreign: str) -> dict[str, list[dict[str, Any]]]:
    return {
        "presets 1e309": value("MaximumNumberOfPresets", "1e309"),
        "width NaN": value("Width", "NaN"),
        "clock year 10^20": value("Year", "1" + "0" * 20, ops=["GetSystemDateAndTime"]),
        "clock 9999-12-31": CLOCK_9999,
        "latitude 999": value("GeoLocation", "999", attribute="lat"),
        "latitude NaN": value("GeoLocation", "NaN", attribute="lat"),
        "retention P9999999999D": value("MaximumRetentionTime", "P9999999999D"),
        "PTZ timeout PT1e17S": value("DefaultPTZTimeout", "PT99999999999999999S"),
        "markup and C1 in model": value("Model", "X[/oops]\u009b2J\u202e"),
        "ESC in manufacturer": value("Manufacturer", "Acme\x1b]0;pwned\x07"),
        "SOAP redirect": [{"kind": "redirect", "ops": ["GetProfiles"], "location": foreign}],
        "snapshot redirect": [{"kind": "redirect", "ops": ["Snapshot"], "location": foreign}],
        "Basic-only snapshot": [{"kind": "basic_only", "ops": ["Snapshot"]}],
        "trickled reply": [{"kind": "trickle", "ops": ["GetDeviceInformation"]}],
        "trickled snapshot": [{"kind": "trickle", "ops": ["Snapshot"], "bytes_per_s": 64}],
        "60,000 profiles": [{"kind": "oversized", "ops": ["GetProfiles"],
                             "element": "Profiles", "count": 60_000}],
        "3.9 MB fault reason": [{"kind": "oversized", "ops": ["GetScopes"],
                                 "count": 3_900_000}],
        "DTD after a long prefix": [{"kind": "dtd", "ops": ["GetDeviceInformation"]}],
        "DTD in UTF-16": [{"kind": "dtd", "form": "utf16", "ops": ["GetDeviceInformation"]}],
        "image bomb 20000x20000": [{"kind": "image_bomb", "ops": ["Snapshot"]}],
    }


def run(command: list[str], registry: Path) -> tuple[int, float, float, str]:
    """Exit code, wall s, peak RSS MiB of the command's own process, its stdout."""
    began = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "devmgr.cli", *command, "--registry", str(registry)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        env={**os.environ, "CAMFLEET_OPERATOR": "bench"})
    assert process.stdout is not None
    out = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)  # this child's own peak, not the fleet's
    process.returncode = os.waitstatus_to_exitcode(status)
    return process.returncode, time.perf_counter() - began, usage.ru_maxrss / 1024, out


def outcomes(found: list[dict[str, Any]], hostile: dict[str, str]) -> dict[str, str]:
    by_id = {inv["target_id"]: inv for inv in found}
    result = {}
    for camera, name in hostile.items():
        inv = by_id.get(camera)
        if inv is None:
            result[name] = "LOST"
            continue
        errors = sorted({f"{e['kind']} {e['operation']}" for e in inv.get("errors", [])})
        result[name] = ", ".join(errors) or "tolerated"
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--healthy", type=int, default=4)
    parser.add_argument("--commands", nargs="+", default=["inventory", "commission"])
    args = parser.parse_args()
    with socket.socket() as listener, tempfile.TemporaryDirectory() as tmp:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.setblocking(False)
        foreign = f"http://127.0.0.1:{listener.getsockname()[1]}/latest/meta-data/"
        named = behaviours(foreign)
        specs = generate_fleet(len(named) + args.healthy, seed=7)
        with Fleet([FleetMember(s) for s in specs]) as fleet:
            # Behaviours about PTZ values go to domes (a fixed camera has no such values).
            domes = [c for c, s in zip(fleet.camera_ids, specs, strict=True) if s.is_ptz]
            others = [c for c in fleet.camera_ids if c not in domes]
            order = sorted(named, key=lambda n: n not in PTZ_BEHAVIOURS)
            hostile = dict(zip(domes + others, order, strict=False))
            for camera, name in hostile.items():
                fleet.set_faults(camera, named[name])
            everything, healthy = Path(tmp, "all.json"), Path(tmp, "healthy.json")
            manifest = fleet.manifest()
            manifest.save(everything)
            kept = [t for t in manifest.targets if t.id not in hostile]
            manifest.model_copy(update={"targets": tuple(kept)}).save(healthy)
            for command in args.commands:
                report(command, everything, healthy, hostile, Path(tmp))
        try:
            listener.accept()
            print("requests to foreign hosts: at least 1 (a redirect was followed)")
        except BlockingIOError:
            print("requests to foreign hosts: 0")


def report(command: str, everything: Path, healthy: Path, hostile: dict[str, str],
           tmp: Path) -> None:
    extra = ["--json"] if command == "inventory" else ["--no-move"]
    code0, wall0, rss0, _ = run([command, "--targets", str(healthy), *extra],
                                tmp / f"{command}-healthy.sqlite")
    code, wall, rss, out = run([command, "--targets", str(everything), *extra],
                               tmp / f"{command}.sqlite")
    print(f"\n{command}: all {len(hostile)} hostile + healthy: exit {code}, {wall:.1f} s, "
          f"peak RSS {rss:.0f} MiB;  healthy alone: exit {code0}, {wall0:.1f} s, "
          f"peak RSS {rss0:.0f} MiB")
    if command != "inventory":
        for name in hostile.values():
            print(f"  {name:28} (see the command's table)")
        print(out)
        return
    found = json.loads(out)
    complete = [inv for inv in found if inv["target_id"] not in hostile and not inv.get("errors")]
    print(f"  healthy cameras complete: {len(complete)} of {len(found) - len(hostile)}")
    for name, outcome in outcomes(found, hostile).items():
        print(f"  {name:28} {outcome}")


if __name__ == "__main__":
    main()
