"""``devmgr``: the command line over devmgr's library (a thin layer: parse, call, print).

    devmgr discover --interface lo --cidr 127.42.0.0/24 --snmp-community public
    devmgr inventory --targets fleet.json
    devmgr monitor --interface lo
    devmgr filings import filings.csv; devmgr commission ...; devmgr audit ...; devmgr demo

Readable tables by default (rich), ``--json`` for scripts; progress goes to stderr so
``--json`` output stays clean. Every sweep is recorded in the registry (``--registry``: a
SQLite file by default, any SQLAlchemy URL).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from devmgr.inventory.model import DiscoveredDevice, Inventory

app = typer.Typer(no_args_is_help=True, add_completion=False,
                  help="Discover, inventory and audit fleets of ONVIF/SNMP cameras.")
# Not a terminal (a pipe, CI): wide enough that tables do not fold every cell.
out = Console(width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, soft_wrap=True)  # messages stay whole lines, for grep and logs

RegistryOption = Annotated[str | None, typer.Option(
    "--registry", help="registry: a SQLite file or SQLAlchemy URL "
                       "[default: ./camfleet-registry.sqlite]", envvar="CAMFLEET_REGISTRY")]
JsonOption = Annotated[bool, typer.Option("--json", help="print JSON instead of a table")]


def fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}")
    return typer.Exit(code)


def _dump(models: list[Any]) -> str:
    # Through model_dump_json: it writes an INF limit as "Infinity", which stays valid JSON.
    return json.dumps([json.loads(m.model_dump_json(exclude_none=True)) for m in models],
                      indent=2)


@app.command()
def discover(
    cidr: Annotated[list[str] | None, typer.Option(
        "--cidr", help="unicast WS-Discovery and SNMP sweep of this range (repeatable)")] = None,
    interface: Annotated[list[str] | None, typer.Option(
        "--interface", "-i", help="multicast Probe on this interface or address "
                                  "(repeatable) [default: lo]")] = None,
    timeout: Annotated[float, typer.Option(help="multicast listening time, and per-host "
                                                "timeout of the sweeps, seconds")] = 2.0,
    port: Annotated[int, typer.Option(help="WS-Discovery port")] = 3702,
    snmp_community: Annotated[list[str] | None, typer.Option(
        "--snmp-community", help="v2c community to try in the SNMP sweep (repeatable)",
        envvar="CAMFLEET_SNMP_COMMUNITY")] = None,
    no_multicast: Annotated[bool, typer.Option("--no-multicast")] = False,
    as_json: JsonOption = False,
    registry: RegistryOption = None,
) -> None:
    """Find every camera by every route: WS-Discovery (multicast, unicast sweep) and SNMP."""
    from devmgr.discovery.run import DiscoveryOptions, discover  # noqa: PLC0415
    from devmgr.discovery.wsd import TooManyHosts  # noqa: PLC0415
    from devmgr.snmp import SnmpConfig  # noqa: PLC0415

    snmp = SnmpConfig(communities=tuple(snmp_community), timeout_s=min(timeout, 5.0)) \
        if snmp_community else None
    options = DiscoveryOptions(interfaces=() if no_multicast else tuple(interface or ["lo"]),
                               cidrs=tuple(cidr or ()), port=port, wait_s=timeout,
                               timeout_s=min(timeout, 5.0), snmp=snmp)
    try:
        with err.status("discovering ...", spinner="dots") as status:
            report = asyncio.run(discover(options, progress=status.update))
    except (TooManyHosts, ValueError, OSError) as exc:
        raise fail(str(exc)) from exc
    _record("discover", {"cidrs": list(options.cidrs), "interfaces": list(options.interfaces)},
            registry, discovered=report.devices)
    if as_json:
        print(_dump(report.devices))
        return
    table = Table(title=f"{len(report.devices)} devices ({report.elapsed_s:.1f} s)")
    for column in ("address", "found by", "vendor", "model", "serial", "MAC", "device service"):
        table.add_column(column)
    for device in report.devices:
        table.add_row(", ".join(device.addresses), " ".join(r.value for r in device.routes),
                      device.vendor, device.model, device.serial, device.mac or "",
                      device.xaddrs[0] if device.xaddrs else "")
    out.print(table)


@app.command()
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
    registry: RegistryOption = None,
) -> None:
    """Collect what each camera of a targets file is, over ONVIF and SNMP."""
    from devmgr.inventory.parallel import parallel_inventory_sweep  # noqa: PLC0415
    from devmgr.onvif.session import Timeouts  # noqa: PLC0415
    from devmgr.registry import file_digest  # noqa: PLC0415
    from devmgr.targets import TargetsError, load_targets  # noqa: PLC0415

    try:
        targets_file = load_targets(targets)
        for target in targets_file.targets:  # a missing $VAR is a setup error: say so now
            target.onvif_password()
    except TargetsError as exc:
        raise fail(str(exc), 2) from exc
    listed = list(targets_file.targets)
    timeouts = Timeouts(call=call_timeout, camera=camera_timeout, sweep=sweep_timeout)
    columns = (TextColumn("inventory"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task("inventory", total=len(listed))
        try:
            found = asyncio.run(parallel_inventory_sweep(
                listed, processes=processes, concurrency=concurrency, timeouts=timeouts,
                snmp=snmp, progress=lambda _inv: bar.advance(task)))
        except TargetsError as exc:
            raise fail(str(exc), 2) from exc
    _record("inventory", {"targets": str(targets), "targets_sha256": file_digest(targets)},
            registry, inventories=found)
    if as_json:
        print(_dump(found))
        return
    _inventory_table(found)
    if any(inv.errors for inv in found):
        raise typer.Exit(3)


def _inventory_table(found: list[Inventory]) -> None:
    ok = sum(1 for inv in found if not inv.errors)
    table = Table(title=f"{len(found)} cameras, {ok} complete")
    for column in ("id", "address", "vendor / model", "firmware", "serial", "MAC", "clock",
                   "PTZ", "retention", "problems"):
        table.add_column(column, overflow="fold")
    for inv in found:
        device = inv.device
        problems = "; ".join(f"{e.kind.value}: {e.operation}" for e in inv.errors)
        table.add_row(
            inv.target_id, inv.address,
            f"{device.manufacturer} {device.model}" if device else "",
            device.firmware if device else "", device.serial if device else "", inv.mac or "",
            f"{inv.clock_offset_s:+.1f} s" if inv.clock_offset_s is not None else "",
            f"{len(inv.ptz.presets)} presets" if inv.ptz else "",
            f"{inv.recording_retention_days:g} d" if inv.recording_retention_days else "",
            f"[red]{problems}[/red]" if problems else "")
    out.print(table)


@app.command()
def monitor(
    interface: Annotated[list[str] | None, typer.Option(
        "--interface", "-i", help="listen on this interface or address [default: lo]")] = None,
    port: Annotated[int, typer.Option(help="WS-Discovery port")] = 3702,
    as_json: JsonOption = False,
) -> None:
    """Report cameras joining (Hello) and leaving (Bye) as it happens, until Ctrl-C."""
    from devmgr.discovery.wsd import DiscoveryMonitor  # noqa: PLC0415

    async def run() -> None:
        async with DiscoveryMonitor(interface or ["lo"], port=port) as watcher:
            async for event in watcher.events():
                if as_json:
                    print(json.dumps({"event": event.kind, "address": event.address,
                                      "endpoint": event.endpoint,
                                      "xaddrs": list(event.xaddrs)}), flush=True)
                else:
                    verb = "[green]joined[/green]" if event.kind == "joined" else \
                        "[yellow]left[/yellow]"
                    out.print(f"{verb} {event.address} {event.endpoint} "
                              f"{' '.join(event.xaddrs)}")

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())


def _record(kind: str, parameters: dict[str, Any], url: str | None, *,
            inventories: list[Inventory] | None = None,
            discovered: list[DiscoveredDevice] | None = None) -> None:
    from devmgr.registry import Registry, RegistryError  # noqa: PLC0415

    try:
        with Registry.open(url) as registry, registry.sweep(kind, parameters) as sweep_id:
            if inventories:
                registry.record_inventories(sweep_id, inventories)
            for device in discovered or []:
                registry.record_discovery(sweep_id, device)
    except RegistryError as exc:
        err.print(f"[yellow]warning:[/yellow] not recorded in the registry: {exc}")


def main() -> None:
    from devmgr import cli_compliance  # noqa: PLC0415 (it imports this module)

    cli_compliance.register(app)
    app(prog_name="devmgr")


if __name__ == "__main__":
    main()
