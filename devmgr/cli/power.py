"""``devmgr power cycle|on|off TARGET``: switch the PoE of a unit under test.

    devmgr power cycle cam-0001 --targets fleet.json      # off, 2 s, on, wait for it to answer
    devmgr power off cam-0001 --targets fleet.json --switch sw-north --port 2

The port is where the unit's MAC is learned on the targets file's switches, unless
``--switch``/``--port`` name it (a unit powered off is learned nowhere). Exit codes: 0 done
(and, after PoE on, answering), 1 PoE on but the unit did not answer within ``--wait``,
2 bad input (unknown target, no switch or port for it, the switch refused or did not answer).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from devmgr.cli._console import err, fail, guarded, load_targets, say

__all__ = ["power_app"]

power_app = typer.Typer(no_args_is_help=True,
                        help="PoE power control of a unit under test (RFC 3621 over SNMP).")

TargetArg = Annotated[str, typer.Argument(help="the target's id in the targets file")]
TargetsOption = Annotated[Path, typer.Option(help="targets file listing the unit and switches")]
SwitchOption = Annotated[str | None, typer.Option(
    help="the switch powering the unit [default: found by its MAC]")]
PortOption = Annotated[int | None, typer.Option(
    help="the PoE port powering the unit [default: found by its MAC]", min=1)]
WaitOption = Annotated[float, typer.Option(
    help="seconds to wait for the unit to answer after PoE on (0: do not wait)", min=0)]


def _run(action: str, target_id: str, targets: Path, switch: str | None, port: int | None,
         off_s: float, wait: float) -> None:
    from devmgr.switches import PowerError, find_port, power  # noqa: PLC0415

    found = load_targets(targets)
    target = next((t for t in found.targets if t.id == target_id), None)
    if target is None:
        raise fail(f"no target {target_id!r} in {targets}", 2)

    async def go() -> str:
        chosen, number = await find_port(target, found.switches, switch=switch, port=port)
        if action != "off":
            err.print(f"{target.id}: switching {chosen.name} port {number}, then waiting up to "
                      f"{wait:g} s for it to answer", highlight=False)
        result = await power("cycle" if action == "cycle" else "on" if action == "on" else "off",
                             target, chosen, number, off_s=off_s, wait_s=wait)
        say(result.describe())
        return "late" if result.answered is False else "ok"

    try:
        outcome = asyncio.run(go())
    except PowerError as exc:
        raise fail(str(exc), 2) from exc
    if outcome == "late":
        raise typer.Exit(1)


@power_app.command("cycle")
@guarded
def cycle(target: TargetArg, targets: TargetsOption, switch: SwitchOption = None,
          port: PortOption = None,
          off: Annotated[float, typer.Option(help="seconds the port stays off", min=0)] = 2.0,
          wait: WaitOption = 60.0) -> None:
    """PoE off, then on; wait for the unit to answer and say how long its boot took."""
    _run("cycle", target, targets, switch, port, off, wait)


@power_app.command("on")
@guarded
def on(target: TargetArg, targets: TargetsOption, switch: SwitchOption = None,
       port: PortOption = None, wait: WaitOption = 60.0) -> None:
    """PoE on; wait for the unit to answer."""
    _run("on", target, targets, switch, port, 0.0, wait)


@power_app.command("off")
@guarded
def off(target: TargetArg, targets: TargetsOption, switch: SwitchOption = None,
        port: PortOption = None) -> None:
    """PoE off: the unit goes silent."""
    _run("off", target, targets, switch, port, 0.0, 0.0)
