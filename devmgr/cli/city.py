"""``devmgr collector`` and the ``--distributed`` runs of ``inventory`` and ``audit``.

    devmgr collector --queue hongshan --registry postgresql+psycopg://camfleet@db/city
    devmgr audit --distributed --targets city.json --registry postgresql+psycopg://...

Both sides need ``pip install 'camfleet[city]'`` (Celery) and reach one broker
(``--broker``, ``$CAMFLEET_BROKER``; default RabbitMQ at 127.0.0.1:5672).
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from devmgr.cli._console import RegistryOption, err, fail, say

if TYPE_CHECKING:
    from camfleet.targets import TargetsFile
    from devmgr.city.coordinator import CityRun
    from devmgr.registry import Registry

BrokerOption = Annotated[str | None, typer.Option(
    "--broker", help="Celery broker URL [default: amqp://guest:guest@127.0.0.1:5672//]",
    envvar="CAMFLEET_BROKER")]
DistributedOption = Annotated[bool, typer.Option(
    "--distributed", help="fan out per camera to collectors, a queue per district "
                          "(the target's district, else --route), and follow to the end")]
RouteOption = Annotated[list[str] | None, typer.Option(
    "--route", help="CIDR=QUEUE: targets without a district in CIDR go to QUEUE "
                    "(repeatable)")]
CollectorWaitOption = Annotated[float, typer.Option(
    help="--distributed: seconds a district may have no collector before it is reported "
         "missing", min=0)]
DeadlineOption = Annotated[float, typer.Option(
    help="--distributed: seconds for the whole run", min=1)]
BatchOption = Annotated[int | None, typer.Option(
    help="--distributed: cameras per collector task, worked at once [default: 16 for "
         "inventory, 4 for audit]", min=1)]


def _app(broker: str | None) -> Any:
    try:
        from devmgr.city.app import app  # noqa: PLC0415
    except ImportError as exc:
        raise fail(f"--distributed and collectors need Celery ({exc}): "
                   "pip install 'camfleet[city]'", 2) from exc
    if broker:
        app.conf.broker_url = broker
    return app


def collector(
    queue: Annotated[list[str], typer.Option(
        "--queue", "-q", help="district queue to consume (repeatable)")],
    targets: Annotated[Path | None, typer.Option(
        help="this collector's targets file: inline credentials are taken from it (they "
             "never travel through the broker)")] = None,
    concurrency: Annotated[int, typer.Option(help="cameras worked on at once", min=1)] = 8,
    pool: Annotated[str, typer.Option(
        help="Celery pool: threads (cameras mostly wait: PTZ travel, the network) or "
             "prefork")] = "threads",
    spool: Annotated[Path | None, typer.Option(
        help="directory of the spool: results kept while the registry is away, shipped when "
             "it is back [default: $XDG_STATE_HOME/camfleet/spool]",
        envvar="CAMFLEET_SPOOL_DIR")] = None,
    spool_max_mb: Annotated[float, typer.Option(
        help="the spool's size limit: a result beyond it stays with the broker", min=1)
    ] = 1024,
    spool_max_age_h: Annotated[float, typer.Option(
        help="a spooled result older than this is dropped, not shipped", min=0.01)] = 24,
    broker: BrokerOption = None,
    registry: RegistryOption = None,
) -> None:
    """Run a collector: a Celery worker that audits and inventories the cameras of its
    district queue(s) and records them into the registry (keeping them in its spool while
    the registry is away)."""
    import re  # noqa: PLC0415

    from devmgr.city.work import QUEUE_PATTERN  # noqa: PLC0415

    bad = [q for q in queue if not re.fullmatch(QUEUE_PATTERN, q)]
    if bad:
        raise fail(f"--queue {bad[0]!r}: letters, digits, '.', '_', '-' (at most 64)", 2)
    if pool not in ("threads", "prefork", "solo"):
        raise fail(f"--pool {pool!r}: threads, prefork or solo", 2)
    if targets is not None:
        from devmgr.cli._console import load_targets  # noqa: PLC0415

        load_targets(targets)  # a bad file or a missing $VAR: say so now, not per camera
        os.environ["CAMFLEET_COLLECTOR_TARGETS"] = str(targets.resolve())
    if registry:
        os.environ["CAMFLEET_REGISTRY"] = registry
    from devmgr.city.spool import default_spool_dir  # noqa: PLC0415

    directory = spool or default_spool_dir()
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise fail(f"--spool {directory}: {exc}", 2) from exc
    os.environ.update(CAMFLEET_SPOOL=str(directory.resolve() / f"{'+'.join(sorted(queue))}.sqlite"),
                      CAMFLEET_SPOOL_MAX_MB=str(spool_max_mb),
                      CAMFLEET_SPOOL_MAX_AGE_H=str(spool_max_age_h))
    app = _app(broker)
    # Imported and checked now, not by the first tasks at once (seconds on a loaded machine,
    # and a first ONVIF exchange slowed by an import would misread a camera's clock).
    import devmgr.city.work  # noqa: PLC0415
    import devmgr.compliance.audit  # noqa: PLC0415
    import devmgr.inventory.parallel  # noqa: PLC0415
    import devmgr.vision  # noqa: F401, PLC0415
    from devmgr.cli._console import open_registry  # noqa: PLC0415

    open_registry(os.environ.get("CAMFLEET_REGISTRY")).close()  # unreachable: say so now

    name = f"{'+'.join(queue)}-{os.getpid()}@{socket.gethostname()}"
    app.worker_main(["worker", "--queues", ",".join(queue), "--pool", pool,
                     "--concurrency", str(concurrency), "--hostname", name,
                     "--loglevel", "INFO", "--without-gossip", "--without-mingle"])


def distributed_run(kind: str, targets: TargetsFile, registry: Registry, *,
                    broker: str | None, routes: list[str] | None, collector_wait: float,
                    deadline: float, batch: int | None = None, **options: Any) -> CityRun:
    """Run ``kind`` through the collectors, progress per district on stderr."""
    from devmgr.city.coordinator import Coordinator  # noqa: PLC0415
    from devmgr.city.work import parse_route  # noqa: PLC0415

    try:
        parsed = [parse_route(r) for r in routes or ()]
    except ValueError as exc:
        raise fail(str(exc), 2) from exc
    coordinator = Coordinator(_app(broker), registry, routes=parsed,
                              collector_wait_s=collector_wait, deadline_s=deadline,
                              batch=batch, progress=lambda line: say(line, to=err))
    try:
        run = (coordinator.audit(targets, **options) if kind == "audit"
               else coordinator.inventory(targets, **options))
    except OSError as exc:  # kombu: the broker refused or is not there
        raise fail(f"broker {coordinator.app.conf.broker_url}: {exc}", 2) from exc
    if run.missing_districts:
        say(f"districts without a collector: {', '.join(run.missing_districts)}", to=err)
    if run.undone:
        say(f"sweep {run.sweep_id} aborted: {len(run.undone)} cameras without a result "
            f"({', '.join(run.undone[:10])}{' ...' if len(run.undone) > 10 else ''})", to=err)
    return run
