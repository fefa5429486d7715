"""Command line of the simulators.

    python -m simulators camera --spec simulators/specs/dome.yaml
    python -m simulators fleet --count 50 --seed 1 --manifest fleet.json
    python -m simulators demo

``camera`` serves one camera until SIGINT/SIGTERM (then it says Bye and frees its ports) and
prints one JSON line with its endpoints, so scripts can start it and read where it listens.
``fleet`` runs a generated or described fleet until SIGINT/SIGTERM and writes its manifest.
``demo`` starts the example camera on free loopback ports and queries it with independent
clients (onvif-zeep-async, pysnmp, a raw WS-Discovery probe).
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import json
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from camfleet.protocols import wsdiscovery as wsd
from simulators.spec import CameraSpec, SpecError, load_spec


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m simulators",
                                     description="Simulated ONVIF + SNMP cameras.")
    commands = parser.add_subparsers(dest="command", required=True)

    camera = commands.add_parser("camera", help="serve one simulated camera until interrupted")
    camera.add_argument("--spec", type=Path, help="camera spec (YAML); default: the example dome")
    camera.add_argument("--address", help="IP address to serve on (overrides the spec)")
    camera.add_argument("--http-port", type=int, help="ONVIF HTTP port (0 = any free port)")
    camera.add_argument("--snmp-port", type=int, help="SNMP UDP port (0 = any free port)")
    camera.add_argument("--discovery-port", type=int,
                        help=f"WS-Discovery UDP port (default {wsd.PORT})")

    fleet = commands.add_parser("fleet", help="run a fleet of cameras until interrupted")
    source = fleet.add_mutually_exclusive_group(required=True)
    source.add_argument("--count", type=int, help="generate this many cameras")
    source.add_argument("--spec", type=Path, help="fleet file (YAML): cameras and templates")
    fleet.add_argument("--seed", type=int, default=0, help="seed of the generated fleet")
    fleet.add_argument("--backend", choices=("loopback", "netns", "docker"), default="loopback")
    fleet.add_argument("--manifest", type=Path, required=True,
                       help="where to write the manifest (a targets file, JSON)")
    fleet.add_argument("--workers", type=int, help="worker processes (default: by size)")
    fleet.add_argument("--address-base", help="loopback /16 to use, e.g. 127.42.0.0/16")
    fleet.add_argument("--http-port", type=int, help="ONVIF HTTP port of every camera")
    fleet.add_argument("--snmp-port", type=int, help="SNMP port of every camera")
    fleet.add_argument("--discovery-port", type=int, default=wsd.PORT)
    fleet.add_argument("--control-port", type=int, default=0,
                       help="port of the control API on 127.0.0.1 (default: any free port)")

    demo = commands.add_parser("demo", help="start the example camera and query it")
    demo.add_argument("--out", type=Path, default=Path("out"),
                      help="directory for the snapshot the demo fetches (default: ./out)")
    return parser


def spec_from_args(args: argparse.Namespace) -> CameraSpec:
    spec = load_spec(args.spec) if args.spec else CameraSpec.example()
    network = {key: value for key, value in (("address", args.address),
                                             ("http_port", args.http_port),
                                             ("discovery_port", args.discovery_port))
               if value is not None}
    if network:
        spec = spec.with_network(**network)
    if args.snmp_port is not None:
        spec = spec.model_copy(update={"snmp": spec.snmp.model_copy(
            update={"port": args.snmp_port})})
    return spec


async def serve(spec: CameraSpec) -> None:
    from simulators.camera import SimulatedCamera  # noqa: PLC0415 (keeps --help fast)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with SimulatedCamera(spec) as camera:
        print(json.dumps({"id": spec.id, "address": camera.address,
                          "device_service": camera.device_url,
                          "snapshot": camera.snapshot_url, "snmp_port": camera.snmp_port,
                          "rtsp_port": camera.streams.port,
                          "discovery_port": camera.discovery.port}), flush=True)
        await stop.wait()


def run_fleet(args: argparse.Namespace) -> int:
    from simulators.fleet.errors import FleetError  # noqa: PLC0415
    from simulators.fleet.fleet import Fleet  # noqa: PLC0415
    from simulators.fleet.generate import (  # noqa: PLC0415
        FleetMember,
        generate_fleet,
        load_fleet_file,
        load_fleet_switches,
    )

    switches = []
    if args.spec is not None:
        members = load_fleet_file(args.spec)
        switches = load_fleet_switches(args.spec)
    else:
        if args.count < 1:
            print("error: --count must be at least 1", file=sys.stderr)
            return 2
        members = [FleetMember(spec) for spec in generate_fleet(args.count, args.seed)]
    try:
        fleet = Fleet(members, backend=args.backend, workers=args.workers,
                      address_base=args.address_base, http_port=args.http_port,
                      snmp_port=args.snmp_port, discovery_port=args.discovery_port,
                      switches=switches)
    except FleetError as exc:  # e.g. a camera attached to a switch the file does not list
        print(f"error: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        fleet.start(control_port=args.control_port)
    except FleetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    try:
        fleet.manifest().save(args.manifest)
        manifest = fleet.manifest()
        faulty = sum(1 for m in manifest.fleet.members.values() if m.faults) \
            if manifest.fleet else 0
        control = fleet.control.url if fleet.control is not None else ""
        print(json.dumps({"cameras": len(members), "backend": args.backend,
                          "manifest": str(args.manifest), "control": control,
                          "faulty": faulty, "start_seconds": round(fleet.start_seconds, 2)}),
              flush=True)
        stop.wait()
    finally:
        fleet.stop()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "fleet":
            return run_fleet(args)
        if args.command == "camera":
            asyncio.run(serve(spec_from_args(args)))
        elif args.command == "demo":
            from simulators.demo import run_demo  # noqa: PLC0415

            return asyncio.run(run_demo(args.out))
    except SpecError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        hint = ""
        if exc.errno == errno.EACCES:
            hint = " (ports below 1024 need root: pass --http-port 8080 --snmp-port 1161)"
        elif exc.errno == errno.EADDRINUSE:
            hint = " (another process holds that port: pick another with --http-port)"
        elif exc.errno == errno.EADDRNOTAVAIL:
            hint = " (that address is not on any interface of this machine)"
        print(f"error: cannot start the camera: {exc.strerror or exc}{hint}", file=sys.stderr)
        return 1
    return 0
