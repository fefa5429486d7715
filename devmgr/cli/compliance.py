"""``devmgr filings | commission | audit``: the compliance half of the command line.

    devmgr filings import filings.csv
    devmgr commission --targets fleet.json
    devmgr audit --targets fleet.json --report reports/

Exit codes: 0 done and nothing to act on, 2 bad input (file, option) or a registry that
cannot be opened, read or written, 3 the audit has findings above "info" (or commissioning
left cameras without a baseline), 4 a ``--distributed`` run ended without every camera's
result (a district without a collector, the deadline).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from camfleet.protocols import wsdiscovery as wsd
from devmgr.cli._console import (
    HeadWaitOption,
    OperatorOption,
    RegistryOption,
    add_row,
    err,
    fail,
    guarded,
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

if TYPE_CHECKING:
    from camfleet.targets import TargetsFile
    from devmgr.compliance.model import AuditReport
    from devmgr.registry import Registry

filings_app = typer.Typer(no_args_is_help=True, help="Filing records (GB/T 28181 + Art. 6-18).")
MoveOption = Annotated[bool, typer.Option(
    "--move/--no-move", help="visit home and each preset (the head returns where it was); "
                             "--no-move keeps only the current view")]


@filings_app.command("import")
@guarded
def filings_import(
    file: Annotated[Path, typer.Argument(help=".csv, .yaml or .xml (GB/T 28181 catalog)")],
    encoding: Annotated[str | None, typer.Option(
        help="read a catalog in this encoding whatever it declares (e.g. gbk, when a "
             "platform labels GBK as GB2312)")] = None,
    registry: RegistryOption = None,
) -> None:
    """Import filing records: all of the file, or nothing (errors name file, line, field).

    A platform's catalog imports as it comes: directory nodes are kept as the organisation
    tree, other devices skipped, cameras without the regulation fields kept as incomplete
    filings (the audit reports them), or with those of their filing in force when there is
    one; the counts are printed.
    """
    from devmgr.filings import FilingImportError, FilingRecord, load  # noqa: PLC0415

    try:
        imported = load(file, encoding=encoding)
    except (FilingImportError, ValueError, OSError) as exc:
        raise fail(str(exc), 2) from exc
    with open_registry(registry) as reg:
        imported.keep_filed(reg.filings(FilingRecord))
        nodes = reg.put_catalog_nodes([(n.device_id, n) for n in imported.nodes],
                                      source=str(file))
        added = reg.put_filings([(r.device_id, r) for r in imported.records], source=str(file))
    for line in imported.summary():
        say(line, to=err)
    err.print(f"registry: {added} filings and {nodes} directory nodes new or changed")


@filings_app.command("export")
@guarded
def filings_export(
    file: Annotated[Path, typer.Argument(help=".csv, .yaml or .xml")],
    platform_id: Annotated[str | None, typer.Option(
        help="the catalog's own DeviceID: the 20-digit id of the system it is sent as "
             "(required for .xml)")] = None,
    encoding: Annotated[str | None, typer.Option(
        help="catalog (.xml) encoding: gb2312 (what platforms assume), gb18030 or utf-8 "
             "[default: gb2312; CSV and YAML are always UTF-8]")] = None,
    registry: RegistryOption = None,
) -> None:
    """Write the filings in force (e.g. the catalog XML for the public security organ)."""
    from devmgr.filings import (  # noqa: PLC0415
        EXPORT_ENCODINGS,
        CatalogNode,
        FilingRecord,
        export_encoding,
        save,
    )

    xml = file.suffix.lower() == ".xml"
    if xml and not platform_id:
        raise fail("a catalog names its sender: give --platform-id (the 20-digit DeviceID of "
                   "the system the catalog is sent as)", 2)
    try:
        chosen = export_encoding(encoding or ("gb2312" if xml else "utf-8"))
        with open_registry(registry) as reg:
            records = list(reg.filings(FilingRecord).values())
            nodes = list(reg.catalog_nodes(CatalogNode).values())
        save(records, file, nodes=nodes, platform_id=platform_id, encoding=chosen)
    except (ValueError, OSError) as exc:  # FilingExportError names camera and element
        raise fail(str(exc), 2) from exc
    if xml:
        err.print(f"{len(records)} filing records and {len(nodes)} directory nodes written to "
                  f"{file} ({EXPORT_ENCODINGS[chosen]})")
    else:
        tree = f"; {len(nodes)} directory nodes go to catalogs (.xml) only" if nodes else ""
        err.print(f"{len(records)} filing records written to {file}{tree}")


@filings_app.command("list")
@guarded
def filings_list(registry: RegistryOption = None) -> None:
    """The filings in force, one line each; "missing" names what an incomplete filing lacks."""
    from devmgr.filings import CatalogNode, FilingRecord  # noqa: PLC0415

    with open_registry(registry) as reg:
        records = reg.filings(FilingRecord)
        nodes = reg.catalog_nodes(CatalogNode)
    table = Table("device id", "name", "site", "accepted", "filed", "retention", "serial",
                  "missing")
    for device_id, r in records.items():
        add_row(table, device_id, r.name, str(r.site_category or "-"),
                r.acceptance_date.isoformat() if r.acceptance_date else "-",
                r.filing_date.isoformat() if r.filing_date else "-",
                r.retention_class.value, r.serial or "", ", ".join(r.missing))
    out.print(table)
    incomplete = sum(1 for r in records.values() if r.missing)
    err.print(f"{len(records)} filings ({incomplete} incomplete), {len(nodes)} directory nodes")


def commission(
    targets: Annotated[Path, typer.Option(help="targets file (a fleet manifest is one)")],
    move: MoveOption = True,
    hfov: Annotated[float | None, typer.Option(
        help="horizontal field of view, degrees [default: the filing's, else 60]")] = None,
    filing_drafts: Annotated[Path | None, typer.Option(
        help="write filing drafts (Art. 9) for unfiled cameras to this .csv or .yaml, to "
             "complete and import")] = None,
    operator: OperatorOption = None,
    head_wait: HeadWaitOption = 120.0,
    registry: RegistryOption = None,
) -> None:
    """Record each camera's baseline: identity, position evidence, PTZ, reference views."""
    from devmgr.compliance.commission import commission as run  # noqa: PLC0415
    from devmgr.compliance.rules.presence import position_kind  # noqa: PLC0415
    from devmgr.filings import save  # noqa: PLC0415
    from devmgr.registry import file_digest  # noqa: PLC0415

    if filing_drafts is not None and filing_drafts.suffix.lower() not in {".csv", ".yaml", ".yml"}:
        # drafts are to be edited; a catalog (.xml) is what `filings export` sends
        raise fail(f"--filing-drafts {filing_drafts}: write drafts as .csv or .yaml", 2)
    targets_file = load_targets(targets)
    with open_registry(registry) as reg, err.status("commissioning ...") as status:
        result = asyncio.run(run(
            targets_file, reg, move=move, operator=operator, hfov_deg=hfov,
            parameters={"targets": str(targets), "targets_sha256": file_digest(targets)},
            head_wait_s=head_wait, progress=status.update))
    for line in result.restored:
        say(line, to=err)
    table = Table("camera", "target", "position", "views", "problems")
    for key, baseline in sorted(result.baselines.items()):
        add_row(table, key, baseline.target_id, position_kind(baseline.inventory),
                ", ".join(v.name for v in baseline.views),
                "; ".join(result.problems.get(baseline.target_id, [])))
    for target_id, problems in sorted(result.problems.items()):
        if all(b.target_id != target_id for b in result.baselines.values()):
            add_row(table, "-", target_id, "", "no baseline", "; ".join(problems))
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
    identifiable_images: Annotated[bool, typer.Option(
        "--identifiable-images", help="put the snapshots in audit.html as taken, not "
        "de-identified (an authorised investigation only, Art. 21; logged in the audit "
        "log)")] = False,
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
        help=f"WS-Discovery port [default: {wsd.PORT}, or the fleet's]")] = None,
    unfiled: Annotated[bool, typer.Option(
        "--unfiled/--no-unfiled", help="report discovered cameras that have no filing")] = False,
    removed_after: Annotated[int, typer.Option(
        help="consecutive audits without an answer before a unit is removed", min=1)] = 3,
    position_tolerance: Annotated[float, typer.Option(help="metres")] = 25.0,
    view_tolerance: Annotated[float, typer.Option(help="degrees of pan/tilt")] = 0.5,
    clock_tolerance: Annotated[float, typer.Option(help="seconds")] = 5.0,
    obstruction_frames: Annotated[int, typer.Option(
        help="frames a suspected obstruction must persist in (passing traffic is not one)",
        min=1, max=10)] = 3,
    obstruction_spacing: Annotated[float, typer.Option(
        help="seconds between those frames", min=0.0, max=600.0)] = 2.0,
    credentials_check: Annotated[bool, typer.Option(
        "--credential-check/--no-credential-check",
        help="try 3 factory-default logins and SNMP public/private (Art. 17)")] = True,
    stream_seconds: Annotated[float, typer.Option(
        help="play each camera's main stream this long after its first picture (Art. 7: a "
             "live picture); 0 skips the check", min=0)] = 2.0,
    stream_concurrency: Annotated[int, typer.Option(
        help="main streams decoded at once", min=1)] = 4,
    operator: OperatorOption = None,
    head_wait: HeadWaitOption = 120.0,
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
    registry: RegistryOption = None,
    call_timeout: Annotated[float, typer.Option(help="seconds per ONVIF call", min=0.1)] = 5.0,
    distributed: DistributedOption = False,
    route: RouteOption = None,
    collector_wait: CollectorWaitOption = 30.0,
    deadline: DeadlineOption = 3600.0,
    batch: BatchOption = None,
    broker: BrokerOption = None,
) -> None:
    """Compare today with the filings and baselines; findings cite their article."""
    from devmgr.compliance.audit import AuditOptions  # noqa: PLC0415
    from devmgr.compliance.audit import audit as run  # noqa: PLC0415
    from devmgr.compliance.model import AuditSettings  # noqa: PLC0415
    from devmgr.discovery.run import DiscoveryOptions  # noqa: PLC0415
    from devmgr.media.liveness import StreamCheck  # noqa: PLC0415
    from devmgr.onvif.session import Timeouts  # noqa: PLC0415
    from devmgr.registry import file_digest  # noqa: PLC0415

    if distributed:
        if targets is None:
            raise fail("--distributed audits the cameras of --targets FILE", 2)
        _distributed_audit(load_targets(targets), targets, report=report, as_json=as_json,
                           identifiable=identifiable_images,
                           registry=registry, broker=broker, routes=route,
                           collector_wait=collector_wait, deadline=deadline, batch=batch,
                           move=move,
                           settings=AuditSettings(
                               position_tolerance_m=position_tolerance,
                               view_tolerance_deg=view_tolerance,
                               clock_tolerance_s=clock_tolerance, removed_after=removed_after),
                           operator=operator, check_credentials=credentials_check,
                           head_wait_s=head_wait, call_timeout_s=call_timeout)
        return
    if targets is None and not discover:
        raise fail("give --targets FILE, or --discover to find the filed cameras on the "
                   "network (or both)", 2)
    targets_file = load_targets(targets) if targets is not None else None
    fleet = targets_file.fleet if targets_file is not None else None
    discovery = DiscoveryOptions(
        interfaces=tuple(interface or [fleet.manager_address if fleet else "lo"]),
        cidrs=tuple(cidr or ()),
        port=discovery_port or (fleet.discovery_port if fleet else wsd.PORT),
        wait_s=1.5) if discover else None
    settings = AuditSettings(position_tolerance_m=position_tolerance,
                             view_tolerance_deg=view_tolerance,
                             clock_tolerance_s=clock_tolerance, removed_after=removed_after,
                             obstruction_frames=obstruction_frames,
                             obstruction_spacing_s=obstruction_spacing)
    parameters: dict[str, object] = {"targets": str(targets) if targets else None}
    if targets is not None:
        parameters["targets_sha256"] = file_digest(targets)
    options = AuditOptions(settings=settings, move=move, operator=operator,
                           discovery=discovery, report_unfiled_discoveries=unfiled,
                           check_credentials=credentials_check, parameters=parameters,
                           head_wait_s=head_wait, timeouts=Timeouts(call=call_timeout),
                           streams=StreamCheck(seconds=stream_seconds,
                                               concurrency=stream_concurrency))
    with open_registry(registry) as reg:
        with err.status("auditing ...") as status:
            result = asyncio.run(run(targets_file, reg, options, progress=status.update))
        if report is not None:
            write_report(result, report, reg, identifiable=identifiable_images)
    _print_audit(result, as_json)
    if any(f.severity != "info" for f in result.findings):
        raise typer.Exit(3)


def _print_audit(result: AuditReport, as_json: bool) -> None:
    if as_json:
        print(json.dumps(json.loads(result.model_dump_json()), indent=2))
    else:
        print_summary(result)


def _distributed_audit(targets_file: TargetsFile, targets: Path, *, report: Path | None,
                       as_json: bool, registry: str | None, identifiable: bool,
                       **options: Any) -> None:
    """``audit --distributed``: the same reports, from what the collectors recorded (no
    discovery: each district's cameras are audited where its targets file says)."""
    from devmgr.registry import file_digest  # noqa: PLC0415

    options["parameters"] = {"targets": str(targets), "targets_sha256": file_digest(targets)}
    with open_registry(registry) as reg:
        run = distributed_run("audit", targets_file, reg, **options)
        result = run.report
        assert result is not None
        if report is not None:
            write_report(result, report, reg, identifiable=identifiable)
    _print_audit(result, as_json)
    if run.undone:
        raise typer.Exit(4)
    if any(f.severity != "info" for f in result.findings):
        raise typer.Exit(3)


def write_report(result: AuditReport, directory: Path, registry: Registry, *,
                 identifiable: bool = False) -> None:
    """The report files; ``audit.html``'s snapshots de-identified unless ``identifiable``
    (which the audit log records: identifiable images of people leave the registry)."""
    from devmgr.registry import Retrieval  # noqa: PLC0415
    from devmgr.report import write_reports  # noqa: PLC0415

    try:
        written = write_reports(result, directory, images=registry.snapshot,
                                identifiable=identifiable)
    except OSError as exc:
        raise fail(f"cannot write the report to {directory}: {exc}", 2) from exc
    if identifiable:
        shown = sum(1 for c in result.cameras for v in c.views if v.current_image)
        registry.log_retrievals([Retrieval(
            who=result.operator or "unknown", how="devmgr audit --identifiable-images",
            purpose="an audit report with the snapshots as taken (authorised investigation)",
            destination=str(written.get("html", directory)), target_id=None,
            address=registry.url, what=f"snapshots of {shown} views, not de-identified")])
    err.print(f"report: {written.get('html', directory)}"
              + ("" if identifiable else " (snapshots de-identified)"))


def print_summary(result: AuditReport) -> None:
    table = Table("camera", "name", "status", "rule", "article", "severity", "message")
    for cam in result.cameras:
        if not cam.findings:
            add_row(table, cam.camera, cam.name, cam.status, "", "", "", "")
        for f in cam.findings:
            add_row(table, cam.camera, cam.name, cam.status, f.rule, f.article,
                    f.severity.value, f.message)
        for e in cam.errors:
            add_row(table, cam.camera, cam.name, cam.status, f"{e.kind.value}: {e.operation}",
                    "", "", e.message)
    out.print(table)
    counts: dict[str, int] = {}
    for cam in result.cameras:
        counts[cam.status] = counts.get(cam.status, 0) + 1
    err.print(", ".join(f"{n} {status}" for status, n in sorted(counts.items())))


def register(app: typer.Typer) -> None:
    app.add_typer(filings_app, name="filings")
    app.command()(guarded(commission))
    app.command()(guarded(audit))
