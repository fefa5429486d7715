"""``devmgr discover | inventory | monitor``: find cameras and collect what they are.

    devmgr discover --interface lo --cidr 127.42.0.0/24 --snmp-community public
    devmgr inventory --targets fleet.json
    devmgr monitor --interface lo

Every sweep is recorded in the registry (``--registry``: a SQLite file by default, or a
PostgreSQL URL), with an audit-log entry for what was read of each camera; the recording is
the library's (:mod:`devmgr.inventory.recorded`, :mod:`devmgr.discovery.recorded`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from camfleet.protocols import wsdiscovery as wsd
from devmgr.cli._console import (
    JsonOption,
    OperatorOption,
    RegistryOption,
    add_row,
    dump_json,
    err,
    fail,
    literal,
    load_targets,
    open_registry,
    out,
    say,
)
from devmgr.cli.city import (
    BatchOption,
    BrokerOption,
    CollectorWaitOption,
    DeadlineOption,
    DistributedOption,
    RouteOption,
    distributed_run,
)
from devmgr.inventory.model import Inventory

if TYPE_CHECKING:
    from devmgr.discovery.wsd import DiscoveryEvent

__all__ = ["discover", "inventory", "monitor"]

#: Where the data goes besides the registry, for the audit log.
_SHOWN = "shown to the operator (table or --json on standard output)"


def discover(
    cidr: Annotated[list[str] | None, typer.Option(
        "--cidr", help="unicast WS-Discovery and SNMP sweep of this range (repeatable)")] = None,
    interface: Annotated[list[str] | None, typer.Option(
        "--interface", "-i", help="multicast Probe on this interface or address "
                                  "(repeatable) [default: lo]")] = None,
    timeout: Annotated[float, typer.Option(help="multicast listening time, and per-host "
                                                "timeout of the sweeps, seconds")] = 2.0,
    port: Annotated[int, typer.Option(help="WS-Discovery port")] = wsd.PORT,
    snmp_community: Annotated[list[str] | None, typer.Option(
        "--snmp-community", help="v2c community to try in the SNMP sweep (repeatable)",
        envvar="CAMFLEET_SNMP_COMMUNITY")] = None,
    no_multicast: Annotated[bool, typer.Option("--no-multicast")] = False,
    arp: Annotated[str | None, typer.Option(
        "--arp", help="also ARP-sweep the --cidr ranges on this interface (needs root or "
                      "CAP_NET_RAW, and scapy): finds units with discovery and SNMP off")] = None,
    as_json: JsonOption = False,
    operator: OperatorOption = None,
    registry: RegistryOption = None,
) -> None:
    """Find every camera by every route: WS-Discovery (multicast, unicast sweep), SNMP and
    ARP."""
    from devmgr.discovery.recorded import recorded_discovery  # noqa: PLC0415
    from devmgr.discovery.run import DiscoveryOptions  # noqa: PLC0415
    from devmgr.discovery.wsd import TooManyHosts  # noqa: PLC0415
    from devmgr.snmp import SnmpConfig  # noqa: PLC0415

    snmp = SnmpConfig(communities=tuple(snmp_community), timeout_s=min(timeout, 5.0)) \
        if snmp_community else None
    options = DiscoveryOptions(interfaces=() if no_multicast else tuple(interface or ["lo"]),
                               cidrs=tuple(cidr or ()), port=port, wait_s=timeout,
                               timeout_s=min(timeout, 5.0), snmp=snmp, arp_interface=arp)
    with open_registry(registry) as reg:
        try:
            with err.status("discovering ...", spinner="dots") as status:
                report = asyncio.run(recorded_discovery(
                    options, reg, operator=operator, also_to=_SHOWN, progress=status.update))
        except (TooManyHosts, ValueError, OSError) as exc:
            raise fail(str(exc)) from exc
    for sweep in report.arp:
        if sweep.error:
            err.print(f"ARP sweep of {sweep.network} did not run: {sweep.error}")
    if as_json:
        print(json.dumps({"devices": json.loads(dump_json(report.devices)),
                          "unreadable_replies": json.loads(dump_json(report.unreadable))},
                         indent=2))
        return
    table = Table(title=f"{len(report.devices)} devices ({report.elapsed_s:.1f} s)")
    for column in ("address", "found by", "vendor", "model", "serial", "MAC", "device service",
                   "non-conformant"):
        table.add_column(column)
    for device in report.devices:
        add_row(table, ", ".join(device.addresses), " ".join(r.value for r in device.routes),
                device.vendor, device.model, device.serial, device.mac or "",
                device.xaddrs[0] if device.xaddrs else "", "; ".join(device.nonconformities))
    out.print(table)
    if report.unreadable:
        unreadable = Table(title=f"{len(report.unreadable)} unreadable WS-Discovery replies")
        unreadable.add_column("from")
        unreadable.add_column("why it could not be read")
        for reply in report.unreadable:
            add_row(unreadable, reply.address, reply.reason)
        out.print(unreadable)


def inventory(
    targets: Annotated[Path, typer.Option(help="targets file (a fleet manifest is one)",
                                          exists=False)],
    concurrency: Annotated[int, typer.Option(help="cameras in flight at once")] = 256,
    call_timeout: Annotated[float, typer.Option(help="seconds per ONVIF call")] = 5.0,
    camera_timeout: Annotated[float, typer.Option(help="seconds per camera")] = 30.0,
    sweep_timeout: Annotated[float | None, typer.Option(help="seconds for the sweep")] = None,
    snmp: Annotated[bool, typer.Option(help="also read SNMP identity and uptime")] = True,
    processes: Annotated[int | None, typer.Option(
        help="worker processes (default: one per 100 cameras, at most one per core)")] = None,
    as_json: JsonOption = False,
    operator: OperatorOption = None,
    registry: RegistryOption = None,
    distributed: DistributedOption = False,
    route: RouteOption = None,
    collector_wait: CollectorWaitOption = 30.0,
    deadline: DeadlineOption = 3600.0,
    batch: BatchOption = None,
    broker: BrokerOption = None,
) -> None:
    """Collect what each camera of a targets file is, over ONVIF and SNMP."""
    from camfleet.targets import TargetsError  # noqa: PLC0415
    from devmgr.inventory.recorded import recorded_inventory  # noqa: PLC0415
    from devmgr.onvif.session import Timeouts  # noqa: PLC0415
    from devmgr.registry import file_digest  # noqa: PLC0415

    if distributed:
        with open_registry(registry) as reg:
            run = distributed_run(
                "inventory", load_targets(targets), reg, broker=broker, routes=route,
                collector_wait=collector_wait, deadline=deadline, batch=batch,
                operator=operator,
                call_timeout_s=call_timeout,
                parameters={"targets": str(targets), "targets_sha256": file_digest(targets)})
        if as_json:
            print(dump_json(run.inventories))
        else:
            _inventory_table(run.inventories)
        if run.undone:
            raise typer.Exit(4)
        if any(inv.errors for inv in run.inventories):
            raise typer.Exit(3)
        return
    listed = list(load_targets(targets).targets)
    timeouts = Timeouts(call=call_timeout, camera=camera_timeout, sweep=sweep_timeout)
    columns = (TextColumn("inventory"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with open_registry(registry) as reg, \
            Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task("inventory", total=len(listed))
        try:
            found = asyncio.run(recorded_inventory(
                listed, reg, operator=operator, also_to=_SHOWN,
                parameters={"targets": str(targets), "targets_sha256": file_digest(targets)},
                processes=processes, concurrency=concurrency, timeouts=timeouts, snmp=snmp,
                progress=lambda _inv: bar.advance(task)))
        except TargetsError as exc:
            raise fail(str(exc), 2) from exc
    if as_json:
        print(dump_json(found))
        return
    _inventory_table(found)
    if any(inv.errors for inv in found):
        raise typer.Exit(3)


def _inventory_table(found: list[Inventory]) -> None:
    ok = sum(1 for inv in found if not inv.errors)
    table = Table(title=f"{len(found)} cameras, {ok} complete")
    for column in ("id", "address", "vendor / model", "firmware", "serial", "MAC", "clock",
                   "video", "PTZ", "retention", "problems"):
        table.add_column(column, overflow="fold")
    for inv in found:
        device = inv.device
        problems = "; ".join(f"{e.kind.value}: {e.operation}" for e in inv.errors)
        add_row(
            table, inv.target_id, inv.address,
            f"{device.manufacturer} {device.model}" if device else "",
            device.firmware if device else "", device.serial if device else "", inv.mac or "",
            f"{inv.clock_offset_s:+.1f} s" if inv.clock_offset_s is not None else "",
            # The main stream's encoder only: the table stays narrow enough for its
            # problems column (every profile's is in --json).
            next((p.video_encoder.describe(short=True) for p in inv.profiles
                  if p.video_encoder is not None), ""),
            f"{len(inv.ptz.presets)} presets" if inv.ptz else "",
            f"{inv.recording_retention_days:g} d" if inv.recording_retention_days else "",
            Text(problems, style="red"))
    out.print(table)


def monitor(
    interface: Annotated[list[str] | None, typer.Option(
        "--interface", "-i", help="listen on this interface or address [default: lo]")] = None,
    port: Annotated[int, typer.Option(help="WS-Discovery port")] = wsd.PORT,
    events: Annotated[bool, typer.Option(
        "--events", help="follow the tamper events of the cameras of --targets (ONVIF pull "
                         "points) instead of Hello/Bye")] = False,
    targets: Annotated[Path | None, typer.Option(
        help="targets file whose cameras --events follows")] = None,
    motion: Annotated[bool, typer.Option("--motion", help="with --events: motion too")] = False,
    duration: Annotated[float | None, typer.Option(
        help="stop after this many seconds [default: until Ctrl-C]", min=0)] = None,
    keep: Annotated[bool, typer.Option(
        "--keep/--no-keep", help="with --events: keep the events in the registry, where the "
                                 "next audit shows them as the camera's own evidence")] = True,
    as_json: JsonOption = False,
    operator: OperatorOption = None,
    registry: RegistryOption = None,
) -> None:
    """Report cameras joining (Hello) and leaving (Bye), or with --events their tamper events,
    as it happens, until Ctrl-C."""
    from devmgr.discovery.wsd import DiscoveryMonitor  # noqa: PLC0415

    if events:
        if targets is None:
            raise fail("--events follows the cameras of a targets file: give --targets FILE", 2)
        _monitor_events(targets, motion=motion, duration=duration, as_json=as_json,
                        registry=registry, keep=keep, operator=operator)
        return

    async def run() -> None:
        async with DiscoveryMonitor(interface or ["lo"], port=port,
                                    report_unreadable=True) as watcher:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(duration):
                    async for event in watcher.events():
                        _print_discovery_event(event, as_json=as_json)
            stats = watcher.stats
        say(f"heard {stats.hellos} Hello, {stats.byes} Bye, {stats.invalid} unreadable, "
            f"{stats.duplicates} repeated", to=err)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())


def _print_discovery_event(event: DiscoveryEvent, *, as_json: bool) -> None:
    if as_json:
        print(json.dumps({"event": event.kind, "address": event.address,
                          "endpoint": event.endpoint, "xaddrs": list(event.xaddrs),
                          **({"reason": event.reason} if event.kind == "unreadable" else {})}),
              flush=True)
    elif event.kind == "unreadable":
        from devmgr.discovery.wsd._monitor import UNREADABLE_EVERY_S  # noqa: PLC0415

        out.print(Text.assemble(("unreadable", "red"), " ", literal(
            f"{event.address}: {event.reason} (more from it within "
            f"{UNREADABLE_EVERY_S:g} s are only counted)")))
    else:
        verb = ("joined", "green") if event.kind == "joined" else ("left", "yellow")
        out.print(Text.assemble(verb, " ", literal(
            f"{event.address} {event.endpoint} {' '.join(event.xaddrs)}")))


def _monitor_events(targets: Path, *, motion: bool, duration: float | None,
                    as_json: bool, registry: str | None, keep: bool,
                    operator: str | None) -> None:
    """Follow the events; with ``keep``, keep them in the registry and log each subscription
    as a retrieval (Art. 16(3))."""
    from camfleet.printable import printable  # noqa: PLC0415
    from devmgr.media.events import EventWatch, follow_events  # noqa: PLC0415
    from devmgr.registry import Retrieval, default_operator  # noqa: PLC0415

    listed = list(load_targets(targets).targets)
    by_id = {t.id: t for t in listed}
    watch = EventWatch(motion=motion, duration_s=duration)
    store = open_registry(registry) if keep else None
    who = operator or default_operator()

    def status(camera: str, words: str) -> None:
        say(printable(f"{camera}: {words}"), to=err)
        if store is not None and words == "subscribed":
            store.log_retrievals([Retrieval(
                who=who, how="ONVIF events (pull point)", purpose="tamper monitoring "
                "(regulation Art. 7, 12)", destination=f"registry {store.url}, camera_events; "
                f"{_SHOWN}", target_id=camera, address=by_id[camera].address,
                what="the camera's tamper events while monitored")])

    async def run() -> None:
        async for event in follow_events(listed, watch, status=status):
            if store is not None:
                store.record_camera_events([(event.target_id, event.received_at, event)])
            if as_json:
                print(event.model_dump_json(), flush=True)
                continue
            at = (event.utc_time or event.received_at).isoformat(timespec="milliseconds")
            say(printable(f"{at} {event.camera} {event.topic} {event.state or '-'} "
                          f"({event.operation or 'event'})"))

    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(run())
    finally:
        if store is not None:
            store.close()
