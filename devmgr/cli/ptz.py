"""``devmgr ptz restore``: put back the PTZ heads that interrupted runs left displaced.

    devmgr ptz restore                        # list them (exit 3 if there are any)
    devmgr ptz restore --targets site.json    # put them back (the targets give credentials)

Exit codes: 0 no head is left displaced, 3 some still are (listed with why), 2 bad input or
registry. Commission and audit do the same for the cameras they move.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from devmgr.cli._console import (
    HeadWaitOption,
    OperatorOption,
    RegistryOption,
    add_row,
    err,
    guarded,
    load_targets,
    open_registry,
    out,
    say,
)

__all__ = ["ptz_app"]

ptz_app = typer.Typer(no_args_is_help=True, help="PTZ heads: put back displaced ones.")


@ptz_app.command("restore")
@guarded
def restore(
    targets: Annotated[Path | None, typer.Option(
        help="targets file with the cameras' credentials; without it, only list")] = None,
    head_wait: HeadWaitOption = 120.0,
    operator: OperatorOption = None,
    registry: RegistryOption = None,
) -> None:
    """Put back heads that runs killed mid-way left away from where they found them."""
    from devmgr.compliance.restore import restore_heads  # noqa: PLC0415

    with open_registry(registry, create=False) as reg:
        if targets is None:
            displaced = {o.key: o for o in reversed(reg.displaced())}  # the oldest per head
            table = Table("head", "target", "address", "belongs at", "moved by", "since")
            for o in displaced.values():
                add_row(table, o.key, o.target_id or "", o.address, str(o.position), o.holder,
                        f"{o.recorded_at:%Y-%m-%d %H:%M:%S}Z")
            out.print(table)
            say(f"{len(displaced)} heads left displaced"
                + ("; give --targets FILE (their credentials) to put them back"
                   if displaced else ""), to=err)
            if displaced:
                raise typer.Exit(3)
            return
        found = load_targets(targets)
        result = asyncio.run(restore_heads(found.targets, reg, operator=operator,
                                           wait_s=head_wait))
    for line in result.restored:
        say(line)
    for line in result.left:
        say(f"still displaced: {line}", to=err)
    for origin in result.unknown:
        say(f"still displaced: {origin.key} ({origin.target_id or origin.address}): no "
            f"target in {targets} names it", to=err)
    err.print(f"{len(result.restored)} heads put back, "
              f"{len(result.left) + len(result.unknown)} still displaced")
    if result.left or result.unknown:
        raise typer.Exit(3)
