"""``devmgr demo``: offered to devmgr's command line through the ``devmgr.commands`` entry
points, since the demo starts simulated cameras and the manager never imports them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from devmgr.cli._console import err, out

__all__ = ["demo"]


def demo(
    out_dir: Annotated[Path, typer.Option("--out", help="where the registry and report go")]
    = Path("camfleet-demo"),
    cameras: Annotated[int, typer.Option(help="cameras in the simulated fleet", min=8)] = 8,
    seed: Annotated[int, typer.Option(help="fleet seed")] = 3,
) -> None:
    """Simulated fleet -> filings -> commission -> faults -> audits -> HTML report."""
    from scenarios.demo import run_demo  # noqa: PLC0415

    html = run_demo(out_dir, cameras=cameras, seed=seed, say=err.print)
    out.print(f"open {html}")
