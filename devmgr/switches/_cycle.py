"""Power a unit under test off, on, or through a cycle, and time its boot.

The unit's port is found the way an engineer would: by its MAC in the switches' forwarding
tables (:func:`~devmgr.switches.locate`), unless the caller names the switch and port (a unit
powered off is learned nowhere). After PoE on, the unit is asked GetSystemDateAndTime (no
credentials needed) until it answers or the wait runs out; the boot time is from PoE on to
that first answer.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from camfleet.targets import SwitchTarget, Target
from devmgr.onvif.errors import OnvifError
from devmgr.onvif.session import OnvifPool, OnvifSession, Timeouts
from devmgr.switches._locate import locate
from devmgr.switches._power import set_port_power
from devmgr.switches._read import read_switch

Action = Literal["on", "off", "cycle"]


class PowerError(Exception):
    """Power control could not be done: one line saying why."""


@dataclass(frozen=True)
class PowerResult:
    target_id: str
    switch: str
    port: int
    action: Action
    #: Seconds from PoE on to the first answer; None: not waited for, or no answer.
    boot_s: float | None = None
    #: After PoE on: did the unit answer within the wait.
    answered: bool | None = None

    def describe(self) -> str:
        where = f"{self.target_id} on {self.switch} port {self.port}"
        if self.action == "off":
            return f"{where}: PoE off"
        done = "power-cycled" if self.action == "cycle" else "PoE on"
        if self.answered is None:
            return f"{where}: {done}"
        if self.answered:
            return f"{where}: {done}, answering again after {self.boot_s:.1f} s"
        return f"{where}: {done}, not answering after {self.boot_s:.1f} s"


async def find_port(target: Target, switches: Sequence[SwitchTarget], *,
                    switch: str | None = None, port: int | None = None,
                    timeout_s: float = 2.0) -> tuple[SwitchTarget, int]:
    """The switch and port that power ``target``: given, or where its MAC is learned."""
    if not switches:
        raise PowerError(f"no switches in the targets file: cannot power {target.id}")
    if switch is not None:
        chosen = next((s for s in switches if s.name == switch), None)
        if chosen is None:
            raise PowerError(f"no switch {switch!r} in the targets file")
        if port is None:
            raise PowerError("--switch needs --port")
        return chosen, port
    if port is not None:
        if len(switches) != 1:
            raise PowerError("--port needs --switch when the targets file has several switches")
        return switches[0], port
    if target.mac is None:
        raise PowerError(f"target {target.id} has no MAC: give --switch and --port")
    readings = await asyncio.gather(*(read_switch(s, timeout_s=timeout_s, retries=1)
                                      for s in switches))
    found = locate(target.mac, readings)
    if found is None:
        silent = [r.name for r in readings if r.error is not None]
        why = f" (no answer from {', '.join(silent)})" if silent else ""
        raise PowerError(f"target {target.id} ({target.mac}) is learned on no switch port"
                         f"{why}: give --switch and --port")
    return next(s for s in switches if s.name == found.switch), found.port


async def answers(target: Target, *, timeout_s: float = 1.0) -> bool:
    """Whether the unit answers GetSystemDateAndTime within ``timeout_s``."""
    timeouts = Timeouts(connect=timeout_s, call=timeout_s)
    try:
        async with OnvifPool(limit=2, timeouts=timeouts) as pool, asyncio.timeout(timeout_s):
            session = OnvifSession(pool, target.device_url, target.onvif.username, None)
            await session.sync_clock()
    except (OnvifError, TimeoutError, OSError):
        return False
    return True


async def wait_answering(target: Target, *, wait_s: float,
                         interval_s: float = 0.2) -> float | None:
    """Seconds until the unit answers, or None when ``wait_s`` ran out first."""
    start = time.monotonic()
    while True:
        left = wait_s - (time.monotonic() - start)
        if left <= 0:
            return None
        if await answers(target, timeout_s=min(1.0, left)):
            return time.monotonic() - start
        await asyncio.sleep(min(interval_s, max(0.0, wait_s - (time.monotonic() - start))))


async def power(action: Action, target: Target, switch: SwitchTarget, port: int, *,
                off_s: float = 2.0, wait_s: float = 60.0,
                timeout_s: float = 2.0) -> PowerResult:
    """Switch ``target``'s port; after PoE on, wait (at most ``wait_s``) for it to answer."""
    if action in ("off", "cycle"):
        failed = await set_port_power(switch, port, False, timeout_s=timeout_s)
        if failed is not None:
            raise PowerError(failed.message)
        if action == "off":
            return PowerResult(target.id, switch.name, port, action)
        await asyncio.sleep(off_s)
    failed = await set_port_power(switch, port, True, timeout_s=timeout_s)
    if failed is not None:
        raise PowerError(failed.message)
    if wait_s <= 0:
        return PowerResult(target.id, switch.name, port, action)
    booted = await wait_answering(target, wait_s=wait_s)
    return PowerResult(target.id, switch.name, port, action,
                       boot_s=booted if booted is not None else wait_s,
                       answered=booted is not None)
