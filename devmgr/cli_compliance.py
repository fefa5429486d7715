"""``devmgr filings | commission | audit | demo``: the compliance half of the command line.

    devmgr filings import filings.csv
    devmgr commission --targets fleet.json
    devmgr audit --targets fleet.json --report reports/
    devmgr demo

Exit codes: 0 done and nothing to act on, 2 bad input (file, option, registry), 3 the audit
has findings above "info" (or commissioning left cameras without a baseline).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from devmgr.cli import RegistryOption, err, fail, out

if TYPE_CHECKING:
    from devmgr.compliance.model import AuditReport
    from devmgr.registry import Registry
    from devmgr.targets import TargetsFile

filings_app = typer.Typer(no_args_is_help=True, help="Filing records (GB/T 28181 + Art. 6-18).")
OperatorOption = Annotated[str | None, typer.Option(
    help="who runs this, for the audit log [default: $CAMFLEET_OPERATOR or the OS user]")]
MoveOption = Annotated[bool, typer.Option(
    "--move/--no-move", help="visit home and each preset (the head returns where it was); "
                             "--no-move keeps only the current view")]


def _open_registry(url: str | None) -> Registry:
    from devmgr.registry import Registry, RegistryError  # noqa: PLC0415

    try:
        return Registry.open(url)
    except RegistryError as exc:
        raise fail(str(exc), 2) from exc


def _load_targets(path: Path) -> TargetsFile:
    from devmgr.targets import TargetsError, load_targets  # noqa: PLC0415

    try:
        targets = load_targets(path)
        for target in targets.targets:
            target.onvif_password()  # a missing $VAR is a setup error: say so now
    except TargetsError as exc:
        raise fail(str(exc), 2) from exc
    return targets


@filings_app.command("import")
def filings_import(
    file: Annotated[Path, typer.Argument(help=".csv, .yaml or .xml (GB/T 28181 catalog)")],
    registry: RegistryOption = None,
) -> None:
    """Import filing records: all of the file, or nothing (errors name file, line, field)."""
    from devmgr.filings import FilingImportError, load  # noqa: PLC0415

    try:
        records = load(file)
    except (FilingImportError, ValueError, OSError) as exc:
        raise fail(str(exc), 2) from exc
    with _open_registry(registry) as reg:
        added = reg.put_filings([(r.device_id, r) for r in records], source=str(file))
    err.print(f"{len(records)} filing records in {file}; {added} new or changed")


@filings_app.command("export")
def filings_export(
    file: Annotated[Path, typer.Argument(help=".csv, .yaml or .xml")],
    registry: RegistryOption = None,
) -> None:
    """Write the filings in force (e.g. the catalog XML for the public security organ)."""
    from devmgr.filings import FilingRecord, save  # noqa: PLC0415

    with _open_registry(registry) as reg:
        records = list(reg.filings(FilingRecord).values())
    try:
        save(records, file)
    except (ValueError, OSError) as exc:
        raise fail(str(exc), 2) from exc
    err.print(f"{len(records)} filing records written to {file}")


@filings_app.command("list")
def filings_list(registry: RegistryOption = None) -> None:
    """The filings in force, one line each."""
    from devmgr.filings import FilingRecord  # noqa: PLC0415

    with _open_registry(registry) as reg:
        records = reg.filings(FilingRecord)
    table = Table("device id", "name", "site", "accepted", "filed", "retention", "serial")
    for device_id, r in records.items():
        table.add_row(device_id, r.name, str(r.site_category), r.acceptance_date.isoformat(),
                      r.filing_date.isoformat() if r.filing_date else "-",
                      r.retention_class.value, r.serial or "")
    out.print(table)


def commission(
    targets: Annotated[Path, typer.Option(help="targets file (a fleet manifest is one)")],
    move: MoveOption = True,
    hfov: Annotated[float | None, typer.Option(
        help="horizontal field of view, degrees [default: the filing's, else 60]")] = None,
    filing_drafts: Annotated[Path | None, typer.Option(
        help="write filing drafts (Art. 9) for unfiled cameras to this .csv/.yaml/.xml")] = None,
    operator: OperatorOption = None,
    registry: RegistryOption = None,
) -> None:
    """Record each camera's baseline: identity, position evidence, PTZ, reference views."""
    from devmgr.compliance.commission import commission as run  # noqa: PLC0415
    from devmgr.filings import save  # noqa: PLC0415
    from devmgr.registry import file_digest  # noqa: PLC0415

    targets_file = _load_targets(targets)
    with _open_registry(registry) as reg, err.status("commissioning ...") as status:
        result = asyncio.run(run(
            targets_file, reg, move=move, operator=operator, hfov_deg=hfov,
            parameters={"targets": str(targets), "targets_sha256": file_digest(targets)},
            progress=status.update))
    table = Table("camera", "target", "views", "problems")
    for key, baseline in sorted(result.baselines.items()):
        table.add_row(key, baseline.target_id, ", ".join(v.name for v in baseline.views),
                      "; ".join(result.problems.get(baseline.target_id, [])))
    for target_id, problems in sorted(result.problems.items()):
        if all(b.target_id != target_id for b in result.baselines.values()):
            table.add_row("-", target_id, "no baseline", "; ".join(problems))
    out.print(table)
    if filing_drafts is not None and result.drafts:
        save(result.drafts, filing_drafts)
        err.print(f"{len(result.drafts)} filing drafts written to {filing_drafts}: complete "
                  "device id, site category and filing date, then import them")
    if len(result.baselines) < len(targets_file.targets):
        raise typer.Exit(3)


def audit(
    targets: Annotated[Path | None, typer.Option(
        help="targets file; without it only filed cameras found by discovery are audited")]
    = None,
    report: Annotated[Path | None, typer.Option(
        help="write audit.json, audit-junit.xml, audit.csv and audit.html here")] = None,
    move: MoveOption = True,
    discover: Annotated[bool, typer.Option(
        "--discover/--no-discover", help="look for cameras that do not answer where expected "
                                         "(WS-Discovery)")] = True,
    interface: Annotated[list[str] | None, typer.Option(
        "--interface", "-i", help="multicast discovery on this interface [default: lo, or the "
                                  "fleet's]")] = None,
    cidr: Annotated[list[str] | None, typer.Option(
        "--cidr", help="also unicast-probe this range when looking (repeatable)")] = None,
    discovery_port: Annotated[int | None, typer.Option(
        help="WS-Discovery port [default: 3702, or the fleet's]")] = None,
    unfiled: Annotated[bool, typer.Option(
        "--unfiled/--no-unfiled", help="report discovered cameras that have no filing")] = False,
    removed_after: Annotated[int, typer.Option(
        help="consecutive audits without an answer before a unit is removed", min=1)] = 3,
    position_tolerance: Annotated[float, typer.Option(help="metres")] = 25.0,
    view_tolerance: Annotated[float, typer.Option(help="degrees of pan/tilt")] = 0.5,
    clock_tolerance: Annotated[float, typer.Option(help="seconds")] = 5.0,
    credentials_check: Annotated[bool, typer.Option(
        "--credential-check/--no-credential-check",
        help="try 3 factory-default logins and SNMP public/private (Art. 17)")] = True,
    operator: OperatorOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
    registry: RegistryOption = None,
) -> None:
    """Compare today with the filings and baselines; findings cite their article."""
    from devmgr.compliance.audit import AuditOptions  # noqa: PLC0415
    from devmgr.compliance.audit import audit as run  # noqa: PLC0415
    from devmgr.compliance.model import AuditSettings  # noqa: PLC0415
    from devmgr.discovery.run import DiscoveryOptions  # noqa: PLC0415
    from devmgr.registry import file_digest  # noqa: PLC0415

    if targets is None and not discover:
        raise fail("give --targets FILE, or --discover to find the filed cameras on the "
                   "network (or both)", 2)
    targets_file = _load_targets(targets) if targets is not None else None
    fleet = targets_file.fleet if targets_file is not None else None
    discovery = DiscoveryOptions(
        interfaces=tuple(interface or [fleet.manager_address if fleet else "lo"]),
        cidrs=tuple(cidr or ()),
        port=discovery_port or (fleet.discovery_port if fleet else 3702),
        wait_s=1.5) if discover else None
    settings = AuditSettings(position_tolerance_m=position_tolerance,
                             view_tolerance_deg=view_tolerance,
                             clock_tolerance_s=clock_tolerance, removed_after=removed_after)
    parameters: dict[str, object] = {"targets": str(targets) if targets else None}
    if targets is not None:
        parameters["targets_sha256"] = file_digest(targets)
    options = AuditOptions(settings=settings, move=move, operator=operator,
                           discovery=discovery, report_unfiled_discoveries=unfiled,
                           check_credentials=credentials_check, parameters=parameters)
    with _open_registry(registry) as reg:
        with err.status("auditing ...") as status:
            result = asyncio.run(run(targets_file, reg, options, progress=status.update))
        if report is not None:
            write_report(result, report, reg)
    if as_json:
        print(json.dumps(json.loads(result.model_dump_json()), indent=2))
    else:
        print_summary(result)
    if any(f.severity != "info" for f in result.findings):
        raise typer.Exit(3)


def write_report(result: AuditReport, directory: Path, registry: Registry) -> None:
    from devmgr.report import write_reports  # noqa: PLC0415

    try:
        written = write_reports(result, directory, images=registry.snapshot)
    except OSError as exc:
        raise fail(f"cannot write the report to {directory}: {exc}", 2) from exc
    err.print(f"report: {written.get('html', directory)}")


def print_summary(result: AuditReport) -> None:
    table = Table("camera", "name", "status", "rule", "article", "severity", "message")
    for cam in result.cameras:
        if not cam.findings:
            table.add_row(cam.camera, cam.name, cam.status, "", "", "", "")
        for f in cam.findings:
            table.add_row(cam.camera, cam.name, cam.status, f.rule, f.article,
                          f.severity.value, f.message)
    out.print(table)
    counts: dict[str, int] = {}
    for cam in result.cameras:
        counts[cam.status] = counts.get(cam.status, 0) + 1
    err.print(", ".join(f"{n} {status}" for status, n in sorted(counts.items())))


def demo(
    out_dir: Annotated[Path, typer.Option("--out", help="where the registry and report go")]
    = Path("camfleet-demo"),
    cameras: Annotated[int, typer.Option(help="cameras in the simulated fleet", min=8)] = 8,
    seed: Annotated[int, typer.Option(help="fleet seed")] = 3,
) -> None:
    """Simulated fleet -> filings -> commission -> faults -> audits -> HTML report."""
    from devmgr.demo import run_demo  # noqa: PLC0415

    html = run_demo(out_dir, cameras=cameras, seed=seed, say=err.print)
    out.print(f"open {html}")


def register(app: typer.Typer) -> None:
    app.add_typer(filings_app, name="filings")
    app.command()(commission)
    app.command()(audit)
    app.command()(demo)
