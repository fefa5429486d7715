"""Hostile cameras against devmgr and the acceptance suite: every behaviour in one loopback
fleet, with healthy ones.

    python bench/hostile.py                 # inventory, commission, audit, discover, suite
    python bench/hostile.py --commands inventory audit

Starts one simulated camera per hostile behaviour (:mod:`simulators.hostile` faults, vendor
quirks, and the markup text of a camera's identity) plus ``--healthy`` healthy ones, files
them all, and runs each command once over all of them together, as a subprocess (``python -m
devmgr.cli``; the suite as ``python -m pytest --pyargs hil.suite``). Beside the fleet, a
scripted WS-Discovery responder answers every Probe with malformed replies (a bare
ProbeMatch with undeclared prefixes, a DTD, a root in a hostile namespace, junk), which
``discover`` must show as unreadable or flagged, never crash on.

Printed per command: exit code, wall time against the command's deadline, the peak RSS of
the command's process tree (``wait4``), whether the healthy cameras came out complete, and per
behaviour the outcome: the hostile camera's classified errors or verdict, "tolerated" (no
error: the value was within bounds or ignored), or "LOST" (no result at all). At the end:
requests to foreign hosts (redirects point at a local listener that counts any connection)
and passwords sent in cleartext (HTTP Basic, counted by every camera).

The named alternative is the same command over the healthy cameras alone: the difference in
wall time and peak RSS is what the hostile ones cost.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from camfleet.protocols import wsdiscovery as wsd
from camfleet.protocols.multicast import group_socket
from devmgr.compliance.baseline import Baseline
from devmgr.filings import save
from devmgr.registry import Registry
from scenarios.fleet_filings import filings_for_fleet
from simulators.fleet.fleet import Fleet
from simulators.fleet.generate import FleetMember, generate_fleet

CLOCK_9999 = [{"kind": "hostile_value", "ops": ["GetSystemDateAndTime"], "element": e,
               "value": v} for e, v in (("Year", "9999"), ("Month", "12"), ("Day", "31"),
                                        ("Hour", "23"), ("Minute", "59"), ("Second", "59"))]
PTZ_BEHAVIOURS = frozenset({"presets 1e309", "PTZ timeout PT1e17S"})
COMMANDS = ("inventory", "commission", "audit", "discover", "suite")
#: Each command's deadline, seconds: the per-camera limits its cameras run under at once
#: (devmgr.onvif.session.Timeouts: 30 s per camera's collection, 180 s for its views; a
#: snapshot 45 s in all), and discovery's listening time. The suite has none of its own.
DEADLINES = {"inventory": 30.0, "commission": 30.0 + 180.0, "audit": 30.0 + 180.0,
             "discover": 2.0 * 3}
#: Where the scripted WS-Discovery responder answers from (no fleet camera uses it).
RESPONDER = "127.0.251.9"


def value(element: str, text: str, **extra: Any) -> list[dict[str, Any]]:
    return [{"kind": "hostile_value", "element": element, "value": text, **extra}]


def behaviours(foreign: str) -> dict[str, list[dict[str, Any]]]:
    return {
        "presets 1e309": value("MaximumNumberOfPresets", "1e309"),
        "PTZ timeout PT1e17S": value("DefaultPTZTimeout", "PT99999999999999999S"),
        "width NaN": value("Width", "NaN"),
        "clock year 10^20": value("Year", "1" + "0" * 20, ops=["GetSystemDateAndTime"]),
        "clock 9999-12-31": CLOCK_9999,
        "latitude 999": value("GeoLocation", "999", attribute="lat"),
        "latitude NaN": value("GeoLocation", "NaN", attribute="lat"),
        "retention P9999999999D": value("MaximumRetentionTime", "P9999999999D"),
        "markup and C1 in model": value("Model", "X[/oops]\u009b2J\u202e"),
        "ESC in manufacturer": value("Manufacturer", "Acme\x1b]0;pwned\x07"),
        "SOAP redirect": [{"kind": "redirect", "ops": ["GetProfiles"], "location": foreign}],
        "snapshot redirect": [{"kind": "redirect", "ops": ["Snapshot"], "location": foreign}],
        "Basic-only snapshot": [{"kind": "basic_only", "ops": ["Snapshot"]}],
        "pre-auth refused": [{"kind": "quirk_auth_everything"}],
        "trickled reply": [{"kind": "trickle", "ops": ["GetDeviceInformation"]}],
        "trickled snapshot": [{"kind": "trickle", "ops": ["Snapshot"], "bytes_per_s": 64}],
        "60,000 profiles": [{"kind": "oversized", "ops": ["GetProfiles"],
                             "element": "Profiles", "count": 60_000}],
        "3.9 MB fault reason": [{"kind": "oversized", "ops": ["GetScopes"],
                                 "count": 3_900_000}],
        "DTD after a long prefix": [{"kind": "dtd", "ops": ["GetDeviceInformation"]}],
        "DTD in UTF-16": [{"kind": "dtd", "form": "utf16", "ops": ["GetDeviceInformation"]}],
        "image bomb 20000x20000": [{"kind": "image_bomb", "ops": ["Snapshot"]}],
        "malformed XML": [{"kind": "malformed_xml", "ops": ["GetCapabilities", "GetServices"]}],
        "HTTP 500 everywhere": [{"kind": "http_500"}],
    }


# -- the scripted WS-Discovery responder -----------------------------------------------------
def malformed_replies(relates_to: str) -> list[bytes]:
    """What a foreign or broken responder sends for one Probe."""
    bare = (  # a bare ProbeMatch, d:EndpointReference, prefixes undeclared, as some firmware
        '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Header>'
        f"<wsa:Action>{wsd.ACTION_PROBE_MATCHES}</wsa:Action><wsa:MessageID>"
        "urn:uuid:00000000-0000-4000-8000-0000000000aa</wsa:MessageID>"
        f"<wsa:RelatesTo>{relates_to}</wsa:RelatesTo></s:Header><s:Body><d:ProbeMatch>"
        "<d:EndpointReference><d:Address>urn:uuid:00000000-0000-4000-8000-0000000000bb"
        f"</d:Address></d:EndpointReference><d:XAddrs>http://{RESPONDER}/onvif/"
        "device_service</d:XAddrs><d:Scopes>onvif://www.onvif.org/name/X%1B%5B2J[/oops]"
        "</d:Scopes><d:MetadataVersion>1</d:MetadataVersion></d:ProbeMatch></s:Body>"
        "</s:Envelope>")
    dtd = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;&a;</x>'
    evil = '<x:Evil xmlns:x="urn:\u009b2J[/oops]' + "x" * 3000 + '"/>'
    return [bare.encode(), dtd.encode(), evil.encode(), b"\x00junk", b"<" * 60_000]


def respond(port: int, stop: threading.Event) -> None:
    """Answer every Probe on loopback with :func:`malformed_replies`, from RESPONDER."""
    listener = group_socket(wsd.MULTICAST_GROUP, port, ["127.0.0.1"])
    with listener, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        sender.bind((RESPONDER, 0))
        while not stop.is_set():
            if not select.select([listener], [], [], 0.05)[0]:
                continue
            data, client = listener.recvfrom(65536)
            try:
                probe = wsd.parse_probe(data)
            except wsd.InvalidMessage:
                continue
            for reply in malformed_replies(probe.message_id):
                sender.sendto(reply, client)


# -- running the commands --------------------------------------------------------------------
@dataclass
class Run:
    code: int
    wall_s: float
    rss_mib: float
    out: str


def run(argv: list[str], cwd: Path | None = None) -> Run:
    """Exit code, wall s, peak RSS MiB of the command's process tree, its stdout."""
    began = time.perf_counter()
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               text=True, env={**os.environ, "CAMFLEET_OPERATOR": "bench"},
                               cwd=cwd)
    assert process.stdout is not None
    out = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)  # the tree's peak, not the fleet's
    process.returncode = os.waitstatus_to_exitcode(status)
    return Run(process.returncode, time.perf_counter() - began, usage.ru_maxrss / 1024, out)


@dataclass
class Setup:
    fleet: Fleet
    tmp: Path
    #: camera id -> behaviour name.
    hostile: dict[str, str]
    #: "all" and "healthy": a targets file and a registry with the filings imported.
    targets: dict[str, Path]
    registries: dict[str, Path]


def devmgr(*args: str) -> list[str]:
    return [sys.executable, "-m", "devmgr.cli", *args]


def command_line(command: str, setup: Setup, which: str) -> list[str]:
    targets, registry = str(setup.targets[which]), str(setup.registries[which])
    fleet = setup.fleet
    if command == "inventory":
        return devmgr("inventory", "--targets", targets, "--json", "--registry", registry)
    if command == "commission":
        return devmgr("commission", "--targets", targets, "--no-move", "--registry", registry)
    if command == "audit":
        return devmgr("audit", "--targets", targets, "--no-move", "--no-discover", "--json",
                      "--registry", registry)
    if command == "discover":
        return devmgr("discover", "--interface", fleet.manager_address, "--port",
                      str(fleet.discovery_port), "--json", "--registry", registry)
    report = setup.tmp / f"suite-{which}"
    return [sys.executable, "-m", "pytest", "--pyargs", "hil.suite", "-q", "-p",
            "no:cacheprovider", "-n", "2", "--hil-targets", targets, "--hil-report", str(report),
            "--hil-registry", registry]


def outcomes(command: str, setup: Setup, which: str, done: Run) -> tuple[dict[str, str], str]:
    """Per camera id: its outcome; and a line on the healthy cameras."""
    hostile = setup.hostile
    ids = [t.get("id") for t in json.loads(setup.targets[which].read_text())["targets"]]
    found: dict[str, str] = {}
    complete: list[str] = []
    if command == "inventory" and done.out.strip():
        for inv in json.loads(done.out):
            errors = sorted({f"{e['kind']} {e['operation']}" for e in inv.get("errors", [])})
            found[inv["target_id"]] = ", ".join(errors) or "tolerated"
            if not errors:
                complete.append(inv["target_id"])
    elif command == "commission":
        with Registry.open(setup.registries[which]) as registry:
            stored = {b.target_id for b in registry.baselines(Baseline).values()}
        for camera in ids:
            found[camera] = "baseline stored" if camera in stored else "no baseline"
            if camera in stored:
                complete.append(camera)
    elif command == "audit" and done.out.strip():
        for camera in json.loads(done.out)["cameras"]:
            errors = sorted({f"{e['kind']} {e['operation']}" for e in camera["errors"]})
            found[camera["target_id"]] = f"{camera['status']}" + (
                f": {', '.join(errors)}" if errors else "")
            if camera["status"] == "compliant":
                complete.append(camera["target_id"])
    elif command == "discover" and done.out.strip():
        devices = json.loads(done.out)
        seen = {a for d in devices.get("devices", []) for a in d.get("addresses", [])}
        by_address = {t["address"]: t["id"]
                      for t in json.loads(setup.targets[which].read_text())["targets"]}
        for address, camera in by_address.items():
            found[camera] = "found" if address in seen else "not found"
            if address in seen:
                complete.append(camera)
        unreadable = devices.get("unreadable_replies", [])
        flagged = [d for d in devices.get("devices", []) if d.get("nonconformities")]
        found["(responder)"] = (f"{len(unreadable)} unreadable replies shown, "
                                f"{len(flagged)} unit(s) flagged non-conformant")
    elif command == "suite":
        report = setup.tmp / f"suite-{which}"
        for camera in ids:
            record = report / f"{camera}.json"
            if record.exists():
                found[camera] = json.loads(record.read_text())["verdict"]
                if found[camera] == "accepted":
                    complete.append(camera)
    healthy = [c for c in ids if c not in hostile]
    return ({hostile.get(c, c): found.get(c, "LOST") for c in ids if c in hostile}
            | {k: v for k, v in found.items() if k.startswith("(")},
            f"healthy cameras complete: {len([c for c in complete if c in healthy])} "
            f"of {len(healthy)}")


def report(command: str, setup: Setup) -> None:
    # The suite runs where a tester runs it: outside this repository (whose own conftest.py
    # would replace the plugin's fixtures).
    cwd = setup.tmp if command == "suite" else None
    alone = run(command_line(command, setup, "healthy"), cwd)
    done = run(command_line(command, setup, "all"), cwd)
    deadline = DEADLINES.get(command)
    bound = (f" (deadline {deadline:g} s: {done.wall_s / deadline:.0%})"
             if deadline else " (no deadline of its own)")
    print(f"\n{command}: all {len(setup.hostile)} hostile + healthy: exit {done.code}, "
          f"{done.wall_s:.1f} s{bound}, peak RSS {done.rss_mib:.0f} MiB;  healthy alone: "
          f"exit {alone.code}, {alone.wall_s:.1f} s, peak RSS {alone.rss_mib:.0f} MiB")
    found, healthy = outcomes(command, setup, "all", done)
    print(f"  {healthy}")
    for name, outcome in found.items():
        print(f"  {name:28} {outcome}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--healthy", type=int, default=4)
    parser.add_argument("--commands", nargs="+", default=list(COMMANDS), choices=COMMANDS)
    args = parser.parse_args()
    with socket.socket() as listener, tempfile.TemporaryDirectory() as tmp:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.setblocking(False)
        foreign = f"http://127.0.0.1:{listener.getsockname()[1]}/latest/meta-data/"
        named = behaviours(foreign)
        specs = generate_fleet(len(named) + args.healthy, seed=7)
        with Fleet([FleetMember(s) for s in specs]) as fleet:
            setup = prepare(fleet, specs, named, Path(tmp))
            stop = threading.Event()
            responder = threading.Thread(target=respond, args=(fleet.discovery_port, stop),
                                         daemon=True)
            responder.start()
            try:
                for command in args.commands:
                    report(command, setup)
            finally:
                stop.set()
                responder.join(5)
            cleartext = sum(fleet.truth(c)["basic_credentials_received"]
                            for c in fleet.camera_ids)
        try:
            listener.accept()
            print("\nrequests to foreign hosts: at least 1 (a redirect was followed)")
        except BlockingIOError:
            print("\nrequests to foreign hosts: 0")
        print(f"passwords sent in cleartext (HTTP Basic): {cleartext}")


def prepare(fleet: Fleet, specs: list[Any], named: dict[str, list[dict[str, Any]]],
            tmp: Path) -> Setup:
    """Faults in force, targets files and filed registries for all cameras and the healthy."""
    # Behaviours about PTZ values go to domes (a fixed camera has no such values).
    domes = [c for c, s in zip(fleet.camera_ids, specs, strict=True) if s.is_ptz]
    others = [c for c in fleet.camera_ids if c not in domes]
    order = sorted(named, key=lambda n: n not in PTZ_BEHAVIOURS)
    hostile = dict(zip(domes + others, order, strict=False))
    filings = tmp / "filings.csv"
    save(filings_for_fleet(fleet, accepted_on=datetime.now(UTC).date() - timedelta(days=40)),
         filings)
    manifest = fleet.manifest()
    kept = tuple(t for t in manifest.targets if t.id not in hostile)
    setup = Setup(fleet, tmp, hostile, {"all": tmp / "all.json", "healthy": tmp / "healthy.json"},
                  {"all": tmp / "all.sqlite", "healthy": tmp / "healthy.sqlite"})
    manifest.save(setup.targets["all"])
    manifest.model_copy(update={"targets": kept}).save(setup.targets["healthy"])
    for registry in setup.registries.values():
        done = run(devmgr("filings", "import", str(filings), "--registry", str(registry)))
        assert done.code == 0, f"filings import failed: exit {done.code}"
    for camera, name in hostile.items():
        fleet.set_faults(camera, named[name])
    return setup


if __name__ == "__main__":
    main()
