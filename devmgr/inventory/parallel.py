"""Spread an inventory sweep over worker processes, one event loop per core.

One asyncio loop is single-threaded: at ~8 ms of client CPU per camera, a 1000-camera sweep
keeps one core busy for 8 s while the others wait. ``parallel_inventory_sweep`` splits the
targets into chunks, runs each in ``python -m devmgr.inventory.parallel`` (targets in on stdin,
one Inventory per line out on stdout, as each camera finishes), and merges the results in
target order. A plain child process rather than ``multiprocessing``: spawn would re-import the
caller's ``__main__``.

    inventories = await parallel_inventory_sweep(targets, processes=2)
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from camfleet.errors import DeviceError, ErrorKind
from camfleet.targets import Target
from devmgr.inventory.collect import inventory_sweep, prime_templates
from devmgr.inventory.model import Inventory
from devmgr.onvif.session import DEFAULT_TIMEOUTS, Timeouts
from devmgr.onvif.soap import export_templates, install_templates

#: Below this many cameras per process, a second process costs more than it saves.
MIN_CAMERAS_PER_PROCESS = 100


def default_processes(count: int) -> int:
    return max(1, min(os.cpu_count() or 1, count // MIN_CAMERAS_PER_PROCESS))


async def parallel_inventory_sweep(targets: Sequence[Target], *, processes: int | None = None,
                                   concurrency: int = 256,
                                   timeouts: Timeouts = DEFAULT_TIMEOUTS, snmp: bool = False,
                                   progress: Callable[[Inventory], None] | None = None,
                                   ) -> list[Inventory]:
    """Inventories of all targets, in order, collected by ``processes`` worker processes."""
    processes = processes or default_processes(len(targets))
    if processes <= 1:
        return await sweep_with_snmp(targets, concurrency=concurrency, timeouts=timeouts,
                                     snmp=snmp, progress=progress)
    prime_templates()
    templates = export_templates()
    chunks = [list(targets[i::processes]) for i in range(processes)]
    per_process = max(1, concurrency // processes)
    found: dict[str, Inventory] = {}

    async def run(chunk: list[Target]) -> None:
        request = json.dumps({
            "targets": [t.model_dump(mode="json", exclude_none=True) for t in chunk],
            "concurrency": per_process, "timeouts": asdict(timeouts), "snmp": snmp,
            "templates": templates,
        }).encode()
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "devmgr.inventory.parallel", stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, limit=16 * 1024 * 1024)
        assert child.stdin is not None
        assert child.stdout is not None
        child.stdin.write(request)
        await child.stdin.drain()
        child.stdin.close()
        async for line in child.stdout:
            inventory = Inventory.model_validate_json(line)
            found[inventory.target_id] = inventory
            if progress is not None:
                progress(inventory)
        await child.wait()

    await asyncio.gather(*(run(chunk) for chunk in chunks))
    # A worker that died leaves its cameras without an answer: say so, per camera.
    return [found.get(t.id) or Inventory(
        target_id=t.id, address=t.address, collected_at=datetime.now(UTC), reachable=False,
        errors=(DeviceError(kind=ErrorKind.PROTOCOL, operation="inventory",
                            message="the inventory worker process ended early"),))
        for t in targets]


async def sweep_with_snmp(targets: Sequence[Target], *, concurrency: int, timeouts: Timeouts,
                          snmp: bool, progress: Callable[[Inventory], None] | None,
                          ) -> list[Inventory]:
    """``inventory_sweep``, with SNMP identities read through one shared SNMP session."""
    if not snmp:
        return await inventory_sweep(targets, concurrency=concurrency, timeouts=timeouts,
                                     progress=progress)
    from devmgr.snmp import SnmpSession, snmp_identity_for_target  # noqa: PLC0415

    async with SnmpSession(concurrency=min(concurrency, 128)) as session:
        async def lookup(target: Target) -> Any:
            return await snmp_identity_for_target(target, session=session)

        return await inventory_sweep(targets, concurrency=concurrency, timeouts=timeouts,
                                     snmp=lookup, progress=progress)


async def _work(request: dict[str, Any]) -> None:
    """A worker process: targets from stdin, one Inventory per line to stdout."""
    def emit(inventory: Inventory) -> None:
        sys.stdout.write(inventory.model_dump_json() + "\n")
        sys.stdout.flush()

    install_templates(request.get("templates", []))
    await sweep_with_snmp([Target.model_validate(t) for t in request["targets"]],
                          concurrency=request["concurrency"],
                          timeouts=Timeouts(**request["timeouts"]), snmp=request["snmp"],
                          progress=emit)


if __name__ == "__main__":
    asyncio.run(_work(json.loads(sys.stdin.buffer.read())))
