"""An inventory sweep recorded: the sweep, each camera's inventory and the audit-log entry of
its configuration reads, written to the registry as each camera finishes.

What ``devmgr inventory`` runs, and what scripts and distributed collectors call, so every
inventory is recorded one way:

    with Registry.open(url) as registry:
        found = asyncio.run(recorded_inventory(targets, registry, operator="li.wei"))

A sweep killed half-way keeps the cameras recorded so far (and their audit-log entries); the
next open marks it aborted.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from camfleet.targets import Target
from devmgr.inventory.model import Inventory
from devmgr.inventory.parallel import parallel_inventory_sweep
from devmgr.onvif.session import DEFAULT_TIMEOUTS, Timeouts
from devmgr.registry import AuditTrail, Registry, default_operator

__all__ = ["PURPOSE", "recorded_inventory"]

PURPOSE = "inventory (regulation Art. 11: what each camera is, kept for history)"


async def recorded_inventory(targets: Sequence[Target], registry: Registry, *,
                             operator: str | None = None,
                             parameters: dict[str, object] | None = None,
                             also_to: str = "", processes: int | None = None,
                             concurrency: int = 256, timeouts: Timeouts = DEFAULT_TIMEOUTS,
                             snmp: bool = True,
                             progress: Callable[[Inventory], None] | None = None,
                             ) -> list[Inventory]:
    """Inventories of ``targets`` (in target order), recorded into one inventory sweep.

    ``also_to``: where the caller sends the data besides the registry, for the audit log
    (e.g. "printed to the operator's terminal").
    """
    with registry.sweep("inventory", dict(parameters or {})) as sweep_id:
        trail = AuditTrail(registry, operator or default_operator(), PURPOSE, sweep_id,
                           also_to)
        pending: list[Inventory] = []
        recorded: set[str] = set()

        def record() -> None:
            registry.record_inventories(sweep_id, pending)
            trail.log(trail.configuration(inv) for inv in pending if inv.device is not None)
            recorded.update(inv.target_id for inv in pending)
            pending.clear()

        def done(inv: Inventory) -> None:
            pending.append(inv)
            if len(pending) >= registry.batch_size:
                record()
            if progress is not None:
                progress(inv)

        found = await parallel_inventory_sweep(targets, processes=processes,
                                               concurrency=concurrency, timeouts=timeouts,
                                               snmp=snmp, progress=done)
        # The last batch, and cameras a dead worker never reported (with their error).
        pending[:] = [inv for inv in found if inv.target_id not in recorded]
        record()
    return found
